"""no-promotable-replica: every replica at replica-priority 0, then the master stopped.

Sentinel never promotes a replica with priority 0: with none left it refuses the
failover (``-failover-abort-no-good-slave``) and the shard stays down until its master
returns. Documented by Redis ("replica-priority"); the lab shows the refusal and the
outage, and, without persistence, the returning empty master wiping its replicas.
"""

from lab.chaos.scenarios import Expect, Scenario, Step

REFERENCE = ("Redis Sentinel documentation, \"Replica selection and priority\" "
             "(https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/)")


def expect(config):
    # Without persistence the master comes back empty and, never failed over, stays
    # master: its replicas copy the empty dataset (crash-master's wipe, by another road).
    return Expect(failover=False, max_lost_writes=0, writes_during_fault=False,
                  lost_writes_are_finding=config.redis.persistence == "none",
                  sentinel_events=("-failover-abort-no-good-slave",),
                  finding="Sentinel refused to promote a replica at priority 0: the shard "
                          "was down until its master came back")


SCENARIO = Scenario(
    name="no-promotable-replica",
    description=__doc__.splitlines()[0],
    faults=(Step("replica-priority-zero", {"shard": 1}), Step("stop-master", {"shard": 1})),
    hold_s=12,
    expect=expect,
    reference=REFERENCE,
)
