"""``nox -s bench``: how long the lab's lifecycle takes, written to ``reports/bench.json``.

Measured on a lab of its own (``rhl-bench`` on 192.168.59.0/24), so a user's lab is left
alone. Each repetition runs, in order:

* cold ``lab_up``: every lab image deleted first, so debootstrap runs again;
* idempotent re-run of ``lab_up`` on the healthy lab;
* ``lab_down``;
* warm ``lab_up``: images cached, machines destroyed;
* ``lab_down``.

The JSON keeps every run with its per-step breakdown (preflight, images, render,
machines, provision, settle), the medians, and the issue's targets beside them. Targets
are reported, not asserted: these machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lab import down, up
from lab.context import Lab
from lab.errors import LabError
from lab.paths import PROJECT_ROOT

TARGETS_S = {"cold_up": 240, "warm_up": 60, "rerun_up": 15, "down": 15}
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nox -s bench --", description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--skip-cold", action="store_true",
                        help="keep the cached images: measure warm, re-run and down only")
    parser.add_argument("--output", type=Path, default=PROJECT_ROOT / "reports" / "bench.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.repeat < 1:
        print("bench: --repeat must be at least 1", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "lab.toml"
        config_path.write_text(BENCH_LAB)
        try:
            runs = _measure(Lab.load(config_path), config_path, args.repeat, args.skip_cold)
        except LabError as exc:
            print(f"bench: error: {exc}", file=sys.stderr)
            return exc.exit_code
        finally:
            down.run(Lab.load(config_path, prefer_applied=True), log=_quiet)
    report = _summarize(runs)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    _print(report)
    print(f"bench: wrote {args.output}")
    return 0


def _measure(lab: Lab, config_path: Path, repeat: int, skip_cold: bool) -> dict[str, list]:
    runs: dict[str, list] = {name: [] for name in TARGETS_S}
    down.run(lab, log=_quiet)
    for i in range(1, repeat + 1):
        if not skip_cold:
            print(f"bench {i}/{repeat}: cold lab_up")
            down.run(lab, log=_quiet, remove_images=True)
            runs["cold_up"].append(_up(lab, config_path))
        else:
            _up(lab, config_path)
        print(f"bench {i}/{repeat}: idempotent re-run")
        runs["rerun_up"].append(_up(lab, config_path))
        print(f"bench {i}/{repeat}: lab_down")
        runs["down"].append({"total": down.run(lab, log=_quiet)})
        print(f"bench {i}/{repeat}: warm lab_up")
        runs["warm_up"].append(_up(lab, config_path))
        runs["down"].append({"total": down.run(lab, log=_quiet)})
    return runs


def _up(lab: Lab, config_path: Path) -> dict:
    started = time.monotonic()
    result = up.run(lab, config_path, log=_quiet)
    return {"total": round(time.monotonic() - started, 2), "steps": result.seconds,
            "changes": len(result.changes)}


def _summarize(runs: dict[str, list]) -> dict:
    medians = {}
    for name, items in runs.items():
        if not items:
            continue
        steps = sorted({s for run in items for s in run.get("steps", {})})
        medians[name] = {
            "total": round(statistics.median(r["total"] for r in items), 2),
            "steps": {s: round(statistics.median(r["steps"].get(s, 0) for r in items), 2)
                      for s in steps},
        }
    return {
        "kind": "lab_lifecycle",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"cores": os.cpu_count(), "kernel": platform.release(),
                 "python": platform.python_version()},
        "median_s": medians,
        "targets_s": TARGETS_S,
        "within_target": {k: v["total"] <= TARGETS_S[k] for k, v in medians.items()},
        "runs": runs,
    }


def _print(report: dict) -> None:
    print(f"{'measure':<10} {'median':>8} {'target':>7}  where the time goes")
    for name, m in report["median_s"].items():
        steps = ", ".join(f"{k} {v:.1f}" for k, v in m["steps"].items() if v >= 0.05)
        print(f"{name:<10} {m['total']:>7.1f}s {TARGETS_S[name]:>6}s  {steps}")


def _quiet(line: str) -> None:
    if line.startswith(("lab_up:", "lab_down:")) or "built in" in line:
        print(f"  {line.strip()}")


if __name__ == "__main__":
    sys.exit(main())
