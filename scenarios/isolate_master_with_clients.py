"""isolate-master-with-clients: the old master and a Sentinel minority keep the clients.

The replicas and the Sentinel majority elect a new master; the old one, cut off from them
but not from HAProxy, keeps acknowledging writes that no replica receives. When the
partition heals it becomes a replica and those writes are gone: asynchronous
replication's documented loss (Jepsen measured 56 % on a five-node Sentinel setup).
``min_replicas_to_write = 1`` makes the old master refuse writes once its replicas are
gone for ``min_replicas_max_lag`` seconds, which bounds the loss.
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    down_after_s = config.sentinel.down_after_ms / 1000
    if config.redis.min_replicas_to_write:
        # Writes after the lag window are refused; those inside it may still be lost.
        return Expect(failover=True, failover_within_s=down_after_s + 3,
                      max_lost_writes=None, lost_writes_are_finding=True, split_brain_expected=True,
                      finding="lost writes bounded by min-replicas-to-write")
    return Expect(
        failover=True, failover_within_s=down_after_s + 3, max_lost_writes=0,
        lost_writes_are_finding=True, split_brain_expected=True,
        finding="the cut-off master acknowledged writes its replicas never saw; they were "
                "lost when it rejoined (asynchronous replication)",
    )


SCENARIO = Scenario(
    name="isolate-master-with-clients",
    description=__doc__.splitlines()[0],
    faults=(Step("isolate-master-with-clients", {"shard": 1}),),
    hold_s=12,
    expect=expect,
)
