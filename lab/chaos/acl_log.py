"""The instances' ACL LOG, read into the history before and after a recording: which
commands an ACL refused, and to which user (the sentinel-acl-without-* scenarios count
the Sentinel user's refusals from it).

Read, never reset: an adopted deployment's log is its own. ``ACL LOG`` groups repeats of
one refusal (same reason, context, command and user, within a minute) into one entry
with a count, so a refusal during the recording is an entry's count after less its count
before (:func:`lab.chaos.checkers.acl_denials`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import redis

from lab.access import Access
from lab.chaos.history import History
from lab.probe import client
from lab.topology import RedisInstance, Topology

__all__ = ["record"]

# What an entry keeps: the grouping key, its count, and (Redis 7.2+, Valkey) its number.
_FIELDS = ("count", "reason", "context", "object", "username", "entry-id")


def record(history: History, topology: Topology, access: Access, phase: str) -> None:
    """One ``acl-log`` event per instance of ``topology`` (``phase``: before / after),
    read as the lab's administrator (only it may read ACL LOG), all at once."""
    instances = list(topology.instances)
    if not instances:
        return
    with ThreadPoolExecutor(len(instances)) as pool:
        for instance, entries, error in pool.map(lambda i: _read(i, access), instances):
            history.record("acl-log", phase=phase, instance=instance.label,
                           shard=instance.shard, entries=entries, error=error)


def _read(instance: RedisInstance, access: Access
          ) -> tuple[RedisInstance, list[dict] | None, str | None]:
    try:
        with client(*instance.address, access, timeout=2) as r:
            entries = r.acl_log()
    except redis.RedisError as exc:
        return instance, None, f"{type(exc).__name__}: {exc}"
    return instance, [{k: e[k] for k in _FIELDS if k in e} for e in entries], None
