"""``nox -s bench -- --what campaign``: where a campaign's time goes, against its floor.

On the bench lab with the default settings, the whole catalogue runs ``--repeat`` times
(scenarios only, no search, no load). Per scenario, the median of its wall time and of
each phase (:mod:`lab.chaos.phases`), and its **floor**: what no scheduler or faster
polling could save, i.e. the faults' own hold, plus, when the shard failed over, what a
native shard needs once its old master is back until it has settled again (measured in
the same run on the loopback floor shard of :mod:`lab.chaos.floor`, with the same
settings). ``ratio`` = wall time / floor; the campaign's wall time is beside the sum of
floors. Nothing is asserted: these machines are noisy; the README's table is this JSON.
"""

from __future__ import annotations

import time
from pathlib import Path

from lab.bench_numbers import median, median_per_key
from lab.chaos import campaign, floor
from lab.chaos.record import RunRecord, ScenarioResult
from lab.context import Lab
from lab.paths import REPORTS
from lab.progress import quiet

__all__ = ["measure_campaign", "print_campaign", "scenario_floor_s"]


def measure_campaign(base_lab: str, config_path: Path, repeat: int, up, publish) -> dict:
    """The catalogue ``repeat`` times on a lab with ``base_lab``'s settings, then the
    floor shard ``repeat`` times; ``up(lab, path)`` brings the lab up."""
    config_path.write_text(base_lab)
    lab = Lab.load(config_path)
    print("bench: campaign lab up (default settings)")
    up(lab, config_path)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    runs = []
    for i in range(1, repeat + 1):
        run_id = f"{stamp}-bench-campaign-{i}"
        print(f"bench {i}/{repeat}: the catalogue, serially")
        started = time.monotonic()
        with quiet():
            campaign.run(lab, [], profile=None, publish=publish, run_id=run_id)
        wall = round(time.monotonic() - started, 1)
        record = RunRecord.read(REPORTS / run_id / "results.json")
        runs.append({"run": run_id, "wall_s": wall, "phases_s": record.phases(),
                     "scenarios": {s.label: _scenario_numbers(s) for s in record.scenarios}})
        print(f"  campaign: {wall:.0f} s; {_phase_line(record.phases())}")
    native = _floor(repeat)
    return _summarize(runs, native)


def scenario_floor_s(hold_s: float, failed_over: bool, native_convergence_s: float | None
                     ) -> float | None:
    """The faults' hold, plus Redis's own convergence after a failover (None: unknown)."""
    if not failed_over:
        return round(hold_s, 2)
    return None if native_convergence_s is None else round(hold_s + native_convergence_s, 2)


def _scenario_numbers(result: ScenarioResult) -> dict:
    target = result.target
    return {"status": str(result.status), "seconds": result.seconds,
            "phases_s": result.phases,
            "failed_over": bool(target and target.failover_s is not None)}


def _floor(repeat: int) -> dict:
    missing = floor.available()
    if missing:
        print(f"bench: floor skipped: {missing}")
        return {"skipped": missing}
    print(f"bench: the floor shard (native, loopback, default settings), {repeat} times")
    with quiet():
        measured = floor.measure({}, repeat)
    return {"skipped": None,
            "writes_resumed_s": [r.writes_resumed_s for r in measured],
            "convergence_s": [r.convergence_s for r in measured],
            "median_writes_resumed_s": median([r.writes_resumed_s for r in measured]),
            "median_convergence_s": median([r.convergence_s for r in measured])}


def _summarize(runs: list[dict], native: dict) -> dict:
    convergence = native.get("median_convergence_s")
    names = list(runs[0]["scenarios"]) if runs else []
    scenarios = {}
    for name in names:
        measured = [r["scenarios"][name] for r in runs if name in r["scenarios"]]
        phases = median_per_key([m["phases_s"] for m in measured])
        seconds = median([m["seconds"] for m in measured])
        failed_over = any(m["failed_over"] for m in measured)
        floor_s = scenario_floor_s(phases.get("hold") or 0.0, failed_over, convergence)
        scenarios[name] = {
            "median_s": seconds, "phases_median_s": phases, "failed_over": failed_over,
            "floor_s": floor_s,
            "ratio": round(seconds / floor_s, 2) if seconds and floor_s else None}
    floors = [s["floor_s"] for s in scenarios.values()]
    wall = median([r["wall_s"] for r in runs])
    floor_total = round(sum(floors), 1) if floors and None not in floors else None
    return {
        "settings": "default lab.toml (bench lab)",
        "runs": runs,
        "median_wall_s": wall,
        "phases_median_s": median_per_key([r["phases_s"] for r in runs]),
        "floor": native,
        "sum_of_floors_s": floor_total,
        "wall_over_floors": round(wall / floor_total, 2) if wall and floor_total else None,
        "scenarios": scenarios,
        # Issue 23's scheduler (shard-local scenarios side by side) is not built yet:
        # there is no parallel column to put beside the serial one.
        "parallel": None,
    }


def print_campaign(c: dict) -> None:
    print(f"campaign (serial): median {c['median_wall_s']} s; sum of floors "
          f"{c['sum_of_floors_s']} s; wall / floors {c['wall_over_floors']}")
    print(f"  where the time goes (median s): {_phase_line(c['phases_median_s'])}")
    print(f"{'scenario':<34} {'median':>7} {'hold':>6} {'floor':>6} {'ratio':>6}")
    for name, s in c["scenarios"].items():
        hold = s["phases_median_s"].get("hold")
        print(f"{name:<34} {_s(s['median_s']):>7} {_s(hold):>6} {_s(s['floor_s']):>6} "
              f"{s['ratio'] or '-':>6}")


def _phase_line(phases: dict) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in phases.items() if v is not None)


def _s(value) -> str:
    return "-" if value is None else f"{value:g}"
