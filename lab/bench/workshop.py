"""``--what workshop``: a lab with the default settings; ``happy-failover`` then
``zombie-master`` run with ``--auto`` while headless Chromium reads the live page every
20 ms: for every change of shard 1's masters in the history (a role change), how long
until the page showed it (median and max); the reset between the two exercises; then the
layout overlay (article -> spread -> article) and a live overlay (min_replicas_to_write)
applied on the warm lab. Each ``--repeat`` times.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from lab.bench.base import Measurement, bench_lab, lab_up, register, say
from lab.bench.numbers import median
from lab.chaos import history
from lab.context import Lab
from lab.paths import REPORTS
from lab.progress import quiet


def _measure_workshop(lab: Lab, config_path: Path, repeat: int) -> dict:
    """The live page's delay behind the history, the reset between exercises, and
    overlays applied on a warm lab."""
    import socket

    import tomli_w

    from lab import config as config_module
    from lab import reconfigure
    from lab.report import browser

    say("bench: workshop lab up")
    lab_up(lab, config_path)
    delays, resets, runs = [], [], []
    for i in range(1, repeat + 1):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        run_id = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-bench-workshop-{i}"
        say(f"bench {i}/{repeat}: happy-failover, zombie-master (--auto), the page watched")
        process = subprocess.Popen(
            [sys.executable, "-m", "lab", "--config", str(config_path), "workshop",
             "happy-failover", "zombie-master", "--auto", "--live-port", str(port),
             "--run-id", run_id], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT)
        try:
            changes = browser.watch_text(f"http://127.0.0.1:{port}/", "#shard-1-master",
                                         until=lambda p=process: p.poll() is not None,
                                         bound_s=900, interval_s=0.02, ready_s=120)
        finally:
            process.wait(timeout=300)
        run_dir = REPORTS / run_id
        record = json.loads((run_dir / "results.json").read_text())
        run_delays = []
        for scenario in record["scenarios"]:
            events = history.read(run_dir / scenario["history"])
            run_delays += page_delays(lab.topology, events, 1, changes)
        delays += run_delays
        resets.append(record["scenarios"][1]["reset_s"])
        runs.append({"run": run_id, "page_delays_s": run_delays,
                     "reset_between_exercises_s": record["scenarios"][1]["reset_s"],
                     "page_changes": changes})  # (epoch s, shard 1's masters as shown)
    overlays: dict[str, list[float]] = {"layout_to_spread": [], "layout_to_article": [],
                                        "live_min_replicas_to_write": []}
    base = tomllib.loads(config_path.read_text())
    steps = (("layout_to_spread", {"lab": {"layout": "spread"}}), ("layout_to_article", {}),
             ("live_min_replicas_to_write", {"redis": {"min_replicas_to_write": 1}}),
             (None, {}))
    current = lab
    for i in range(1, repeat + 1):
        for name, overlay in steps:
            say(f"bench {i}/{repeat}: overlay {name or 'restored'}")
            raw = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
            for section, values in overlay.items():
                raw.setdefault(section, {}).update(values)
            path = config_path.with_name(f"overlay-{name or 'base'}.toml")
            path.write_text(tomli_w.dumps(raw))
            with quiet():
                current, done = reconfigure.apply(current, config_module.load(path), path)
            if name:
                overlays[name].append(done.seconds)
    return {
        "page_delay_s": {"median": median(delays), "max": max(delays) if delays else None,
                         "samples": len(delays), "target": 1.0},
        "reset_between_exercises_s": {"runs": resets, "median": median(resets),
                                      "target": 10.0},
        "overlay_s": {name: {"runs": values, "median": median(values)}
                      for name, values in overlays.items()},
        "overlay_target_s": 60.0,
        "runs": runs,
    }


def page_delays(topology, events: list[dict], shard: int,
                changes: list[tuple[float, str]]) -> list[float]:
    """For every change of ``shard``'s masters in ``events`` from the first fault on (a
    role change), the delay until the page (``changes``: when it showed which text)
    showed the new text. The text comes from the page's own state (:class:`LiveState`).
    Changes before the fault are the observers' first readings, which the page, drawn
    already, does not show one by one."""
    from lab.workshop.live import LiveState

    fault_at = next((e["t"] for e in events
                     if e["type"] == "fault" and e.get("phase") == "inject"), None)
    if fault_at is None:
        return []
    live = LiveState(topology)
    expected, last = [], None
    for e in events:
        if e["type"] != "role":
            continue
        live.feed(e)
        masters = live.snapshot(now=e["t"])["shards"][shard - 1]["masters"]
        text = " + ".join(masters) if masters else "no master"
        if text != last and e["t"] >= fault_at:
            expected.append((e["t"], text))
        last = text
    delays = []
    for t, text in expected:
        shown = next((tp for tp, page in changes if page == text and tp >= t), None)
        if shown is not None:
            delays.append(round(shown - t, 3))
    return delays


def _print_workshop(w: dict) -> None:
    d = w["page_delay_s"]
    say(f"workshop: page behind the history: median {d['median']} s, max {d['max']} s "
          f"over {d['samples']} role changes (target < 1 s); reset between exercises median "
          f"{w['reset_between_exercises_s']['median']} s (target < 10 s)")
    say("workshop: overlays on a warm lab, median s: "
          + ", ".join(f"{k} {v['median']}" for k, v in w["overlay_s"].items())
          + " (target < 60 s)")


register(Measurement("workshop", "the live page behind each role change; overlays",
                     lambda args, path, previous: _measure_workshop(bench_lab(path), path,
                                                                    args.repeat),
                     _print_workshop))
