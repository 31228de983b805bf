"""cold-start: every server's containers stopped, then started one by one in a random order.

A whole deployment losing power and coming back: Redis instances start from their last
rewritten config (a demoted master knows it is a replica only if Sentinel rewrote its
file) and Sentinels from theirs, in whatever order the machines boot. The lab measures
how long until every Sentinel names one master per shard and every replica is linked
(convergence), whether two instances said master on the way (split brain), and what the
data survived: with RDB or AOF, everything acknowledged; without persistence, nothing.
"""

from lab.chaos.scenarios import Expect, Scenario, Step

REFERENCE = ("redis/redis#13658 and #12271 (two masters after every node restarted), "
             "valkey-io/valkey#1322 (Sentinel after a full restart)")


def expect(config):
    if config.redis.persistence == "none":
        return Expect(max_lost_writes=0, lost_writes_are_finding=True,
                      writes_during_fault=False,
                      finding="every instance restarted without persistence: the data is "
                              "gone")
    return Expect(max_lost_writes=0, writes_during_fault=False,
                  finding="the deployment was down until its servers started again")


SCENARIO = Scenario(
    name="cold-start",
    description=__doc__.splitlines()[0],
    faults=(Step("cold-start", {"seed": 1}),),
    hold_s=3,
    expect=expect,
    reference=REFERENCE,
    runs_alone="it stops every server",
)
