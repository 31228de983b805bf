"""manual-failover-coordinated: SENTINEL FAILOVER ... COORDINATED of shard 1 under writes.

Valkey 9.0 added a coordinated manual failover: the old master pauses writes and its
replica catches up before the switch, so no acknowledged write is lost. Engines without
it refuse the argument: the scenario is then skipped, saying so.
"""

from lab.chaos.scenarios import Expect, Scenario, Step

REFERENCE = ("Valkey 9.0 release notes, SENTINEL FAILOVER <primary> COORDINATED; the "
             "uncoordinated loss is redis/redis#6062")


def expect(config):
    return Expect(failover=True, failover_within_s=5, max_lost_writes=0, planned_failover=True)


SCENARIO = Scenario(
    name="manual-failover-coordinated",
    description=__doc__.splitlines()[0],
    faults=(Step("manual-failover", {"shard": 1, "coordinated": "yes"}),),
    hold_s=8,
    expect=expect,
    reference=REFERENCE,
)
