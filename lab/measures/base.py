"""A measure is one object: its name (the one name of its number, in ``[slo]``, the
judge, workshop predictions and the docs), its unit, its one-line definition, and how its
value over a whole history comes from the checkers' per-shard numbers. The registry is
private; :func:`registered` hands out a copy, in registration order.

Nothing of the lab is imported here or in the measure modules: the configuration (a
lower layer than chaos) validates ``[slo]`` against this registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["UNKNOWN", "Measure", "forget", "get", "longest", "register", "registered",
           "total"]


class _Unknown:
    """A measure that applies but could not be measured."""

    def __repr__(self) -> str:
        return "unknown"


UNKNOWN = _Unknown()

# value(shards, convergence): the checkers' per-shard measures (lab.chaos.checkers
# .ShardMeasures) of every shard of the history, and its convergence record (None when
# the run never got there); returns a number, UNKNOWN, or None when it does not apply.
Value = Callable[[list[Any], Any], object]


@dataclass(frozen=True)
class Measure:
    name: str
    unit: str  # "s", or "" for a count
    definition: str  # one line: [slo] errors, the docs
    value: Value
    title: str = ""  # the column's head in the report and the matrix; the name if empty
    # Every SLO is an upper bound today, and the search climbs towards the largest value.
    lower_is_better: bool = True
    headline: bool = True  # a column of the report's verdict table and the comparison
    in_matrix: bool = False  # a line of each cell of the engine matrix
    # A count whose being zero in one variant and not in another is a difference in kind.
    zero_or_not: bool = False

    @property
    def heading(self) -> str:
        return self.title or self.name


_REGISTRY: dict[str, Measure] = {}


def register(measure: Measure) -> Measure:
    """Add ``measure`` (names are unique)."""
    if measure.name in _REGISTRY:
        raise ValueError(f"measure {measure.name!r} is registered twice")
    _REGISTRY[measure.name] = measure
    return measure


def forget(name: str) -> None:
    """Remove a measure (tests register throw-away ones)."""
    _REGISTRY.pop(name, None)


def registered() -> dict[str, Measure]:
    """Every measure by name, in registration order; a copy."""
    return dict(_REGISTRY)


def get(name: str) -> Measure:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown measure {name!r}; known: {', '.join(_REGISTRY)}") from None


def longest(seconds: Iterable[float | None]) -> float | None:
    """The longest of the times measured; None (does not apply) when none was."""
    present = [s for s in seconds if s is not None]
    return max(present) if present else None


def total(counts: Iterable[int | None]) -> object:
    """The sum over shards; UNKNOWN when one shard's count could not be measured."""
    counts = list(counts)
    return UNKNOWN if any(c is None for c in counts) else sum(counts)
