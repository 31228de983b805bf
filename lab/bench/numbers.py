"""The benchmarks' arithmetic: medians over runs that may lack a number."""

from __future__ import annotations

import statistics
from collections.abc import Iterable

__all__ = ["median", "median_per_key"]


def median(values: Iterable, digits: int = 2) -> float | None:
    """The median of the values that are there (None where none is), rounded."""
    present = [v for v in values if v is not None]
    return round(statistics.median(present), digits) if present else None


def median_per_key(runs: list[dict], keys: Iterable[str] | None = None) -> dict:
    """Per key (default: every key, in the order first seen), the median over ``runs``."""
    keys = dict.fromkeys(k for r in runs for k in r) if keys is None else keys
    return {k: median(r.get(k) for r in runs) for k in keys}
