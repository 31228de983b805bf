"""Resynchronisations: the full and partial syncs the masters served while the lab was
attacked, and the bytes they sent their replicas (INFO read before and after)."""

from lab.measures.base import UNKNOWN, Measure, register


def _counted(name, scale=1):
    def value(shards, convergence):
        counts = [m.syncs for m in shards]
        if all(c is None for c in counts):
            return None  # the history never read the counters (recorded before it did)
        if any(c is None or c[name] is None for c in counts):
            return UNKNOWN
        total = sum(c[name] for c in counts)
        return round(total / scale, 2) if scale != 1 else total
    return value


FULL_SYNCS = register(Measure(
    "full_syncs", "",
    "full resynchronisations (the whole dataset sent to a replica) the shard's instances "
    "served during the recording: INFO sync_full after less before, summed",
    _counted("full"), title="full syncs", headline=False, in_matrix=True, zero_or_not=True))

PARTIAL_SYNCS = register(Measure(
    "partial_syncs", "",
    "partial resynchronisations (a replica continued from the backlog) the shard's "
    "instances served during the recording: INFO sync_partial_ok after less before, summed",
    _counted("partial"), title="partial syncs", headline=False, in_matrix=True))

REPL_MB = register(Measure(
    "repl_mb", "MB",
    "megabytes (10^6 bytes) the shard's instances sent their replicas during the "
    "recording, full syncs and the replication stream: INFO total_net_repl_output_bytes "
    "after less before, summed",
    _counted("repl_bytes", scale=10**6), title="replication MB", headline=False,
    in_matrix=True))
