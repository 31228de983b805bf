"""The user's SLOs, judged on one history's measures: which thresholds were breached.

Expectations ask "did the lab behave as documented?"; SLOs ask "does it meet *our*
requirements when things break?". Both are judged from the history alone and reported
separately. A run is **GO** when no threshold is breached in any scenario, repetition or
Hypothesis example, else **NO-GO**.

Each SLO measure (``lab.config.SLO_MEASURES``) is read over *every* shard, since a loss
anywhere is a loss: the longest times, the summed counts. A measure that does not apply
(no failover happened, so no failover time) is not judged; one that applies but could not
be measured (no read-back, never settled, a failover with no write after it, an outage
still open when the history ends) is a breach: a GO must be shown, not assumed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from lab.chaos.checkers import ShardMeasures
from lab.config import SLO_MEASURES

__all__ = ["UNKNOWN", "Breach", "breaches", "values"]


class _Unknown:
    """A measure that applies but could not be measured."""

    def __repr__(self) -> str:
        return "unknown"


UNKNOWN = _Unknown()


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
    """Each SLO measure's value over every shard: a number, :data:`UNKNOWN`, or absent
    when it does not apply."""
    shards = list(measures.values())
    found: dict[str, object] = {}

    def longest(name: str, seconds: list[float | None]) -> None:
        present = [s for s in seconds if s is not None]
        if present:
            found[name] = max(present)

    def total(name: str, counts: list[int | None]) -> None:
        found[name] = UNKNOWN if any(c is None for c in counts) else sum(counts)

    longest("failover_s", [m.failover_s for m in shards])
    longest("writes_resumed_s", [m.failover_write_s for m in shards])
    if any(m.failover_s is not None and m.failover_write_s is None for m in shards):
        # A shard failed over and no write succeeded after: writes never resumed.
        found["writes_resumed_s"] = UNKNOWN
    longest("outage_s", [max([m.outage_s, *m.outage_by_haproxy.values()])
                         for m in shards if m.outage_s is not None])
    if any(m.outage_open for m in shards):
        # No successful write after the fault, to the end: the outage had not ended.
        found["outage_s"] = UNKNOWN
    total("lost_writes", [m.lost for m in shards])
    total("indeterminate_writes", [m.indeterminate for m in shards])
    longest("split_brain_s", [m.split_brain_s for m in shards])
    if convergence is None or not convergence.settled:
        found["convergence_s"] = UNKNOWN
    else:
        found["convergence_s"] = convergence.seconds
    total("stale_reads", [m.stale_reads for m in shards])
    total("demoted_writes", [m.demoted_writes for m in shards])
    longest("demoted_write_s", [m.demoted_write_s for m in shards])
    assert set(found) <= set(SLO_MEASURES)  # one vocabulary with the config's
    return found


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
