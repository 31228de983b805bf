"""master-reboot-down-after: SIGKILL the master with Sentinel's reboot down-after period set.

The master restarts at once (``restart = "always"``), empty without persistence, faster
than ``down-after-milliseconds``: crash-master's wipe. Redis 7 added
``master-reboot-down-after-period`` (Valkey: ``primary-reboot-down-after-period``), which
reads as the cure. It is not one: Sentinel notices the reboot (``+reboot``, from the run
id in INFO), but in sentinel.c the reboot flag is cleared by the master's first ``PONG``;
the period only fails over a rebooted master that keeps answering ``LOADING`` (a large
dataset loading) for longer than the period. An empty master answers ``PONG`` at once:
no failover, the replicas copy the empty dataset. The lab asserts exactly that, per
engine.
"""

from lab.chaos.scenarios import Expect, Scenario, Step

REFERENCE = ("Redis 7.0 release notes and Redis Sentinel documentation: "
             "\"master-reboot-down-after-period\" (Valkey: primary-reboot-down-after-period); "
             "sentinel.c sentinelPingReplyCallback clears SRI_MASTER_REBOOT on PONG")


def expect(config):
    restarts = config.redis.restart != "no"
    if not restarts:
        return Expect(failover=True, max_lost_writes=0)
    return Expect(failover=False, max_lost_writes=0,
                  lost_writes_are_finding=config.redis.persistence == "none",
                  sentinel_events=("+reboot",),
                  finding="Sentinel saw the reboot but the empty master answered PONG at "
                          "once: no failover, its replicas copied the empty dataset")


SCENARIO = Scenario(
    name="master-reboot-down-after",
    description=__doc__.splitlines()[0],
    faults=(Step("sentinel-reboot-period", {"shard": 1, "ms": 30000}),
            Step("crash-master", {"shard": 1})),
    hold_s=12,
    expect=expect,
    reference=REFERENCE,
)
