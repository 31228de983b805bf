"""The measures: one object per number (:mod:`~lab.measures.base`), one registry.

``failover``     failover_s, writes_resumed_s
``outage``       outage_s
``writes``       lost_writes, indeterminate_writes
``split_brain``  split_brain_s
``convergence``  convergence_s
``stale_reads``  stale_reads
``demoted``      demoted_writes, demoted_write_s

Their definitions are in docs/design.md, Measures. Adding a measure is one module here,
imported below in the place it should be listed, calling :func:`register`; the checker
that computes its per-shard number stays a pure function in lab/chaos/checkers.py.
"""

from __future__ import annotations

# isort: off
# They register in this order: the order [slo] errors, the docs and the report list them.
from lab.measures import failover, outage, writes, split_brain  # noqa: F401
from lab.measures import convergence, stale_reads, demoted  # noqa: F401
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

__all__ = ["UNKNOWN", "Measure", "forget", "get", "longest", "register", "registered",
           "total", "values"]


def values(shards: list, convergence_record) -> dict[str, object]:
    """Each measure's value over every shard of one history (and its convergence record):
    a number, UNKNOWN, or absent when it does not apply."""
    found = {}
    for name, measure in registered().items():
        value = measure.value(shards, convergence_record)
        if value is not None:
            found[name] = value
    return found
