"""``python -m lab bench`` (``nox -s bench``): its options, and one run of the chosen
measurements into the bench record (what earlier runs measured stays)."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from lab.bench.base import MEASUREMENTS, lab_down, say
from lab.bench.record import BenchRecord
from lab.context import Lab
from lab.errors import LabError
from lab.paths import REPORTS
from lab.progress import show_progress

__all__ = ["add_arguments", "main", "parse", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The bench's options (``python -m lab bench``, ``nox -s bench --``)."""
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--skip-cold", action="store_true",
                        help="keep the cached images: measure warm, re-run and down only")
    parser.add_argument("--what", choices=["all", *MEASUREMENTS], default="all",
                        help="what to measure: " + "; ".join(
                            f"{m.name}: {m.what}" for m in MEASUREMENTS.values())
                        + " (all: every one but search)")
    parser.add_argument("--weaknesses", default="partitions", metavar="A,B,...",
                        help="--what search: planted weaknesses (default partitions; "
                             "empty-restart, partitions, partitions-slow, server-cut, "
                             "min-replicas)")
    parser.add_argument("--profiles", default="ci", metavar="A,B",
                        help="--what search: Hypothesis profiles (default ci)")
    parser.add_argument("--seeds", type=int, default=10,
                        help="--what search: seeds 1..N per cell (default 10)")
    parser.add_argument("--known", choices=["on", "off", "both"], default="both",
                        help="--what search: the catalogue's sequences first (default both)")
    parser.add_argument("--scenarios", default="", metavar="A,B,...",
                        help="--what matrix: the scenarios of each engine's campaign "
                             "(default: every scenario)")
    parser.add_argument("--output", type=Path, default=REPORTS / "bench.json")


def parse(argv: list[str]) -> argparse.Namespace:
    """The bench's own options, for ``python -m lab bench`` and ``python -m lab.bench``."""
    parser = argparse.ArgumentParser(
        prog="redis-ha-lab bench",
        description="the lab's speed and behaviour, measured into reports/bench.json")
    add_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """``python -m lab.bench`` (kept for scripts)."""
    show_progress()
    try:
        return run(parse(sys.argv[1:] if argv is None else argv))
    except LabError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return exc.exit_code


def run(args: argparse.Namespace) -> int:
    """Measure what ``args.what`` names into the bench record at ``args.output`` (what
    earlier runs measured stays); progress and results through logging."""
    if args.repeat < 1:
        raise LabError("--repeat must be at least 1")
    logging.getLogger("bench").setLevel(logging.INFO)  # not quietened with the lab's
    record = BenchRecord.read(args.output)
    chosen = [m for m in MEASUREMENTS.values()
              if args.what == m.name or (args.what == "all" and m.in_all)]
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "lab.toml"
        try:
            for measurement in chosen:
                result = measurement.measure(args, config_path,
                                             record.measurements.get(measurement.name))
                record.measurements[measurement.name] = result
                measurement.show(result)
        finally:
            if config_path.exists():  # a lab was brought up for this bench
                lab_down(Lab.load(config_path, prefer_applied=True))
    record.write(args.output)
    say(f"bench: wrote {args.output}")
    return 0
