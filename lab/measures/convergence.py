"""Convergence: from the heal to settled again (the runner records it in the history)."""

from lab.measures.base import UNKNOWN, Measure, register


def _convergence(shards, convergence):
    if convergence is None or not convergence.settled:
        return UNKNOWN
    return convergence.seconds


CONVERGENCE = register(Measure(
    "convergence_s", "s", "heal -> settled again, seconds (never settled: breached)",
    _convergence, title="convergence"))
