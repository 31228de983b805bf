"""``--what lifecycle``: the lab's lifecycle on the bench lab, repeated in order:

* cold ``lab_up``: every lab image deleted first, so the images are built again;
* idempotent re-run of ``lab_up`` on the healthy lab;
* ``lab_down``;
* warm ``lab_up``: images cached, machines destroyed;
* ``lab_down``;
* bare ``lab_up``: the same lab on bare machines (``[machines] image = "bare"``, its
  machine image built beforehand, untimed): the engine installed over SSH on each
  machine, beside the warm ``lab_up`` of the same run; ``provision.engine`` is the
  install on the slowest machine;
* ``lab_down``.

Targets are reported beside the medians, never asserted.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

from lab import images
from lab.bench.base import Measurement, bench_lab, lab_down, lab_up, register, say
from lab.context import Lab
from lab.progress import quiet

TARGETS_S = {"cold_up": 240, "warm_up": 60, "rerun_up": 15, "down": 15, "bare_up": 180}


def _run(args, config_path, previous) -> dict:
    return _summarize(_measure_runs(bench_lab(config_path), config_path, args.repeat,
                               args.skip_cold))


def _measure_runs(lab: Lab, config_path: Path, repeat: int, skip_cold: bool) -> dict[str, list]:
    runs: dict[str, list] = {name: [] for name in TARGETS_S}
    lab_down(lab)
    for i in range(1, repeat + 1):
        if not skip_cold:
            say(f"bench {i}/{repeat}: cold lab_up")
            lab_down(lab, remove_images=True)
            runs["cold_up"].append(lab_up(lab, config_path))
        else:
            lab_up(lab, config_path)
        say(f"bench {i}/{repeat}: idempotent re-run")
        runs["rerun_up"].append(lab_up(lab, config_path))
        say(f"bench {i}/{repeat}: lab_down")
        runs["down"].append({"total": lab_down(lab)})
        say(f"bench {i}/{repeat}: warm lab_up")
        runs["warm_up"].append(lab_up(lab, config_path))
        runs["down"].append({"total": lab_down(lab)})
        say(f"bench {i}/{repeat}: bare lab_up (the engine installed on each machine)")
        bare_path = config_path.with_name("bare.toml")
        bare_path.write_text(config_path.read_text().replace(
            "[machines]\n", '[machines]\nimage = "bare"\n', 1))
        bare = Lab.load(bare_path)
        with quiet():
            images.ensure(bare.recipes()[1:], bare.paths)  # its image: not what is measured
        runs["bare_up"].append(lab_up(bare, bare_path))
        runs["down"].append({"total": lab_down(bare)})
    return runs


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


def _show_lifecycle(report: dict) -> None:
    say(f"{'measure':<10} {'median':>8} {'target':>7}  where the time goes")
    for name, m in report["median_s"].items():
        steps = ", ".join(f"{k} {v:.1f}" for k, v in m["steps"].items() if v >= 0.05)
        say(f"{name:<10} {m['total']:>7.1f}s {TARGETS_S[name]:>6}s  {steps}")


register(Measurement("lifecycle", "cold, warm and re-run lab_up, bare machines, lab_down",
                     _run, _show_lifecycle))
