"""What every measurement of the bench shares: the registry, the bench lab, bringing it up
and down with the time each took, and the bench's own lines (through logging).

A measurement is one module of this package that calls :func:`register` with a
:class:`Measurement`; ``lab/bench/__init__.py`` imports them in the order ``--what all``
runs them.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lab import down, up
from lab.bench.numbers import median
from lab.context import Lab
from lab.progress import quiet

__all__ = ["BENCH_LAB", "CHAOS_SETTINGS", "MEASUREMENTS", "Measurement", "bench_lab",
           "lab_down", "lab_up", "median_phases", "register", "say", "with_tls"]

log = logging.getLogger("bench")  # the bench's lines: not quietened with the lab's


def say(text: str = "") -> None:
    """A line of the bench's own output (what it measured), through logging."""
    log.info(text)


CHAOS_SETTINGS = """
[redis]
restart = "no"
[sentinel]
down_after_ms = 1000
"""


BENCH_LAB = """\
[lab]
name = "rhl-bench"
[machines]
network = "192.168.59.0/24"
[[servers]]
name = "redis1"
address = "192.168.59.11"
[[servers]]
name = "redis2"
address = "192.168.59.12"
[[servers]]
name = "redis3"
address = "192.168.59.13"
"""


@dataclass(frozen=True)
class Measurement:
    """One thing the bench measures. ``measure(args, config_path, previous)`` brings up
    what it needs (the bench lab's settings written to ``config_path``), given what an
    earlier run recorded under its name; ``show`` logs the result."""

    name: str
    what: str  # one line for --help
    measure: Callable[[argparse.Namespace, Path, dict | None], dict]
    show: Callable[[dict], None]
    in_all: bool = True


def bench_lab(config_path: Path, settings: str = BENCH_LAB) -> Lab:
    config_path.write_text(settings)
    return Lab.load(config_path)


def with_tls(config_path: Path, name: str) -> tuple[Lab, Path]:
    """The lab of ``config_path`` with ``[security] tls = true``, as ``name`` beside it
    (``lab_up`` then re-provisions the running lab in place)."""
    path = config_path.with_name(name)
    path.write_text(config_path.read_text() + "\n[security]\ntls = true\n")
    return Lab.load(path), path


def lab_down(lab: Lab, remove_images: bool = False) -> float:
    with quiet():
        seconds = down.run(lab, remove_images=remove_images)
    say(f"  lab_down: done in {seconds:.1f} s")
    return seconds


def lab_up(lab: Lab, config_path: Path) -> dict:
    started = time.monotonic()
    with quiet():
        result = up.run(lab, config_path)
    built = [c for c in result.changes if c.startswith("built image")]
    say(f"  lab_up: {len(result.changes)} change(s) in {time.monotonic() - started:.1f} s"
          + (f" ({', '.join(built)})" if built else ""))
    steps = {**result.seconds,
             **{f"provision.{k}": v for k, v in result.provision_seconds.items()}}
    return {"total": round(time.monotonic() - started, 2), "steps": steps,
            "changes": len(result.changes)}


def median_phases(runs: list[dict[str, float]]) -> dict[str, float]:
    names = [k for k in ("sdown", "odown", "switch_master", "haproxy_up", "first_write")
             if any(k in r for r in runs)]
    return {k: median([r.get(k) for r in runs]) for k in names}


# What the bench measures, by name, in the order `--what all` runs them.
MEASUREMENTS: dict[str, Measurement] = {}


def register(measurement: Measurement) -> Measurement:
    if measurement.name in MEASUREMENTS:
        raise ValueError(f"bench measurement {measurement.name!r} is registered twice")
    MEASUREMENTS[measurement.name] = measurement
    return measurement
