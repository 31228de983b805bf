"""Where a recording's time goes: seconds per phase (reset, warm-up, inject, hold, heal,
convergence, read-back, judging ...), summed when a phase recurs.

The hold is the faults' own time (and a scenario's or example's waits): the part of a
run that only a shorter fault could save. Everything else is the lab's or ours.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ORDER", "Phases", "totals"]

# The order phases are shown in (a phase not listed here comes last).
ORDER = ("reset", "load", "start", "warmup", "inject", "hold", "heal", "invariants",
         "convergence", "settled_writes", "datasets", "readback", "judge")


class Phases:
    """A stopwatch per phase for one recording (a scenario or a Hypothesis example).

    ``stop``: when set, a wait in progress ends at once as if Ctrl-C had been pressed
    (in a parallel campaign only the main thread gets the signal; its lanes wait here)."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.stop = stop or threading.Event()

    @contextmanager
    def timing(self, name: str) -> Iterator[None]:
        """Time the block as ``name`` (added to what ``name`` had, on every exit path)."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.add(name, time.monotonic() - started)

    def sleep(self, name: str, seconds: float) -> None:
        """Wait ``seconds`` on purpose (a warm-up, a hold), counted as ``name``."""
        with self.timing(name):
            if self.stop.wait(seconds):
                raise KeyboardInterrupt

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def to_json(self) -> dict[str, float]:
        """Seconds per phase, rounded, in :data:`ORDER`."""
        return {name: round(self.seconds[name], 2) for name in _ordered(self.seconds)}


def totals(per_recording: list[dict[str, float]]) -> dict[str, float]:
    """Phase seconds summed over recordings, in :data:`ORDER`."""
    summed: dict[str, float] = {}
    for phases in per_recording:
        for name, seconds in phases.items():
            summed[name] = summed.get(name, 0.0) + seconds
    return {name: round(summed[name], 1) for name in _ordered(summed)}


def _ordered(names) -> list[str]:
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
