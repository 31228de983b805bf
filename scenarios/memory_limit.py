"""memory-limit: shard 1's master limited to its memory + 1 MB, then full syncs under writes.

A container memory limit set close to the dataset (a Kubernetes limit, a cgroup) leaves
little room for what a full sync costs: the fork's copy-on-write pages while the dataset
is sent. Past the limit the kernel's OOM killer kills the master (or its child). The lab
writes 4,000 values of 64 KB (256 MB), sets the limit 1 MB above what the master's
container holds, rewrites the values in place 1,000 times a second and makes both
replicas ask for a full sync. Whether the kill comes depends on how much the fork copies
before the dataset is sent: the scenario measures it and reports a master that started
again (a new run_id), with what it cost; it asserts only the full syncs.
"""

from lab.chaos.scenarios import Expect, Scenario, Step

REFERENCE = ("redis/redis#7717 and #4816 (a full sync's fork under a memory limit: the "
             "OOM killer, repeated syncs)")


def expect(config):
    return Expect(failover=None, max_lost_writes=None, full_syncs_at_least=2,
                  restarts_reported=True,
                  finding="a full sync under a memory limit just above the dataset")


SCENARIO = Scenario(
    name="memory-limit",
    description=__doc__.splitlines()[0],
    faults=(Step("memory-limit", {"shard": 1, "headroom_mb": 1, "keys": 4000,
                                  "rate": 1000}),),
    hold_s=15,
    expect=expect,
    reference=REFERENCE,
)
