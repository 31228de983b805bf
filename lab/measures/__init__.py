"""The measures: one object per number (:mod:`~lab.measures.base`), one registry.

``failover``       failover_s, writes_resumed_s
``outage``         outage_s
``writes``         lost_writes, indeterminate_writes
``split_brain``    split_brain_s, split_brain_haproxy_s
``demoted``        demoted_writes, demoted_write_s
``unconfirmed``    unconfirmed_writes
``convergence``    convergence_s
``stale_reads``    stale_reads
``client_errors``  client_errors
``acl_denials``    acl_denials
``syncs``          full_syncs, partial_syncs, repl_mb
``disk_errors``    misconf_s, misconf_writes
``sentinel_views`` sentinels_disagree_s
``evictions``      evicted_keys, replica_evicted_keys
``anomalies``      incompatible_orders, lost_reads, lost_appends, stale_list_reads,
                   non_monotonic_reads, read_your_writes (the list-append workload)

Their definitions are in docs/design.md, Measures. Adding a measure is one module here,
imported below in the place it should be listed, calling :func:`register`; the checker
that computes its per-shard number stays a pure function in lab/chaos/checkers.py.
"""

from __future__ import annotations

# isort: off
# They register in this order: the order [slo] errors, the docs, the report's columns and
# the matrix's cells list them.
from lab.measures import failover, outage, writes, split_brain, demoted  # noqa: F401
from lab.measures import unconfirmed, convergence, stale_reads, client_errors  # noqa: F401
from lab.measures import acl_denials, syncs, disk_errors, sentinel_views  # noqa: F401
from lab.measures import evictions, anomalies  # noqa: F401
# isort: on
from lab.measures.base import (
    UNKNOWN,
    Measure,
    forget,
    get,
    longest,
    register,
    registered,
    total,
)

__all__ = ["UNKNOWN", "Measure", "columns", "forget", "get", "longest", "of_shard",
           "register", "registered", "total", "values"]


def values(shards: list, convergence_record) -> dict[str, object]:
    """Each measure's value over every shard of one history (and its convergence record):
    a number, UNKNOWN, or absent when it does not apply."""
    found = {}
    for name, measure in registered().items():
        value = measure.value(shards, convergence_record)
        if value is not None:
            found[name] = value
    return found


def columns(in_matrix: bool = False) -> list[tuple[str, str, str]]:
    """(name, heading, unit) of the measures the report's verdict table shows, in order;
    with ``in_matrix``, those of an engine-matrix cell."""
    return [(m.name, m.heading, m.unit) for m in registered().values()
            if (m.in_matrix if in_matrix else m.headline)]


def of_shard(shard, convergence_record) -> dict[str, float | int | None]:
    """The report's numbers for one shard (a scenario's headline: the shard the fault
    hit): each column's measure over that shard alone, None where it does not apply or
    could not be measured (plain JSON; the SLO judge keeps the difference)."""
    found = {}
    for name, _, _ in columns():
        value = get(name).value([shard], convergence_record)
        if value is UNKNOWN:
            value = None
        found[name] = round(value, 3) if isinstance(value, float) else value
    return found
