"""partition-sentinels: cut every Sentinel of shard 1 off from its master; clients are not.

The Sentinels see the master down and promote a replica, but cannot tell the old master:
it stays a master, reachable by HAProxy, until the partition heals. Two masters in
HAProxy's view; writes acknowledged by the old one are lost when it is converted.
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    return Expect(
        failover=True, failover_within_s=config.sentinel.down_after_ms / 1000 + 3,
        max_lost_writes=0, lost_writes_are_finding=True, split_brain_expected=True,
        finding="Sentinels failed over a master they could not reach, which kept serving "
                "clients: split brain until the partition healed",
    )


SCENARIO = Scenario(
    name="partition-sentinels",
    description=__doc__.splitlines()[0],
    faults=(Step("partition-sentinels", {"shard": 1}),),
    hold_s=10,
    expect=expect,
)
