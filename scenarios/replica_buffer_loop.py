"""replica-buffer-loop: a small replica output buffer on shard 1's master under big writes.

The master keeps, for each replica, a buffer of the replication stream it has not sent
yet; past ``client-output-buffer-limit replica`` it drops the replica. Writes of large
values fill a small buffer during a full sync (the stream piles up while the dataset is
sent), so the replica is dropped again, resyncs again, and never catches up while the
writes last. Nothing crashes and Sentinel sees a healthy master: the loop shows only in
the replicas' link and the masters' sync counters, which the lab reads.
"""

from lab.chaos.scenarios import Expect, Scenario, Step

REFERENCE = ("redis/redis#11534 \"replica keeps full syncing\", #11667, #2315: "
             "client-output-buffer-limit replica and full resync loops "
             "(https://github.com/redis/redis/issues/11534)")


def expect(config):
    return Expect(failover=False, max_lost_writes=0, full_syncs_at_least=2,
                  finding="a replica output buffer smaller than what piles up during a "
                          "full sync makes the master drop and fully resync its replicas "
                          "over and over")


SCENARIO = Scenario(
    name="replica-buffer-loop",
    description=__doc__.splitlines()[0],
    faults=(Step("replica-buffer-loop", {"shard": 1}),),
    hold_s=15,
    expect=expect,
    reference=REFERENCE,
)
