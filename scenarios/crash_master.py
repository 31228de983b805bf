"""crash-master: SIGKILL the master of shard 1; the restart policy applies.

With ``restart = "always"`` and no persistence, Docker restarts the process within a
second, before Sentinel's down-after expires: the master comes back *empty*, its replicas
resynchronise from it and copy the empty dataset. Redis documents this; the lab shows it.
With RDB (``save 60 1``) it comes back from its last snapshot: what was written since is
gone. With AOF, or with ``restart = "no"``, no acknowledged write is lost.
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    down_after_s = config.sentinel.down_after_ms / 1000
    restarts = config.redis.restart != "no"
    if restarts and config.redis.persistence == "none":
        return Expect(
            failover=None, max_lost_writes=0, lost_writes_are_finding=True,
            finding="the crashed master restarted empty before Sentinel noticed; its "
                    "replicas copied the empty dataset (restart policy without persistence)",
        )
    if restarts and config.redis.persistence == "rdb":
        # `save 60 1`: a SIGKILL loses what was written since the last snapshot; the
        # master restarts from that snapshot and its replicas copy it.
        return Expect(
            failover=None, max_lost_writes=0, lost_writes_are_finding=True,
            finding="the crashed master restarted from its last RDB snapshot (save 60 1) "
                    "before Sentinel noticed: writes since that snapshot are gone",
        )
    if restarts:
        return Expect(failover=None, max_lost_writes=0)
    return Expect(failover=True, failover_within_s=down_after_s + 3, max_lost_writes=0)


SCENARIO = Scenario(
    name="crash-master",
    description=__doc__.splitlines()[0],
    faults=(Step("crash-master", {"shard": 1}),),
    hold_s=8,
    expect=expect,
)
