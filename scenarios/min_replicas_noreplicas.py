"""min-replicas-noreplicas: min-replicas-to-write 1, then every replica of shard 1 frozen.

Once no replica acknowledged within ``min-replicas-max-lag`` (3 s here), the master
refuses writes with ``NOREPLICAS`` instead of acknowledging writes no replica has:
availability traded for durability, and not one acknowledged write lost.
"""

from lab.chaos.scenarios import Expect, Scenario, Step

REFERENCE = ("Redis replication documentation, \"Allow writes only with N attached "
             "replicas\" (https://redis.io/docs/latest/operate/oss_and_stack/management/"
             "replication/)")


def expect(config):
    return Expect(failover=False, max_lost_writes=0, writes_during_fault=False,
                  errors_seen=("NOREPLICAS",),
                  finding="the master refused writes (NOREPLICAS) while no replica "
                          "acknowledged: nothing acknowledged was lost")


SCENARIO = Scenario(
    name="min-replicas-noreplicas",
    description=__doc__.splitlines()[0],
    faults=(Step("require-replicas", {"shard": 1, "max_lag": 3}),
            Step("pause-replicas", {"shard": 1})),
    hold_s=10,
    expect=expect,
    reference=REFERENCE,
)
