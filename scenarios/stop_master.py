"""stop-master: stop the master of shard 1 until healed; Sentinel must fail over.

The classic failover: within down-after plus a few seconds a replica is promoted,
HAProxy's health check moves port 5000 to it, and no acknowledged write is lost (the
replicas were caught up: the lab was settled before the fault). When healed, the old
master returns, still saying ``role:master`` (empty, without persistence) for about ten
seconds before Sentinel converts it: connections HAProxy sends it then lose their writes.
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    return Expect(failover=True, failover_within_s=config.sentinel.down_after_ms / 1000 + 3,
                  max_lost_writes=0, lost_writes_are_finding=config.redis.persistence == "none",
                  finding="the returning old master reported role:master before Sentinel "
                          "converted it; writes sent to it were lost")


SCENARIO = Scenario(
    name="stop-master",
    description=__doc__.splitlines()[0],
    faults=(Step("stop-master", {"shard": 1}),),
    hold_s=10,
    expect=expect,
)
