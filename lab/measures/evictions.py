"""Evictions: keys ``maxmemory`` evicted while the lab was attacked (INFO read before and
after), and those a replica evicted on its own, which its master still holds."""

from lab.measures.base import UNKNOWN, Measure, register


def _evicted(field: str):
    def value(shards, convergence):
        counts = [getattr(m, field) for m in shards]
        if all(c is None for c in counts):
            return None  # the history never read the counter (recorded before it did)
        if any(c is None for c in counts):
            return UNKNOWN
        return sum(n for c in counts for n in c.values())
    return value


EVICTED_KEYS = register(Measure(
    "evicted_keys", "",
    "keys the shard's instances evicted (maxmemory) during the recording: INFO "
    "evicted_keys after less before, summed (a master's evictions reach its replicas as "
    "deletions, which they do not count)",
    _evicted("evicted"), title="evicted", headline=False, in_matrix=True,
    zero_or_not=True))

REPLICA_EVICTED_KEYS = register(Measure(
    "replica_evicted_keys", "",
    "of those, the keys instances that were replicas when read after evicted on their own "
    "(replica-ignore-maxmemory no): each one a key the replica lacks and its master holds",
    _evicted("replica_evicted"), title="replica evicted", headline=False, in_matrix=True,
    zero_or_not=True))
