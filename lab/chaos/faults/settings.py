"""Operator actions on a running lab: settings changed at run time (``CONFIG SET``,
``SENTINEL SET``) and a manual failover. Each names a documented Sentinel behaviour of the
catalogue (``scenarios/``); none is drawn by Hypothesis (``searched = False``): they
make sense in the hand-written sequences that reproduce an upstream report.

A changed setting is put back by its undo (written to the machine's pending-undo file
first, :mod:`lab.leftovers`); a manual failover has nothing to undo: the old master
rejoins as a replica, or does not, which is what the scenarios measure.
"""

from __future__ import annotations

import time

import redis

from lab import acl
from lab.chaos.faults.base import Applied, Fault, FaultSkipped, Param, register
from lab.probe import client

SHARD = Param("shard", "shard", 1)


class _SettingsFault(Fault):
    family = "settings"
    params = (SHARD,)
    touches = "shard"
    searched = False
    sets_stage = True  # the fault proper follows (a stop, a failover)


def config_change(nemesis, instance, change: tuple, put_back: tuple) -> tuple[str, str, str]:
    """``(server, command, undo)`` for :meth:`~lab.chaos.nemesis.Nemesis.change_settings`:
    ``CONFIG SET *change`` on ``instance``; the undo sets ``put_back`` and rewrites the
    config file, since a failover in between may have rewritten the changed value into it
    (Sentinel sends ``CONFIG REWRITE`` to every instance it reconfigures)."""
    rewrite = nemesis.redis_cli(instance.address, "CONFIG", "REWRITE")
    return (instance.server.name,
            nemesis.redis_cli(instance.address, "CONFIG", "SET", *change),
            f"{nemesis.redis_cli(instance.address, 'CONFIG', 'SET', *put_back)} && {rewrite}")


@register
class ManualFailover(_SettingsFault):
    """``SENTINEL FAILOVER`` of the shard, asked of one of its Sentinels (``coordinated``:
    the COORDINATED variant, from Valkey 9.0; skipped where the engine refuses it)."""

    name = "manual-failover"
    sets_stage = False  # the failover is the fault
    params = (SHARD, Param("coordinated", "choice", "no", choices=("no", "yes")))
    words = "SENTINEL FAILOVER shard {shard} (coordinated: {coordinated})"

    def inject(self, nemesis, shard, coordinated):
        shard_ = nemesis.topology.shard(shard)
        sentinel = nemesis.topology.sentinels_of(shard_)[0]
        master = nemesis.master_of(shard)
        command = ["SENTINEL", "FAILOVER", shard_.monitor_name]
        if coordinated == "yes":
            command.append("COORDINATED")
        at = time.time()
        try:
            with client(*sentinel.address, nemesis.access.sentinels, timeout=5) as r:
                r.execute_command(*command)
        except redis.ResponseError as exc:
            if coordinated == "yes":
                raise FaultSkipped(f"{nemesis.engine.name} refuses SENTINEL FAILOVER ... "
                                   f"COORDINATED ({exc}); Valkey 9.0 added it") from None
            raise RuntimeError(f"sentinel {sentinel.label}: {' '.join(command)}: {exc}") \
                from None
        return Applied(self.name, {"sentinel": sentinel.label, "old_master": master.label,
                                   "coordinated": coordinated}, at=at)


@register
class ReplicaPriorityZero(_SettingsFault):
    """``replica-priority 0`` on every replica of the shard: none may be promoted."""

    name = "replica-priority-zero"
    words = "CONFIG SET replica-priority 0 on every replica of shard {shard}"

    def inject(self, nemesis, shard):
        master = nemesis.master_of(shard)
        replicas = [i for i in nemesis.topology.shard(shard).instances if i != master]
        return nemesis.change_settings(
            self.name, {"replicas": [i.label for i in replicas]},
            [config_change(nemesis, i, ("replica-priority", 0), ("replica-priority", 100))
             for i in replicas])


@register
class RequireReplicas(_SettingsFault):
    """``min-replicas-to-write 1`` with a short ``min-replicas-max-lag`` on the shard's
    master: it refuses writes (``NOREPLICAS``) once no replica acknowledged lately."""

    name = "require-replicas"
    params = (SHARD, Param("max_lag", "int", 3, low=1, high=60))
    words = "CONFIG SET min-replicas-to-write 1, min-replicas-max-lag {max_lag} on " \
            "shard {shard}'s master"

    def inject(self, nemesis, shard, max_lag):
        master = nemesis.master_of(shard)
        with client(*master.address, nemesis.access, timeout=5) as r:
            before = r.config_get("min-replicas-*")
        return nemesis.change_settings(
            self.name, {"master": master.label, "max_lag": max_lag},
            [config_change(nemesis, master,
                           ("min-replicas-to-write", 1, "min-replicas-max-lag", max_lag),
                           ("min-replicas-to-write", before["min-replicas-to-write"],
                            "min-replicas-max-lag", before["min-replicas-max-lag"]))])


@register
class SentinelRebootPeriod(_SettingsFault):
    """Set the reboot down-after period (Redis 7's ``master-reboot-down-after-period``,
    Valkey's ``primary-...``) on every Sentinel of the shard: a master that restarts is
    held down that long, so Sentinel fails it over instead of taking it back empty."""

    name = "sentinel-reboot-period"
    params = (SHARD, Param("ms", "int", 30000, low=1000, high=600000))
    words = "SENTINEL SET shard {shard} reboot-down-after-period {ms} on its Sentinels"

    def inject(self, nemesis, shard, ms):
        shard_ = nemesis.topology.shard(shard)
        option = nemesis.engine.reboot_down_after_option
        sentinels = nemesis.topology.sentinels_of(shard_)
        return nemesis.change_settings(
            self.name, {"option": option, "ms": ms, "sentinels": [s.label for s in sentinels]},
            [(s.server.name,
              nemesis.redis_cli(s.address, "SENTINEL", "SET", shard_.monitor_name, option, ms,
                                auth=False),
              nemesis.redis_cli(s.address, "SENTINEL", "SET", shard_.monitor_name, option, 0,
                                auth=False))
             for s in sentinels])


@register
class DropMasterauth(_SettingsFault):
    """Remove ``masterauth`` from the shard's current master: demoted later, it cannot
    authenticate to its new master and never syncs (redis/redis#9009)."""

    name = "drop-masterauth"
    words = "CONFIG SET masterauth '' on shard {shard}'s master"

    def inject(self, nemesis, shard):
        master = nemesis.master_of(shard)
        return nemesis.change_settings(
            self.name, {"master": master.label},
            [config_change(nemesis, master, ("masterauth", ""),
                           ("masterauth", nemesis.MASTERAUTH))])


@register
class SentinelAclDrop(_SettingsFault):
    """Take one command from the Sentinel user on every instance of the shard (``ACL
    SETUSER sentinel -<permission>``): can Sentinel still fail the shard over? Needs
    ``[security] acl = true`` (redis/redis#9772, #11063; valkey-io/valkey#2779)."""

    name = "sentinel-acl-drop"
    params = (SHARD, Param("permission", "choice", "slaveof",
                           choices=acl.SENTINEL_PERMISSIONS))
    words = "ACL SETUSER sentinel -{permission} on every instance of shard {shard}"

    def inject(self, nemesis, shard, permission):
        instances = nemesis.topology.shard(shard).instances
        try:
            with client(*instances[0].address, nemesis.access, timeout=5) as r:
                user = r.acl_getuser("sentinel")
        except redis.RedisError as exc:
            raise RuntimeError(f"{instances[0].label}: ACL GETUSER sentinel: {exc}") from None
        if not user:
            raise FaultSkipped("the lab has no Sentinel ACL user: set [security] acl = true")
        # A permission the engine's role never had (FAILOVER before Valkey 9) stays
        # refused when healed: the undo puts back what was there, not more.
        had = f"+{permission}" in acl.roles(nemesis.engine)["sentinel"].rules.split()
        undo = f"+{permission}" if had else f"-{permission}"
        return nemesis.change_settings(
            self.name, {"permission": permission, "had": had,
                        "instances": [i.label for i in instances]},
            [(i.server.name,
              nemesis.redis_cli(i.address, "ACL", "SETUSER", "sentinel", f"-{permission}"),
              # Sentinel's CONFIG REWRITE may have written the narrowed user into the file.
              f"{nemesis.redis_cli(i.address, 'ACL', 'SETUSER', 'sentinel', undo)} && "
              f"{nemesis.redis_cli(i.address, 'CONFIG', 'REWRITE')}")
             for i in instances])
