"""``nox -s bench``: the lab's lifecycle and its chaos numbers, into ``reports/bench.json``.

Measured on a lab of its own (``rhl-bench`` on 192.168.59.0/24), so a user's lab is left
alone. ``--what lifecycle`` (part of the default ``all``) repeats, in order:

* cold ``lab_up``: every lab image deleted first, so debootstrap runs again;
* idempotent re-run of ``lab_up`` on the healthy lab;
* ``lab_down``;
* warm ``lab_up``: images cached, machines destroyed;
* ``lab_down``;
* bare ``lab_up``: the same lab on bare machines (``[machines] image = "bare"``, its
  machine image built beforehand, untimed): the engine installed over SSH on each
  machine, beside the warm ``lab_up`` of the same run; ``provision.engine`` is the
  install on the slowest machine;
* ``lab_down``.

``--what chaos`` brings the bench lab up with down-after 1000 ms and no restart policy
(a crashed master stays down, as in the native floor of docs/design.md, Facts) and measures:

* ``crash-master`` repeated: fault -> ``+switch-master`` and fault -> writes resumed
  through HAProxy, with where the time goes (+sdown, +odown, +switch-master, the new
  master UP in HAProxy, the first write), against the **floor** measured in the same run
  (:mod:`lab.chaos.floor`: the same kill on one native shard on loopback with the lab's
  settings and templates, the same workload and checkers), as lab / floor;
* the time to reset to settled after a fault (what Hypothesis pays between examples).

``--what hypothesis``: the search of issue 11's acceptance (``[slo] lost_writes = 0``,
profile ``ci``, seeds 1..N) on the default settings and with ``min_replicas_to_write =
1``: examples per minute, time to the first breach and to the end of shrinking, median
reset and example, where an example's time goes, the worst lost writes side by side
(the two searches' runs are under ``reports/`` for the comparison page).

``--what search`` (not part of ``all``: it takes hours at full size): the search's power
on planted weaknesses, per profile and seed, with the catalogue's sequences on and off
(:mod:`lab.bench_search`); ``--weaknesses``, ``--profiles``, ``--seeds``, ``--known``.
Cells measured by earlier runs stay in ``bench.json``.

``--what load``, side by side in one run through the same HAProxy port (5000):
``redis-benchmark`` (50 clients, SET) and Locust users at saturation (SET only, 50 users,
one process and two), plus redis-benchmark straight to the master for reference, and
Locust's CPU per 1000 ops/s; then the default ``nox -s load`` and how much of a core
Locust needed for it.

``--what workshop``: a lab with the default settings; ``happy-failover`` then
``zombie-master`` run with ``--auto`` while headless Chromium reads the live page every
20 ms: for every change of shard 1's masters in the history (a role change), how long
until the page showed it (median and max); the reset between the two exercises; then the
layout overlay (article -> spread -> article) and a live overlay (min_replicas_to_write)
applied on the warm lab. Each ``--repeat`` times.

``--what matrix``: per engine (:mod:`lab.engines`), the cold build of its image (the
cached image and tarball deleted first; ``--skip-cold`` keeps them); then a warm lab
switched from engine to engine in a cycle, each switch timed to settled (``--repeat``
cycles); then ``nox -s matrix`` over every engine with every named scenario (no
Hypothesis; ``--scenarios A,B`` for some), the wall time of each engine's campaign from
its run record.

``--what routes``: on the bench lab, the same paced Locust load (20 users x 50 calls/s,
half reads, 20 s) through each route (:mod:`lab.routes`), the routes interleaved within
each repetition: throughput and p99 latency of writes and reads side by side; then the
check traffic the Sentinel-checked HAProxy adds on the Sentinels: commands and
connections per second each Sentinel serves on the idle lab, with the hardened HAProxy and
with ``[haproxy] checked_first_port = 0`` (the same lab re-provisioned without it).

``--what campaign``: the whole catalogue on the default settings, ``--repeat`` times:
per scenario its wall time, where it goes (phases) and its floor (hold + Redis's own
convergence, :mod:`lab.bench_campaign`).

``--what report`` (no lab needed) takes the largest finished chaos run under ``reports/``
and measures, on a copy: building its page from raw data, the page's size, and opening it
in headless Chromium (load, draw every chart, answer the checks).

The JSON keeps every run with its per-step breakdown, the medians, and the targets
beside them. Targets are reported, not asserted: these machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lab import down, images, up
from lab.bench_numbers import median, median_per_key
from lab.chaos import history
from lab.chaos.stateful import PROFILES
from lab.context import Lab
from lab.errors import LabError
from lab.paths import REPORTS
from lab.progress import quiet, show_progress
from lab.runs import new_run_dir

SCHEMA = 1  # of reports/bench.json (BenchRecord)
log = logging.getLogger("bench")


def say(text: str = "") -> None:
    """A line of the bench's own output (what it measured), through logging."""
    log.info(text)


TARGETS_S = {"cold_up": 240, "warm_up": 60, "rerun_up": 15, "down": 15, "bare_up": 180}
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
    parser = argparse.ArgumentParser(prog="redis-ha-lab bench",
                                     description=__doc__.split("\n")[0])
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
                _down(Lab.load(config_path, prefer_applied=True))
    record.write(args.output)
    say(f"bench: wrote {args.output}")
    return 0


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


def _bench_lab(config_path: Path, settings: str = BENCH_LAB) -> Lab:
    config_path.write_text(settings)
    return Lab.load(config_path)


def _lifecycle(args, config_path, previous) -> dict:
    return _summarize(_measure(_bench_lab(config_path), config_path, args.repeat,
                               args.skip_cold))


def _campaign(args, config_path, previous) -> dict:
    from lab import bench_campaign
    from lab.report.command import publish

    return bench_campaign.measure_campaign(BENCH_LAB, config_path, args.repeat, _up, publish)


def _show_campaign(result: dict) -> None:
    from lab import bench_campaign

    bench_campaign.print_campaign(result)


def _search(args, config_path, previous) -> dict:
    from lab import bench_search
    from lab.report.command import publish

    weaknesses = [w for w in args.weaknesses.split(",") if w]
    unknown = sorted(set(weaknesses) - set(bench_search.WEAKNESSES))
    profiles = [p for p in args.profiles.split(",") if p]
    if unknown:
        raise LabError(f"--weaknesses: unknown {', '.join(unknown)}; known: "
                       f"{', '.join(bench_search.WEAKNESSES)}")
    if not profiles or not set(profiles) <= set(PROFILES):
        raise LabError(f"--profiles {args.profiles!r}: a comma-separated list "
                       f"of {', '.join(PROFILES)}")
    if args.seeds < 1:
        raise LabError("--seeds must be at least 1")
    measured = bench_search.measure_search(
        BENCH_LAB, config_path, weaknesses, profiles, args.seeds,
        {"on": [True], "off": [False], "both": [True, False]}[args.known], _up, publish)
    # Cells measured in earlier runs stay (one table, filled in parts).
    merged = dict(previous or {})
    for weakness, cells in measured.items():
        merged[weakness] = {**merged.get(weakness, {}), **cells} \
            if isinstance(cells, dict) and weakness != "targets" else cells
    return merged


def _show_search(result: dict) -> None:
    from lab import bench_search

    bench_search.print_search(result)


@dataclass
class BenchRecord:
    """``reports/bench.json``: each measurement's result under its name, and the schema
    version. A file from before the schema (the results at its top level) is read as
    schema 1."""

    measurements: dict[str, dict] = field(default_factory=dict)
    schema: int = SCHEMA

    @classmethod
    def read(cls, path: Path) -> BenchRecord:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        if "schema" not in data:
            return cls(dict(data))
        if data["schema"] > SCHEMA:
            raise LabError(f"{path}: bench record schema {data['schema']} is newer than this "
                           f"code's ({SCHEMA}); write to another --output")
        return cls(dict(data["measurements"]), data["schema"])

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"schema": self.schema, "measurements": self.measurements},
                                   indent=2) + "\n")


def _measure_report(repeat: int) -> dict:
    """Build and open the page of the largest finished chaos run, on a copy of it."""
    from lab.report import build_run, command, rundata

    runs = [p.parent for p in REPORTS.glob("*-chaos/results.json")
            if rundata.read_results(p.parent).complete]
    if not runs:
        raise LabError("no finished chaos run under reports/ to measure; run `nox -s chaos`")
    source = max(runs, key=lambda d: sum(f.stat().st_size for f in d.glob("*.jsonl")))
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / source.name
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("index.html", "*.png"))
        build_s, open_s = [], []
        for _ in range(repeat):
            started = time.monotonic()
            page = build_run(copy)
            build_s.append(round(time.monotonic() - started, 3))
            started = time.monotonic()
            problems, _ = command.verify(page)
            open_s.append(round(time.monotonic() - started, 2))
            if problems:
                raise LabError(f"the measured page has problems: {problems}")
        return {
            "run": source.name,
            "scenarios": len(rundata.read_results(copy).scenarios),
            "history_mb": round(sum(f.stat().st_size for f in copy.glob("*.jsonl")) / 1e6, 2),
            "page_mb": round(page.stat().st_size / 1e6, 2),
            "build_s": build_s, "median_build_s": statistics.median(build_s),
            "chromium_open_s": open_s, "median_chromium_open_s": statistics.median(open_s),
        }


def _measure_chaos(lab: Lab, config_path: Path, repeat: int) -> dict:
    """crash-master on the lab against the same kill on a native shard (the floor),
    side by side in this run; and the reset time between Hypothesis examples."""
    from lab.chaos import checkers, faults, floor
    from lab.chaos.runner import ChaosSession, run_scenario
    from lab.chaos.scenarios import load_all

    say("bench: chaos lab up (down-after 1000 ms, no restart policy)")
    _up(lab, config_path)
    run_id, run_dir = new_run_dir("bench")
    session = ChaosSession(lab, run_dir, run_id)
    crash = load_all()["crash-master"]
    failover, resumed, resets, lab_phases = [], [], [], []
    try:
        for i in range(1, repeat + 1):
            say(f"bench {i}/{repeat}: crash-master on the lab")
            with quiet():
                result = run_scenario(session, crash)
            m = result.target
            failover.append(m.failover_s)
            resumed.append(m.writes_resumed_s)
            events = history.read(run_dir / result.history)
            at = next(e["t"] for e in events if e["type"] == "fault" and e["phase"] == "inject")
            lab_phases.append(checkers.failover_phases(
                events, at, lab.topology.shard(crash.target_shard).master_backend))
            say(f"bench {i}/{repeat}: reset to settled after a paused master")
            fault = faults.inject(session.nemesis, "pause-master", shard=2)
            time.sleep(3)
            session.nemesis.heal(fault)
            resets.append(round(session.reset(), 2))
    finally:
        session.close()  # heals everything first
    floor_runs = []
    missing = floor.available()
    if missing:
        say(f"bench: floor skipped: {missing}")
    else:
        say(f"bench: the floor: the same kill on a native shard on loopback, {repeat} times")
        with quiet():
            floor_runs = floor.measure(tomllib.loads(CHAOS_SETTINGS), repeat, run_dir)
    lab_resumed = median(resumed)
    floor_resumed = median([r.writes_resumed_s for r in floor_runs])
    return {
        "settings": {"down_after_ms": 1000, "restart": "no"},
        "crash_master": {
            "failover_s": failover, "writes_resumed_s": resumed,
            "median_failover_s": median(failover), "median_writes_resumed_s": lab_resumed,
            "phases_median_s": _median_phases(lab_phases),
        },
        "floor": {
            "skipped": missing or None,
            "writes_resumed_s": [r.writes_resumed_s for r in floor_runs],
            "median_writes_resumed_s": floor_resumed,
            "median_failover_s": median([r.failover_s for r in floor_runs]),
            "phases_median_s": _median_phases([r.phases for r in floor_runs]),
        },
        "lab_over_floor": round(lab_resumed / floor_resumed, 3)
        if lab_resumed and floor_resumed else None,
        "gap_s": round(lab_resumed - floor_resumed, 3)
        if lab_resumed and floor_resumed else None,
        "target_gap_s": 0.3,
        "reset_s": {"runs": resets, "median": median(resets), "target": 10.0},
        "run": run_id,
    }


def _measure_workshop(lab: Lab, config_path: Path, repeat: int) -> dict:
    """The live page's delay behind the history, the reset between exercises, and
    overlays applied on a warm lab."""
    import socket

    import tomli_w

    from lab import config as config_module
    from lab import reconfigure
    from lab.report import browser

    say("bench: workshop lab up")
    _up(lab, config_path)
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


def _measure_matrix(lab: Lab, config_path: Path, repeat: int, skip_cold: bool,
                    scenarios: list[str]) -> dict:
    """Cold image per engine, warm switches between engines, the campaign per engine."""
    import tomli_w

    from lab import config as config_module
    from lab import engines, images, reconfigure

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
    _up(lab, config_path)
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
            campaigns[run["engine"]] = {"run": run["run_id"], "seconds": updated - started,
                                        "scenarios": len(data["scenarios"]),
                                        "complete": data["complete"]}
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
    say(f"{'engine':<12} {'cold image':>10} {'warm switch':>12} {'campaign':>10}")
    for name, switch in m["switch_s"].items():
        cold = m["cold_image_s"].get(name)
        campaign = m["campaign_s"].get(name, {}).get("seconds")
        say(f"{name:<12} {cold or 0:>9.0f}s {switch['median'] or 0:>11.1f}s "
              f"{campaign or 0:>9.0f}s")


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


def _median_phases(runs: list[dict[str, float]]) -> dict[str, float]:
    names = [k for k in ("sdown", "odown", "switch_master", "haproxy_up", "first_write")
             if any(k in r for r in runs)]
    return {k: median([r.get(k) for r in runs]) for k in names}


def _measure_hypothesis(config_path: Path, repeat: int) -> dict:
    """The acceptance search ([slo] lost_writes = 0, profile ci, fixed seeds) on the
    default settings and with min_replicas_to_write = 1, each run ``repeat`` times."""
    from lab.chaos import campaign
    from lab.chaos.record import RunRecord
    from lab.config import SloSettings
    from lab.report.command import publish

    slo = SloSettings(thresholds=(("lost_writes", 0),))
    found: dict[str, dict] = {}
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    for label, extra in (("default", ""),
                         ("min_replicas_to_write_1", "[redis]\nmin_replicas_to_write = 1\n")):
        config_path.write_text(BENCH_LAB + extra)
        lab = Lab.load(config_path)
        say(f"bench: hypothesis lab up ({label})")
        _up(lab, config_path)
        runs = []
        for i in range(1, repeat + 1):
            run_id = f"{stamp}-bench-hypothesis-{label}-{i}"
            say(f"bench {i}/{repeat}: ci profile, seed {i}, [slo] lost_writes = 0 ({label})")
            with quiet():
                campaign.run(lab, campaign.CampaignOptions(
                    profile="ci", seed=i, scenarios=False, run_id=run_id, slo=slo),
                    publish=publish)
            runs.append(_search_numbers(RunRecord.read(REPORTS / run_id / "results.json"),
                                        REPORTS / run_id))
        found[label] = _summarize_searches(runs)
    default, bounded = found["default"], found["min_replicas_to_write_1"]
    found["worst_lost_writes_side_by_side"] = {
        "default": default["median_worst_lost_writes"],
        "min_replicas_to_write_1": bounded["median_worst_lost_writes"]}
    found["targets"] = {"examples_per_minute": 4, "first_breach_s": 180}
    return found


def _search_numbers(record, run_dir: Path) -> dict:
    """One search: its pace, and where an example's time goes (from its history)."""
    h = record.hypothesis
    breaches = [e for e in h.examples if e["status"] != "pass"]
    started = h.examples[0]["started"] - h.reset_s[0] if h.examples else 0
    first_breach = round(breaches[0]["started"] + breaches[0]["seconds"] - started, 1) \
        if breaches else None
    faulted = [e for e in h.examples if any(s["rule"] == "inject" for s in e["steps"])]
    parts = [_example_parts(run_dir / e["history"], e) for e in faulted]
    return {
        "run": record.run_id, "status": str(h.status), "examples": len(h.examples),
        "seconds": h.seconds,
        "examples_per_minute": round(len(h.examples) / (h.seconds / 60), 2) if h.seconds else 0,
        "first_breach_s": first_breach, "end_of_shrinking_s": h.seconds,
        "minimal_steps": h.failure["steps"] if h.failure else None,
        "median_reset_s": median(h.reset_s),
        "median_example_s": median([e["seconds"] for e in h.examples]),
        "examples_with_a_fault": len(faulted),
        "median_example_with_a_fault_s": median([e["seconds"] for e in faulted]),
        "worst": {k: v for k, (v, _) in h.worst().items()},
        "example_parts_median_s": {k: median([p.get(k) for p in parts])
                                   for k in ("warmup_and_steps", "convergence", "read_back")},
    }


def _example_parts(path: Path, example: dict) -> dict:
    """An example with a fault, from its history: from the start to the last heal
    (warm-up and the steps), from there to the convergence record (the lab settling
    again), and to the read-back's end (datasets compared, keys read back)."""
    events = history.read(path) if path.is_file() else []
    if not events:
        return {}
    start = events[0]["t"]
    heals = [e["t"] for e in events if e["type"] == "fault" and e.get("phase") == "heal"]
    converged = [e["t"] for e in events if e["type"] == "convergence"]
    readback = [e["t"] for e in events if e["type"] == "readback"]
    last_step = max(heals, default=converged[0] if converged else start)
    parts = {"warmup_and_steps": round(last_step - start, 2)}
    if converged:
        parts["convergence"] = round(converged[-1] - last_step, 2)
    if converged and readback:
        parts["read_back"] = round(max(readback) - converged[-1], 2)
    return parts


def _summarize_searches(runs: list[dict]) -> dict:
    return {
        "runs": runs,
        "median_examples_per_minute": median([r["examples_per_minute"] for r in runs]),
        "median_first_breach_s": median([r["first_breach_s"] for r in runs]),
        "median_end_of_shrinking_s": median([r["end_of_shrinking_s"] for r in runs]),
        "median_reset_s": median([r["median_reset_s"] for r in runs]),
        "median_example_s": median([r["median_example_s"] for r in runs]),
        "median_example_with_a_fault_s": median([r["median_example_with_a_fault_s"]
                                                  for r in runs]),
        "median_worst_lost_writes": median([r["worst"].get("lost_writes") for r in runs]),
        "example_parts_median_s": _median_phases_of(
            [r["example_parts_median_s"] for r in runs]),
    }


def _median_phases_of(runs: list[dict]) -> dict:
    return median_per_key(runs, sorted({k for r in runs for k in r}))


def _measure_load(lab: Lab, config_path: Path) -> dict:
    from lab.load import LoadOptions, LoadProcess, summary

    say("bench: load lab up")
    _up(lab, config_path)
    address = lab.config.servers[0].address
    port = lab.config.haproxy.first_port
    master = lab.topology.shard(1).initial_master.port
    run_id, run_dir = new_run_dir("bench-load")
    result: dict = {"run": run_id, "port": port}
    for label, target in (("redis_benchmark_haproxy", port), ("redis_benchmark_direct", master)):
        say(f"bench: redis-benchmark -c 50 SET -> {address}:{target}")
        result[label] = _redis_benchmark(address, target, lab.secrets.redis_password)

    for processes in (1, 2):
        say(f"bench: Locust at saturation, 50 users, {processes} process(es), SET -> :{port}")
        options = LoadOptions(users=50, spawn_rate=50, run_time="20s", processes=processes,
                              read_ratio=0.0, shards=1, rate=0)
        locust = LoadProcess(lab, options, run_dir / f"saturation-{processes}p")
        locust.start()
        locust.wait(timeout=120)
        ops = sum(float(r["Requests/s"]) for r in summary(locust.out_dir))
        cpu = locust.cpu_seconds()
        result[f"locust_{processes}p"] = {
            "ops_per_s": round(ops), "cpu_s": cpu, "duration_s": 20,
            "cpu_cores_per_1000_ops_s": round(cpu / 20 / (ops / 1000), 3) if ops else None,
        }
    best = max(result["locust_1p"]["ops_per_s"], result["locust_2p"]["ops_per_s"])
    rb = result["redis_benchmark_haproxy"]["ops_per_s"]
    result["ratio_locust_to_redis_benchmark"] = round(best / rb, 3) if rb else None
    result["target_ratio"] = 0.25

    say("bench: default nox -s load (20 users, 1 process, 30 s)")
    locust = LoadProcess(lab, LoadOptions(), run_dir / "default")
    locust.start()
    locust.wait(timeout=120)
    ops = sum(float(r["Requests/s"]) for r in summary(locust.out_dir))
    cpu = locust.cpu_seconds()
    result["default_load"] = {"ops_per_s": round(ops), "cpu_s": cpu, "duration_s": 30,
                              "locust_cores_used": round(cpu / 30, 2)}
    _down(lab)
    return result


ROUTE_LOAD = {"users": 20, "spawn_rate": 20.0, "run_time": "20s", "rate": 50.0,
              "read_ratio": 0.5}


def _measure_routes(lab: Lab, config_path: Path, repeat: int) -> dict:
    from lab.load import LoadOptions, LoadProcess
    from lab.routes import ROUTES

    say("bench: routes lab up")
    _up(lab, config_path)
    run_id, run_dir = new_run_dir("bench-routes")
    samples: dict[str, list[dict]] = {route: [] for route in ROUTES}
    for i in range(1, repeat + 1):
        for route in ROUTES:  # interleaved: drift on the machine hits every route alike
            say(f"bench: routes {i}/{repeat}: Locust {ROUTE_LOAD['users']} users x "
                  f"{ROUTE_LOAD['rate']:g}/s through {route}")
            locust = LoadProcess(lab, LoadOptions(**ROUTE_LOAD, route=route),
                                 run_dir / f"{route}-{i}")
            locust.start()
            locust.wait(timeout=120)
            samples[route].append(_locust_totals(locust.out_dir))
    result: dict = {"run": run_id, "load": ROUTE_LOAD, "runs": samples, "median": {
        route: {key: median([s[key] for s in runs]) for key in runs[0]}
        for route, runs in samples.items()}}
    say("bench: Sentinel traffic on the idle lab, with the Sentinel-checked HAProxy")
    with_checks = _sentinel_traffic(lab)
    plain_path = config_path.with_name("lab-plain.toml")
    plain_path.write_text(config_path.read_text() + "\n[haproxy]\nchecked_first_port = 0\n")
    plain = Lab.load(plain_path)
    say("bench: ... and without it (HAProxy re-provisioned)")
    _up(plain, plain_path)
    without = _sentinel_traffic(plain)
    result["sentinel_traffic"] = {
        "with_checks": with_checks, "without_checks": without,
        "added_commands_per_s_per_sentinel": round(
            with_checks["commands_per_s_per_sentinel"] -
            without["commands_per_s_per_sentinel"], 1),
        "added_connections_per_s_per_sentinel": round(
            with_checks["connections_per_s_per_sentinel"] -
            without["connections_per_s_per_sentinel"], 1)}
    _down(plain)
    return result


def _locust_totals(out_dir: Path) -> dict:
    """Writes and reads: requests/s and p99 (ms), failures, from Locust's CSV."""
    import csv

    with (out_dir / "locust_stats.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["Name"] != "Aggregated"]
    totals = {}
    for op, label in (("SET", "write"), ("GET", "read")):
        mine = [r for r in rows if r["Name"].startswith(op)]
        count = sum(int(r["Request Count"]) for r in mine)
        totals[f"{label}_per_s"] = round(sum(float(r["Requests/s"]) for r in mine), 1)
        # p99 over the shards: the worst shard's (Locust keeps no merged histogram per op).
        totals[f"{label}_p99_ms"] = max((float(r["99%"]) for r in mine), default=None)
        totals[f"{label}_failures"] = sum(int(r["Failure Count"]) for r in mine)
        totals[f"{label}_count"] = count
    return totals


def _sentinel_traffic(lab: Lab, seconds: float = 10.0) -> dict:
    """Commands and connections per second each Sentinel served over ``seconds`` idle."""
    from lab.probe import client

    def counters() -> list[tuple[int, int]]:
        found = []
        for sentinel in lab.topology.sentinels:
            with client(*sentinel.address) as r:
                stats = r.info("stats")
                found.append((int(stats["total_commands_processed"]),
                              int(stats["total_connections_received"])))
        return found

    before = counters()
    time.sleep(seconds)
    after = counters()
    n = len(before)
    return {
        "seconds": seconds, "sentinels": n,
        "commands_per_s_per_sentinel": round(
            sum(a[0] - b[0] for a, b in zip(after, before, strict=True)) / seconds / n, 1),
        "connections_per_s_per_sentinel": round(
            sum(a[1] - b[1] for a, b in zip(after, before, strict=True)) / seconds / n, 1),
    }


def _print_routes(r: dict) -> None:
    say(f"routes at {r['load']['users']} users x {r['load']['rate']:g}/s (medians):")
    for route, m in r["median"].items():
        say(f"  {route:<17} writes {m['write_per_s']}/s p99 {m['write_p99_ms']} ms, "
              f"reads {m['read_per_s']}/s p99 {m['read_p99_ms']} ms, failures "
              f"{m['write_failures']}+{m['read_failures']}")
    t = r["sentinel_traffic"]
    say(f"  Sentinel-checked HAProxy adds {t['added_commands_per_s_per_sentinel']} commands/s "
          f"and {t['added_connections_per_s_per_sentinel']} connections/s per Sentinel "
          f"(with {t['with_checks']['commands_per_s_per_sentinel']}, without "
          f"{t['without_checks']['commands_per_s_per_sentinel']})")


def _redis_benchmark(host: str, port: int, password: str) -> dict:
    out = subprocess.run(
        ["redis-benchmark", "-h", host, "-p", str(port), "-a", password, "-c", "50",
         "-n", "200000", "-t", "set", "-q"],
        capture_output=True, text=True, timeout=300,
    ).stdout.replace("\r", "\n")
    match = re.findall(r"SET: ([\d.]+) requests per second", out)
    return {"ops_per_s": round(float(match[-1])) if match else None}


def _print_load(load: dict) -> None:
    say(f"redis-benchmark SET through :{load['port']}: "
          f"{load['redis_benchmark_haproxy']['ops_per_s']}/s "
          f"(direct {load['redis_benchmark_direct']['ops_per_s']}/s)")
    for p in (1, 2):
        lp = load[f"locust_{p}p"]
        say(f"Locust {p} process(es): {lp['ops_per_s']}/s, "
              f"{lp['cpu_cores_per_1000_ops_s']} cores per 1000 ops/s")
    say(f"ratio Locust / redis-benchmark: {load['ratio_locust_to_redis_benchmark']} "
          f"(target >= {load['target_ratio']})")
    d = load["default_load"]
    say(f"default load: {d['ops_per_s']}/s using {d['locust_cores_used']} cores of Locust")


def _print_chaos(chaos: dict) -> None:
    c, f = chaos["crash_master"], chaos["floor"]
    say(f"crash-master (down-after 1000 ms): writes resumed median lab "
          f"{c['median_writes_resumed_s']} s, floor {f['median_writes_resumed_s']} s "
          f"(measured in this run), lab/floor {chaos['lab_over_floor']}, gap "
          f"{chaos['gap_s']} s (target < {chaos['target_gap_s']} s)")
    say(f"  where the time goes (median s from the kill): lab {c['phases_median_s']}")
    say(f"                                               floor {f['phases_median_s']}")
    say(f"reset to settled: median {chaos['reset_s']['median']} s (target < 10 s)")


def _print_hypothesis(h: dict) -> None:
    for label in ("default", "min_replicas_to_write_1"):
        s = h[label]
        say(f"hypothesis ({label}): {s['median_examples_per_minute']} examples/min, "
              f"first breach {s['median_first_breach_s']} s, shrinking done "
              f"{s['median_end_of_shrinking_s']} s, example {s['median_example_s']} s, with a "
              f"fault {s['median_example_with_a_fault_s']} s (reset {s['median_reset_s']} s; "
              f"{s['example_parts_median_s']}), worst lost writes "
              f"{s['median_worst_lost_writes']}")


def _measure(lab: Lab, config_path: Path, repeat: int, skip_cold: bool) -> dict[str, list]:
    runs: dict[str, list] = {name: [] for name in TARGETS_S}
    _down(lab)
    for i in range(1, repeat + 1):
        if not skip_cold:
            say(f"bench {i}/{repeat}: cold lab_up")
            _down(lab, remove_images=True)
            runs["cold_up"].append(_up(lab, config_path))
        else:
            _up(lab, config_path)
        say(f"bench {i}/{repeat}: idempotent re-run")
        runs["rerun_up"].append(_up(lab, config_path))
        say(f"bench {i}/{repeat}: lab_down")
        runs["down"].append({"total": _down(lab)})
        say(f"bench {i}/{repeat}: warm lab_up")
        runs["warm_up"].append(_up(lab, config_path))
        runs["down"].append({"total": _down(lab)})
        say(f"bench {i}/{repeat}: bare lab_up (the engine installed on each machine)")
        bare_path = config_path.with_name("bare.toml")
        bare_path.write_text(config_path.read_text().replace(
            "[machines]\n", '[machines]\nimage = "bare"\n', 1))
        bare = Lab.load(bare_path)
        with quiet():
            images.ensure(bare.recipes()[1:], bare.paths)  # its image: not what is measured
        runs["bare_up"].append(_up(bare, bare_path))
        runs["down"].append({"total": _down(bare)})
    return runs


def _down(lab: Lab, remove_images: bool = False) -> float:
    with quiet():
        seconds = down.run(lab, remove_images=remove_images)
    say(f"  lab_down: done in {seconds:.1f} s")
    return seconds


def _up(lab: Lab, config_path: Path) -> dict:
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



# What the bench measures, in the order `--what all` runs them.
MEASUREMENTS = {m.name: m for m in (
    Measurement("lifecycle", "cold, warm and re-run lab_up, bare machines, lab_down",
                _lifecycle, _show_lifecycle),
    Measurement("load", "redis-benchmark and Locust through HAProxy, side by side",
                lambda args, path, previous: _measure_load(_bench_lab(path), path),
                _print_load),
    Measurement("chaos", "crash-master against the native floor; reset to settled",
                lambda args, path, previous: _measure_chaos(
                    _bench_lab(path, BENCH_LAB + CHAOS_SETTINGS), path, args.repeat),
                _print_chaos),
    Measurement("hypothesis", "the search's pace, default settings and min_replicas 1",
                lambda args, path, previous: _measure_hypothesis(path, args.repeat),
                _print_hypothesis),
    Measurement("workshop", "the live page behind each role change; overlays",
                lambda args, path, previous: _measure_workshop(_bench_lab(path), path,
                                                               args.repeat),
                _print_workshop),
    Measurement("matrix", "cold images, warm engine switches, a campaign per engine",
                lambda args, path, previous: _measure_matrix(
                    _bench_lab(path), path, args.repeat, args.skip_cold,
                    [s for s in args.scenarios.split(",") if s]),
                _print_matrix),
    Measurement("routes", "the three routes at the same Locust load; check traffic",
                lambda args, path, previous: _measure_routes(_bench_lab(path), path,
                                                             args.repeat),
                _print_routes),
    Measurement("campaign", "the catalogue serial and in lanes, per phase, against floors",
                _campaign, _show_campaign),
    Measurement("search", "the search's power on planted weaknesses (hours)", _search,
                _show_search, in_all=False),
    Measurement("report", "building and opening the largest run's page (no lab)",
                lambda args, path, previous: _measure_report(args.repeat),
                lambda result: say(f"report: {result}")),
)}


if __name__ == "__main__":
    sys.exit(main())
