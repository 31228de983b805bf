"""``--what campaign``: where a campaign's time goes, against its floor.

On the bench lab with the default settings, the whole catalogue runs ``--repeat`` times
(scenarios only, no search, no load). Per scenario, the median of its wall time and of
each phase (:mod:`lab.chaos.phases`), and its **floor**: what no scheduler or faster
polling could save, i.e. the faults' own hold, plus, when the shard failed over, what a
native shard needs once its old master is back until it has settled again (measured in
the same run on the loopback floor shard of :mod:`lab.chaos.floor`, with the same
settings). ``ratio`` = wall time / floor; the campaign's wall time is beside the sum of
floors. Nothing is asserted: these machines are noisy; docs/first-run.md's table is this JSON.

Each repetition runs the catalogue twice, ``--serial`` and as :mod:`lab.chaos.schedule`
runs it (lanes at once), alternating which goes first, so that both meet the same noise.
The parallel campaign's wall time stands beside its *longest chain*: the longest lane plus
what runs alone (what no scheduler could overlap), both from the run's own scenario times.
:func:`equivalence` says, per scenario and measure, whether the parallel median lies
inside the serial min..max (issue 23's proof that lanes change no result).
"""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path

from lab.bench.base import Measurement, bench_lab, lab_up, register, say
from lab.bench.numbers import median, median_per_key
from lab.chaos import campaign, floor
from lab.chaos.record import RunRecord, ScenarioResult
from lab.context import Lab
from lab.paths import REPORTS
from lab.progress import quiet

__all__ = ["measure_campaign", "print_campaign", "scenario_floor_s"]



def measure_campaign(config_path: Path, repeat: int) -> dict:
    """The catalogue ``repeat`` times on the bench lab with the default settings, then the
    floor shard ``repeat`` times."""
    from lab.report.command import publish

    lab = bench_lab(config_path)
    say("bench: campaign lab up (default settings)")
    lab_up(lab, config_path)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    runs: dict[str, list[dict]] = {"serial": [], "parallel": []}
    for i in range(1, repeat + 1):
        modes = ("serial", "parallel") if i % 2 else ("parallel", "serial")
        for mode in modes:
            run_id = f"{stamp}-bench-campaign-{mode}-{i}"
            say(f"bench {i}/{repeat}: the catalogue, {mode}")
            runs[mode].append(_campaign(lab, run_id, mode == "serial", publish))
    native = _floor(repeat)
    summary = _summarize(runs["serial"], native)
    summary["parallel"] = _summarize_parallel(runs["parallel"], summary["median_wall_s"])
    summary["equivalence"] = equivalence(runs["serial"], runs["parallel"])
    return summary


def _campaign(lab: Lab, run_id: str, serial: bool, publish) -> dict:
    started = time.monotonic()
    with quiet():
        campaign.run(lab, campaign.CampaignOptions(profile=None, run_id=run_id, serial=serial),
                     publish=publish)
    wall = round(time.monotonic() - started, 1)
    record = RunRecord.read(REPORTS / run_id / "results.json")
    schedule = record.options.schedule or {}
    laned = {label for labels in (schedule.get("lanes") or {}).values() for label in labels}
    scenarios = {s.label: {**_scenario_numbers(s), "in_lane": s.label in laned}
                 for s in record.scenarios}
    say(f"  campaign: {wall:.0f} s; {_phase_line(record.phases())}")
    return {"run": run_id, "wall_s": wall, "phases_s": record.phases(),
            "longest_chain_s": longest_chain_s(schedule, scenarios), "scenarios": scenarios}


def longest_chain_s(schedule: dict, scenarios: dict[str, dict]) -> float:
    """The longest lane plus what ran alone, from each scenario's own seconds: the least
    any overlap of these lanes could take."""
    def seconds(labels) -> float:
        return sum(scenarios[label]["seconds"] or 0.0 for label in labels
                   if label in scenarios)
    lanes = [seconds(labels) for labels in (schedule.get("lanes") or {}).values()]
    alone = schedule.get("alone")
    rest = seconds(alone if alone is not None else scenarios)
    return round(max(lanes, default=0.0) + rest, 1)


# The measures compared, and how far apart two values may be and still be one: a time
# is known to the coarsest poll that can end it (the Sentinel-named master, 0.25 s);
# a count exactly.
COMPARED = {"failover_s": 0.25, "writes_resumed_s": 0.25, "outage_s": 0.25,
            "split_brain_s": 0.25, "lost_writes": 0}


def equivalence(serial: list[dict], parallel: list[dict]) -> dict:
    """Per scenario and measure: serial min, max and median, parallel median, and
    whether the parallel median lies inside the serial min..max (widened by the measure's
    resolution, :data:`COMPARED`). "No failover" counts as later than any failover; a
    scenario every run skipped is left out. ``in_lane``: whether the parallel runs ran it
    in a lane (the proof is about those; one that ran alone ran the same way in both, and
    its row shows how far two sets of five runs of one thing fall apart)."""
    table = {}
    names = [n for n in (serial[0]["scenarios"] if serial else {})
             if any(r["scenarios"].get(n, {}).get("status") != "skipped" for r in serial)]
    for name in names:
        row, same = {}, True
        for measure, resolution in COMPARED.items():
            s = [_value(r["scenarios"].get(name, {}), measure) for r in serial]
            p = [_value(r["scenarios"].get(name, {}), measure) for r in parallel]
            if not s or not p:
                continue
            middle = statistics.median(p)
            inside = min(s) - resolution <= middle <= max(s) + resolution
            row[measure] = {"serial_min": _finite(min(s)), "serial_max": _finite(max(s)),
                            "serial_median": _finite(statistics.median(s)),
                            "parallel_median": _finite(middle), "inside": inside}
            same = same and inside
        statuses = {r["scenarios"].get(name, {}).get("status") for r in serial + parallel}
        table[name] = {"measures": row, "statuses": sorted(statuses - {None}),
                       "equivalent": same and len(statuses - {None}) == 1,
                       "in_lane": any(r["scenarios"].get(name, {}).get("in_lane")
                                      for r in parallel)}
    return table


def _value(numbers: dict, measure: str) -> float:
    value = numbers.get(measure)
    return math.inf if value is None else float(value)


def _finite(value: float) -> float | None:
    return None if math.isinf(value) or math.isnan(value) else round(value, 3)


def _summarize_parallel(runs: list[dict], serial_wall_s: float | None) -> dict:
    wall = median([r["wall_s"] for r in runs])
    chain = median([r["longest_chain_s"] for r in runs])
    return {"median_wall_s": wall, "median_longest_chain_s": chain,
            "wall_over_chain": round(wall / chain, 2) if wall and chain else None,
            "serial_over_parallel": round(serial_wall_s / wall, 2)
            if wall and serial_wall_s else None,
            "phases_median_s": median_per_key([r["phases_s"] for r in runs]),
            "runs": runs}


def scenario_floor_s(hold_s: float, failed_over: bool, native_convergence_s: float | None
                     ) -> float | None:
    """The faults' hold, plus Redis's own convergence after a failover (None: unknown)."""
    if not failed_over:
        return round(hold_s, 2)
    return None if native_convergence_s is None else round(hold_s + native_convergence_s, 2)


def _scenario_numbers(result: ScenarioResult) -> dict:
    target = result.target
    return {"status": str(result.status), "seconds": result.seconds,
            "phases_s": result.phases, "shard": result.target_shard,
            "failed_over": bool(target and target.failover_s is not None),
            "failover_s": target and target.failover_s,
            "writes_resumed_s": target and target.writes_resumed_s,
            "outage_s": target and target.outage_s,
            "split_brain_s": target and target.split_brain_s,
            "lost_writes": target and target.lost_writes}


def _floor(repeat: int) -> dict:
    missing = floor.available()
    if missing:
        say(f"bench: floor skipped: {missing}")
        return {"skipped": missing}
    say(f"bench: the floor shard (native, loopback, default settings), {repeat} times")
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
    }


def print_campaign(c: dict) -> None:
    parallel = c.get("parallel")
    if parallel:
        say(f"campaign (parallel): median {parallel['median_wall_s']} s; longest chain "
              f"{parallel['median_longest_chain_s']} s; wall / chain "
              f"{parallel['wall_over_chain']}; serial / parallel "
              f"{parallel['serial_over_parallel']}")
        for name, row in (c.get("equivalence") or {}).items():
            if not row["equivalent"]:
                outside = [m for m, v in row["measures"].items() if not v["inside"]]
                where = "in a lane" if row["in_lane"] else "alone in both"
                say(f"  NOT EQUIVALENT ({where}) {name}: "
                      f"{', '.join(outside) or 'verdicts differ'} "
                      f"(verdicts {', '.join(row['statuses'])})")
    say(f"campaign (serial): median {c['median_wall_s']} s; sum of floors "
          f"{c['sum_of_floors_s']} s; wall / floors {c['wall_over_floors']}")
    say(f"  where the time goes (median s): {_phase_line(c['phases_median_s'])}")
    say(f"{'scenario':<34} {'median':>7} {'hold':>6} {'floor':>6} {'ratio':>6}")
    for name, s in c["scenarios"].items():
        hold = s["phases_median_s"].get("hold")
        say(f"{name:<34} {_s(s['median_s']):>7} {_s(hold):>6} {_s(s['floor_s']):>6} "
              f"{s['ratio'] or '-':>6}")


def _phase_line(phases: dict) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in phases.items() if v is not None)


def _s(value) -> str:
    return "-" if value is None else f"{value:g}"


register(Measurement("campaign", "the catalogue serial and in lanes, per phase, against floors",
                     lambda args, path, previous: measure_campaign(path, args.repeat),
                     print_campaign))
