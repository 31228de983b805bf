"""kill-sentinels-minority: stop a minority of shard 1's Sentinels, then its master.

The remaining Sentinels still reach the quorum and a majority for the election:
the failover happens as usual.
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    return Expect(failover=True, failover_within_s=config.sentinel.down_after_ms / 1000 + 3,
                  max_lost_writes=0)


SCENARIO = Scenario(
    name="kill-sentinels-minority",
    description=__doc__.splitlines()[0],
    faults=(Step("kill-sentinels", {"shard": 1, "count": "minority"}),
            Step("stop-master", {"shard": 1})),
    hold_s=10,
    expect=expect,
)
