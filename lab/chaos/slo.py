"""The user's SLOs, judged on one history's measures: which thresholds were breached.

Expectations ask "did the lab behave as documented?"; SLOs ask "does it meet *our*
requirements when things break?". Both are judged from the history alone and reported
separately. A run is **GO** when no threshold is breached in any scenario, repetition or
Hypothesis example, else **NO-GO**.

Each SLO measure (:mod:`lab.measures`) is read over *every* shard, since a loss
anywhere is a loss: the longest times, the summed counts. A measure that does not apply
(no failover happened, so no failover time) is not judged; one that applies but could not
be measured (no read-back, never settled, a failover with no write after it, an outage
still open when the history ends) is a breach: a GO must be shown, not assumed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from lab import measures as measures_module
from lab.chaos.checkers import ShardMeasures
from lab.measures import UNKNOWN

__all__ = ["UNKNOWN", "Breach", "breaches", "values"]


@dataclass(frozen=True)
class Breach:
    """One SLO not met: where, which measure, the value measured, the threshold."""

    where: str  # "crash-master", "crash-master #2", "hypothesis example 4"
    measure: str
    value: float | None  # None: it applies but could not be measured
    threshold: float

    def line(self) -> str:
        measured = "unknown" if self.value is None else f"{self.value:g}"
        return f"{self.where}: {self.measure} = {measured} > {self.threshold:g}"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Breach:
        return cls(**data)


def values(measures: dict[int, ShardMeasures], convergence) -> dict[str, object]:
    """Each SLO measure's value over every shard (:func:`lab.measures.values`): a number,
    :data:`UNKNOWN`, or absent when it does not apply."""
    return measures_module.values(list(measures.values()), convergence)


def breaches(thresholds: dict[str, float], measured: dict[str, object], where: str
             ) -> list[Breach]:
    """The thresholds ``measured`` exceeds (unknown values exceed every threshold)."""
    found = []
    for measure, threshold in sorted(thresholds.items()):
        if measure not in measured:
            continue  # does not apply to this history
        value = measured[measure]
        if value is UNKNOWN:
            found.append(Breach(where, measure, None, threshold))
        elif value > threshold:
            found.append(Breach(where, measure, round(float(value), 3), threshold))
    return found
