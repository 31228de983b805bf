"""stop-master: stop the master of shard 1 until healed; Sentinel must fail over.

The classic failover: within down-after plus a few seconds a replica is promoted,
HAProxy's health check moves port 5000 to it, and no acknowledged write is lost (the
replicas were caught up: the lab was settled before the fault). When healed, the old
master returns and is converted to a replica of the new one.
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    return Expect(failover=True, failover_within_s=config.sentinel.down_after_ms / 1000 + 3,
                  max_lost_writes=0)


SCENARIO = Scenario(
    name="stop-master",
    description=__doc__.splitlines()[0],
    faults=(Step("stop-master", {"shard": 1}),),
    hold_s=10,
    expect=expect,
)
