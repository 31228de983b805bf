"""What clients saw of the lists they appended to and read (the list-append workload):
one measure per anomaly class of lab/chaos/anomalies.py, summed over shards. They do not
apply (None) to a history without list operations; a class judged against the final
lists is unknown when a shard's could not be read."""

from lab.measures.base import UNKNOWN, Measure, register


def _sum(*classes: str):
    def value(shards, convergence):
        counts = [m.anomalies for m in shards if m.anomalies is not None]
        if not counts:
            return None
        per_shard = [[c.get(kind) for kind in classes] for c in counts]
        if any(n is None for shard in per_shard for n in shard):
            return UNKNOWN
        return sum(sum(shard) for shard in per_shard)
    return value


def _anomaly(name: str, title: str, definition: str, *classes: str) -> Measure:
    return register(Measure(name, "", definition, _sum(*classes), title=title,
                            headline=False, in_matrix=True, zero_or_not=True))


INCOMPATIBLE_ORDERS = _anomaly(
    "incompatible_orders", "incompatible orders",
    "lists two reads showed in orders that are not prefixes of one another: two histories "
    "of the list (split brain as clients saw it)", "incompatible-order")
LOST_READS = _anomaly(
    "lost_reads", "reads of lost writes",
    "values clients read that the list's final master does not hold", "lost-read")
LOST_APPENDS = _anomaly(
    "lost_appends", "lost appends",
    "acknowledged appends the list's final master does not hold", "lost-append")
STALE_LIST_READS = _anomaly(
    "stale_list_reads", "stale list reads",
    "list reads (master or replica port) missing appends acknowledged before they began "
    "and kept", "stale-read:master", "stale-read:replicas")
NON_MONOTONIC_READS = _anomaly(
    "non_monotonic_reads", "non-monotonic reads",
    "list reads shorter than, and a prefix of, the same client's earlier read",
    "non-monotonic-read")
READ_YOUR_WRITES = _anomaly(
    "read_your_writes", "read-your-writes violations",
    "list reads missing the client's own append acknowledged before they began (and kept)",
    "read-your-writes")
