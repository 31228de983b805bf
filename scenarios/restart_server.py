"""restart-server: restart every lab container on redis1 at once, as a reboot would.

In the article layout shard 1's master and replicas restart together. Without
persistence they all come back empty: the shard's data is gone. With RDB or AOF they
reload it.
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    if config.redis.persistence == "none" and config.layout == "article":
        return Expect(max_lost_writes=0, lost_writes_are_finding=True,
                      finding="master and replicas restarted together without persistence: "
                              "the shard came back empty")
    return Expect(max_lost_writes=0, lost_writes_are_finding=config.redis.persistence == "none",
                  finding="instances restarted without persistence lost their data")


SCENARIO = Scenario(
    name="restart-server",
    description=__doc__.splitlines()[0],
    faults=(Step("restart-server", {"server": 1}),),
    hold_s=6,
    expect=expect,
)
