"""Outage: the longest write gap overlapping a fault that any client saw."""

from lab.measures.base import UNKNOWN, Measure, longest, register


def _outage(shards, convergence):
    if any(m.outage_open for m in shards):
        return UNKNOWN  # no successful write after the fault, to the end: not over
    return longest(max([m.outage_s, *m.outage_by_haproxy.values()])
                   for m in shards if m.outage_s is not None)


OUTAGE = register(Measure(
    "outage_s", "s", "longest write gap overlapping a fault that any client saw, seconds",
    _outage, title="outage", in_matrix=True))
