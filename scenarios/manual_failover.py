"""manual-failover: SENTINEL FAILOVER of shard 1 while the workload writes.

A manual failover does not wait for the master to stop taking writes: Sentinel promotes a
replica and reconfigures the old master afterwards, and whatever the old master
acknowledged in between is discarded when it becomes a replica of the new one. Redis 7
and Valkey 8 behave so; the lab measures how many writes each engine loses.
"""

from lab.chaos.scenarios import Expect, Scenario, Step

REFERENCE = ("redis/redis#6062 \"Triggering manual failover causes write loss\" "
             "(https://github.com/redis/redis/issues/6062)")


def expect(config):
    return Expect(failover=True, failover_within_s=5, max_lost_writes=0,
                  lost_writes_are_finding=True,
                  # the old master serves reads, missing the new one's appends, until
                  # Sentinel reconfigures it
                  anomalies=("stale-read:master",), planned_failover=True,
                  finding="a manual failover discarded writes the old master acknowledged "
                          "after the promotion (redis/redis#6062)")


SCENARIO = Scenario(
    name="manual-failover",
    description=__doc__.splitlines()[0],
    faults=(Step("manual-failover", {"shard": 1}),),
    hold_s=8,
    expect=expect,
    reference=REFERENCE,
)
