"""Every instance's replication counters, read into the history before and after a
recording: how many full and partial resynchronisations the masters served, and how many
bytes they sent their replicas, while the lab was attacked (the ``full_syncs``,
``partial_syncs`` and ``repl_mb`` measures, :func:`lab.chaos.checkers.syncs`).

``INFO`` counts on the serving side: ``sync_full`` (a replica got the whole dataset),
``sync_partial_ok`` (a ``PSYNC`` continued from the backlog), ``sync_partial_err`` (one
refused, so a full sync followed), ``total_net_repl_output_bytes`` (Redis 7.0+, Valkey).
A restart sets them to 0; ``run_id`` tells a restarted process from the one read before.
``evicted_keys`` (keys ``maxmemory`` evicted) and the role read after tell the keys a
replica dropped on its own (``replica-ignore-maxmemory no``) from its master's, which
reach it as deletions (the ``evicted_keys`` and ``replica_evicted_keys`` measures).
"""

from __future__ import annotations

import redis

from lab.access import Access
from lab.at_once import each_at_once
from lab.chaos.history import History
from lab.probe import client
from lab.topology import RedisInstance, Topology

__all__ = ["COUNTERS", "record"]

COUNTERS = ("sync_full", "sync_partial_ok", "sync_partial_err", "total_net_repl_output_bytes",
            "evicted_keys")


def record(history: History, topology: Topology, access: Access, phase: str) -> None:
    """One ``sync-stats`` event per instance of ``topology`` (``phase``: before / after),
    all read at once."""
    for instance, read in zip(topology.instances,
                              each_at_once(lambda i: _read(i, access), topology.instances),
                              strict=True):
        history.record("sync-stats", phase=phase, instance=instance.label,
                       shard=instance.shard, **read)


def _read(instance: RedisInstance, access: Access) -> dict:
    try:
        with client(*instance.address, access, timeout=2) as r:
            info = r.info()  # the default sections: server and stats among them
    except redis.RedisError as exc:
        return {"run_id": None, "role": None, "counters": None,
                "error": f"{type(exc).__name__}: {exc}"}
    return {"run_id": info.get("run_id"), "role": info.get("role"),
            "counters": {k: int(info[k]) for k in COUNTERS if k in info}, "error": None}
