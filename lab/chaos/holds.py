"""How long the search holds a fault, from the lab's own timing.

A partition healed after one second shows nothing; one held past a failover is the
classic lost-writes case; one held past Sentinel's failover timeout also lets a second
election and the old master's demotion happen under the fault. Which of these a fault
sees must not depend on how many unrelated steps Hypothesis happened to draw after it,
nor on a fixed number of seconds that means "past failover" at ``down_after_ms = 2000``
and "healed before anyone noticed" at Sentinel's default of 30 000. So a fault carries
its hold, drawn from values derived here from ``[sentinel]`` (and, where the run measured
one, the failover time it saw):

``brief``          half of ``down-after-milliseconds``: healed before Sentinel notices
``past_failover``  down-after plus the time an election and promotion take: a failover
                   has happened and clients write to the new master
``long``           past failover plus the failover timeout: the old master is demoted
                   (or a second election ran) while the fault still holds

Waits between steps are drawn from the same values. Hypothesis shrinks a sampled value
towards the first one, so ``past_failover`` comes first: a shrunk reproducer keeps the
hold that matters most.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.config import SentinelSettings

__all__ = ["ELECTION_ALLOWANCE_S", "Holds"]

# Beyond down-after: ODOWN, the election, the promotion and HAProxy's next check, with a
# margin. Measured on the native floor (docs/design.md, Facts): writes resume 0.6-0.9 s after SDOWN;
# the lab's containers add a second or two.
ELECTION_ALLOWANCE_S = 4.0


@dataclass(frozen=True)
class Holds:
    """The lab's timing as the search sees it, in seconds."""

    down_after_s: float
    failover_timeout_s: float
    measured_failover_s: float | None = None  # the longest failover the run saw, if any

    @classmethod
    def for_lab(cls, sentinel: SentinelSettings, measured_failover_s: float | None = None
                ) -> Holds:
        return cls(sentinel.down_after_ms / 1000, sentinel.failover_timeout_ms / 1000,
                   measured_failover_s)

    @property
    def brief_s(self) -> float:
        return round(self.down_after_s / 2, 1)

    @property
    def past_failover_s(self) -> float:
        """How long a fault must hold for Sentinel to have failed the shard over."""
        estimate = self.down_after_s + ELECTION_ALLOWANCE_S
        if self.measured_failover_s is not None:
            estimate = max(estimate, self.measured_failover_s + 1.0)
        return round(estimate, 1)

    @property
    def long_s(self) -> float:
        return round(self.past_failover_s + self.failover_timeout_s, 1)

    def hold_choices(self) -> tuple[float, ...]:
        """What a fault's hold is drawn from: past failover first (it is also what a
        shrunk example keeps) and twice (half the draws), then brief and long."""
        return (self.past_failover_s, self.past_failover_s, self.brief_s, self.long_s)

    def wait_choices(self) -> tuple[float, ...]:
        """A wait between steps, while faults hold: as long as a hold, so that a wait
        can carry an overlap past a failover."""
        return (self.brief_s, self.past_failover_s)

    def held_past_failover(self, held_s: float) -> bool:
        return held_s >= self.past_failover_s

    def to_json(self) -> dict:
        return {"down_after_s": self.down_after_s, "failover_timeout_s": self.failover_timeout_s,
                "measured_failover_s": self.measured_failover_s, "brief_s": self.brief_s,
                "past_failover_s": self.past_failover_s, "long_s": self.long_s}
