"""``--what matrix``: per engine (:mod:`lab.engines`), the cold build of its image (the
cached image and tarball deleted first; ``--skip-cold`` keeps them); then a warm lab
switched from engine to engine in a cycle, each switch timed to settled (``--repeat``
cycles); then ``nox -s matrix`` over every engine with every named scenario (no
Hypothesis; ``--scenarios A,B`` for some), the wall time of each engine's campaign from
its run record and each scenario's (the issue's bound: under 60 s on a warm lab).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from lab import images
from lab.bench.base import Measurement, bench_lab, lab_up, register, say
from lab.bench.numbers import median
from lab.context import Lab
from lab.paths import REPORTS
from lab.progress import quiet


def _measure_matrix(lab: Lab, config_path: Path, repeat: int, skip_cold: bool,
                    scenarios: list[str]) -> dict:
    """Cold image per engine, warm switches between engines, the campaign per engine."""
    import tomli_w

    from lab import config as config_module
    from lab import engines, reconfigure

    names = engines.names()
    cold: dict[str, float] = {}
    if not skip_cold:
        for name in names:
            base = images.recipes(engines.get(name), lab.config.images.mirror,
                                  lab.config.images.suite)[0]
            subprocess.run(["docker", "rmi", "-f", base.image], capture_output=True)
            for tarball in lab.paths.images.glob(f"{base.name}-*.tar"):
                tarball.unlink()
            say(f"bench: cold image of {name}")
            started = time.monotonic()
            with quiet():
                images.ensure((base,), lab.paths)
                images.saved_tarball(base, lab.paths)
            cold[name] = round(time.monotonic() - started, 1)
            say(f"  {name}: {cold[name]:.1f} s")
    say("bench: matrix lab up")
    lab_up(lab, config_path)
    base_raw = tomllib.loads(config_path.read_text())
    switches: dict[str, list[float]] = {name: [] for name in names}
    current = lab
    for i in range(1, repeat + 1):
        for name in (*names[1:], names[0]):  # from the default round to the default
            raw = {**base_raw, "images": {"engine": name}}
            path = config_path.with_name(f"engine-{name}.toml")
            path.write_text(tomli_w.dumps(raw))
            with quiet():
                current, done = reconfigure.apply(current, config_module.load(path), path)
            switches[name].append(done.seconds)
            say(f"bench {i}/{repeat}: switched to {name} in {done.seconds:.1f} s")
    matrix_id = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-bench-matrix"
    say(f"bench: nox -s matrix over {len(names)} engines, "
          f"{', '.join(scenarios) or 'every scenario'} ({matrix_id})")
    subprocess.run([sys.executable, "-m", "lab", "--config", str(config_path), "matrix",
                    "--engines", ",".join(names), "--run-id", matrix_id,
                    *(arg for name in scenarios for arg in ("-k", name))],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=False)
    record = json.loads((REPORTS / matrix_id / "matrix.json").read_text())
    campaigns = {}
    for run in record["runs"]:
        results = REPORTS / (run["run_id"] or "-") / "results.json"
        if results.exists():
            data = json.loads(results.read_text())
            started, updated = (time.mktime(time.strptime(data[k], "%Y-%m-%dT%H:%M:%SZ"))
                                for k in ("started", "updated"))
            campaigns[run["engine"]] = {
                "run": run["run_id"], "seconds": updated - started,
                "scenarios": len(data["scenarios"]), "complete": data["complete"],
                # What each scenario cost (reset to settled included), its status beside.
                "scenario_s": {s["scenario"]: {"seconds": s["seconds"], "status": s["status"]}
                               for s in data["scenarios"]}}
    return {
        "cold_image_s": cold,
        "switch_s": {name: {"runs": values, "median": median(values)}
                     for name, values in switches.items()},
        "switch_target_s": 60.0,
        "campaign_s": campaigns,
        "campaign_scenarios": scenarios or "all",
        "matrix": matrix_id,
    }


def _print_matrix(m: dict) -> None:
    say(f"{'engine':<12} {'cold image':>10} {'warm switch':>12} {'campaign':>10}  slowest "
        "scenario")
    for name, switch in m["switch_s"].items():
        cold = m["cold_image_s"].get(name)
        campaign = m["campaign_s"].get(name, {})
        each = campaign.get("scenario_s") or {}
        slowest = max(each, key=lambda s: each[s]["seconds"], default=None)
        say(f"{name:<12} {cold or 0:>9.0f}s {switch['median'] or 0:>11.1f}s "
            f"{campaign.get('seconds') or 0:>9.0f}s  "
            + (f"{slowest} {each[slowest]['seconds']:.0f} s" if slowest else "-"))


register(Measurement("matrix", "cold images, warm engine switches, a campaign per engine",
                     lambda args, path, previous: _measure_matrix(
                         bench_lab(path), path, args.repeat, args.skip_cold,
                         [s for s in args.scenarios.split(",") if s]),
                     _print_matrix))
