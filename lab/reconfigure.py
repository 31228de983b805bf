"""Apply changed settings to a running lab, touching only what changed.

Settings Redis and Sentinel take at run time are applied **live**: ``CONFIG SET`` then
``CONFIG REWRITE`` on every instance (so a restarted process keeps them), ``SENTINEL SET``
on every Sentinel for every shard it watches. Nothing restarts and nothing fails over.

Anything else (the layout, persistence, HAProxy's check interval) **re-provisions**: the
bundles are rendered again and compose recreates exactly the services whose config
changed (``lab_up``'s own path, so the lab's applied ``lab.toml`` is the new one). A new
layout or engine is a new deployment, which ``lab_up`` replaces whole.

Either way the lab is settled again before :func:`apply` returns.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

import redis

from lab import probe, settle, topology, up
from lab.config import LabConfig
from lab.context import Lab
from lab.errors import LabError

__all__ = ["LIVE_REDIS", "LIVE_SENTINEL", "Reconfigured", "apply", "changes", "is_live"]

log = logging.getLogger(__name__)

# lab.toml key -> the engine's own option name.
LIVE_REDIS = {
    "min_replicas_to_write": "min-replicas-to-write",
    "min_replicas_max_lag": "min-replicas-max-lag",
    "repl_diskless_sync_delay": "repl-diskless-sync-delay",
    "masterauth_on_masters": "masterauth",
}
LIVE_SENTINEL = {
    "quorum": "quorum",
    "down_after_ms": "down-after-milliseconds",
    "failover_timeout_ms": "failover-timeout",
    "parallel_syncs": "parallel-syncs",
}
SECTIONS = ("redis", "sentinel", "haproxy", "images", "machines")


@dataclass(frozen=True)
class Reconfigured:
    """What :func:`apply` did: ``live``, ``re-provisioned`` or ``nothing``."""

    how: str
    changed: tuple[str, ...]
    seconds: float


def changes(old: LabConfig, new: LabConfig) -> list[str]:
    """Every setting that differs, as ``section.key`` (``lab.layout``, ``redis.quorum``)."""
    found = [f"lab.{key}" for key in ("layout", "name", "servers")
             if getattr(old, key) != getattr(new, key)]
    for section in SECTIONS:
        a, b = getattr(old, section), getattr(new, section)
        found += [f"{section}.{f.name}" for f in fields(a)
                  if getattr(a, f.name) != getattr(b, f.name)]
    return found


def is_live(changed: list[str]) -> bool:
    """Whether every one of ``changed`` (``section.key``) applies without restarting."""
    return all((section == "redis" and key in LIVE_REDIS)
               or (section == "sentinel" and key in LIVE_SENTINEL)
               for section, key in (c.split(".", 1) for c in changed))


def apply(lab: Lab, new: LabConfig, config_path: Path, settle_s: float | None = None
          ) -> tuple[Lab, Reconfigured]:
    """Bring the running ``lab`` to ``new`` (read from ``config_path``); the lab as it now
    is, and what was done. ``settle_s`` bounds the wait for a live change to settle
    (default: the lab's settle_timeout_s)."""
    changed = changes(lab.config, new)
    if any(c in ("lab.name", "lab.servers") for c in changed):
        raise LabError(f"{config_path}: a running lab cannot change its name or servers; "
                       "bring it down first")
    started = time.monotonic()
    target = replace(lab, config=new, topology=topology.build(new))
    if not changed:
        return lab, Reconfigured("nothing", (), 0.0)
    if is_live(changed):
        log.info(f"reconfigure: live ({', '.join(changed)})")
        _set_live(target, changed)
        settle.wait(new, target.topology, target.access_as("observer"), timeout_s=settle_s,
                    progress=False)
        how = "live"
    else:
        log.info(f"reconfigure: re-provisioning what changes ({', '.join(changed)})")
        up.run(target, config_path)  # a new layout or engine: up replaces the deployment
        how = "re-provisioned"
    return target, Reconfigured(how, tuple(changed), round(time.monotonic() - started, 2))


def _set_live(lab: Lab, changed: list[str]) -> None:
    """``changed`` are all live settings (:func:`is_live`): set them on every process."""
    password = lab.masterauth
    redis_keys = [c.removeprefix("redis.") for c in changed if c.startswith("redis.")]
    sentinel_keys = [c.removeprefix("sentinel.") for c in changed if c.startswith("sentinel.")]
    if redis_keys:
        for instance in lab.topology.instances:
            with probe.client(*instance.address, lab.access, timeout=5) as r:
                role = r.info("replication").get("role")
                for key in redis_keys:
                    r.config_set(LIVE_REDIS[key], _redis_value(lab.config, key, role, password))
                r.execute_command("CONFIG", "REWRITE")
    if sentinel_keys:
        for sentinel in lab.topology.sentinels:
            with probe.client(*sentinel.address, lab.access.sentinels, timeout=5) as r:
                for number in sentinel.shards:
                    _sentinel_set(r, sentinel.label, lab.topology.shard(number).monitor_name,
                                  {LIVE_SENTINEL[k]: getattr(lab.config.sentinel, k)
                                   for k in sentinel_keys})


def _sentinel_set(r: redis.Redis, label: str, monitor: str, options: dict) -> None:
    for option, value in options.items():
        try:
            r.execute_command("SENTINEL", "SET", monitor, option, value)
        except redis.ResponseError as exc:
            raise LabError(f"sentinel {label}: SENTINEL SET {monitor} {option} {value}: "
                           f"{exc}") from None


def _redis_value(config: LabConfig, key: str, role: str | None, password: str) -> str:
    if key == "masterauth_on_masters":
        # The masters of this moment lack it, as the provisioned ones would.
        return password if config.redis.masterauth_on_masters or role != "master" else ""
    return str(getattr(config.redis, key))
