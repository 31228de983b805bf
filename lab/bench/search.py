"""``--what search``: the search's power, measured on planted weaknesses.

A planted weakness is a lab configuration where one class of fault breaches the SLO
``lost_writes = 0`` (the other faults do not, or far less often):

``empty-restart``  the default lab (no persistence, ``restart: always``): a crashed or
                   restarted master comes back empty and its replicas copy it
``partitions``     ``persistence = "aof"``: a crashed master keeps its data; what loses
                   acknowledged writes is a master cut off while clients still reach it
``partitions-slow``the same with Sentinel's default ``down_after_ms = 30000``: a fault
                   must be held past 30 s to show it
``server-cut``     the spread layout with AOF: a whole server cut off from the others
``min-replicas``   AOF with ``min_replicas_to_write = 1``: whatever still loses writes

For each weakness, profile and seed (``--seeds N``: seeds 1..N), with the catalogue's
known sequences on and off (``--known on|off|both``), one search runs with
``[slo] lost_writes = 0``; then its reproducer is replayed once. Recorded per search:
found or not, time to the first failing example, the minimal sequence, the whole
search's time (with shrinking), examples per minute, and the replay's time and outcome.
Per cell: the share of seeds that found the breach and the medians. Nothing is asserted:
these machines are noisy; the table in docs/ is this JSON.
"""

from __future__ import annotations

import time
from pathlib import Path

from lab.bench.base import BENCH_LAB, Measurement, lab_up, register, say
from lab.bench.numbers import median as median_of
from lab.chaos import campaign
from lab.chaos.record import RunRecord
from lab.chaos.stateful import PROFILES
from lab.config import SloSettings
from lab.context import Lab
from lab.errors import LabError
from lab.paths import REPORTS
from lab.progress import quiet

__all__ = ["WEAKNESSES", "measure_search", "print_search"]


WEAKNESSES = {
    "empty-restart": "",
    "partitions": '[redis]\npersistence = "aof"\n',
    "partitions-slow": '[redis]\npersistence = "aof"\n[sentinel]\ndown_after_ms = 30000\n',
    "server-cut": '[redis]\npersistence = "aof"\n',  # with layout = "spread" (below)
    "min-replicas": '[redis]\npersistence = "aof"\nmin_replicas_to_write = 1\n',
}
# Aim of issue 22: ci finds each planted weakness within 5 minutes here.
TARGET_FIRST_BREACH_S = 300


def _lab_text(base: str, weakness: str) -> str:
    text = base + WEAKNESSES[weakness]
    if weakness == "server-cut":
        text = text.replace("[lab]\n", '[lab]\nlayout = "spread"\n', 1)
    return text


def measure_search(config_path: Path, weaknesses: list[str], profiles: list[str],
                   seeds: int, known: list[bool]) -> dict:
    """Every (weakness, profile, known) cell over seeds 1..``seeds`` on the bench lab."""
    from lab.report.command import publish

    slo = SloSettings(thresholds=(("lost_writes", 0),))
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    found: dict[str, dict] = {}
    for weakness in weaknesses:
        config_path.write_text(_lab_text(BENCH_LAB, weakness))
        lab = Lab.load(config_path)
        say(f"bench: search: lab up for the planted weakness {weakness}")
        lab_up(lab, config_path)
        for profile in profiles:
            for with_known in known:
                label = f"{profile}, known {'on' if with_known else 'off'}"
                runs = []
                for seed in range(1, seeds + 1):
                    run_id = (f"{stamp}-bench-search-{weakness}-{profile}-"
                              f"{'known' if with_known else 'drawn'}-{seed}")
                    say(f"bench: search {weakness} ({label}), seed {seed}/{seeds}")
                    runs.append(_one_search(lab, run_id, profile, seed, with_known, slo,
                                            publish))
                    r = runs[-1]
                    say(f"  found {r['found']} after {r['first_breach_s']} s; minimal "
                          f"{r['minimal']}; reproduced {r['replay_reproduced']}")
                found.setdefault(weakness, {})[label] = _cell(runs)
    found["targets"] = {"first_breach_s": TARGET_FIRST_BREACH_S}
    return found


def _one_search(lab: Lab, run_id: str, profile: str, seed: int, known: bool,
                slo: SloSettings, publish) -> dict:
    with quiet():
        campaign.run(lab, campaign.CampaignOptions(
            profile=profile, seed=seed, scenarios=False, run_id=run_id, slo=slo, known=known),
            publish=publish)
    record = RunRecord.read(REPORTS / run_id / "results.json")
    h = record.hypothesis
    failure = h.failure or {}
    result = {
        "run": run_id, "seed": seed, "status": str(h.status),
        "found": bool(failure.get("id")), "first_breach_s": h.first_failure_s,
        "search_s": h.seconds, "examples": len(h.examples),
        "shrink_s": round(h.seconds - h.first_failure_s, 1)
        if h.first_failure_s is not None and h.seconds is not None else None,
        "examples_per_minute": round(len(h.examples) / (h.seconds / 60), 2)
        if h.seconds else None,
        "minimal": _words(failure.get("steps")), "known": failure.get("known"),
        "coverage": (h.coverage or {}).get("line"),
        "replay_s": None, "replay_reproduced": None,
    }
    if result["found"]:
        started = time.monotonic()
        with quiet():
            campaign.replay(lab, failure["id"], run_id=f"{run_id}-replay", slo=slo,
                            publish=publish)
        replayed = RunRecord.read(REPORTS / f"{run_id}-replay" / "results.json")
        result["replay_s"] = round(time.monotonic() - started, 1)
        result["replay_reproduced"] = bool(replayed.hypothesis and
                                           replayed.hypothesis.reproduced)
    return result


def _words(steps: list[dict] | None) -> str | None:
    if not steps:
        return None
    return "; ".join(
        f"{s['kind']}({', '.join(f'{k}={v}' for k, v in s.items() if k not in ('rule', 'kind'))})"
        if s["rule"] == "inject" else s["rule"] for s in steps)


def _cell(runs: list[dict]) -> dict:
    found = [r for r in runs if r["found"]]

    def median(values: list) -> float | None:
        return median_of(values, digits=1)

    return {
        "seeds": len(runs), "found": len(found),
        "found_share": round(len(found) / len(runs), 2) if runs else None,
        "median_first_breach_s": median([r["first_breach_s"] for r in found]),
        "max_first_breach_s": max((r["first_breach_s"] for r in found), default=None),
        "median_search_s": median([r["search_s"] for r in runs]),
        "median_shrink_s": median([r["shrink_s"] for r in found]),
        "median_replay_s": median([r["replay_s"] for r in found]),
        "replays_reproduced": sum(1 for r in found if r["replay_reproduced"]),
        "median_examples_per_minute": median([r["examples_per_minute"] for r in runs]),
        "runs": runs,
    }


def print_search(found: dict) -> None:
    say(f"{'weakness':<16} {'profile / known':<22} {'found':>7} {'first breach':>13} "
          f"{'replay':>8} {'ex/min':>7}")
    for weakness, cells in found.items():
        if weakness == "targets":
            continue
        for label, c in cells.items():
            say(f"{weakness:<16} {label:<22} {c['found']:>3}/{c['seeds']:<3} "
                  f"{_s(c['median_first_breach_s']):>13} {_s(c['median_replay_s']):>8} "
                  f"{c['median_examples_per_minute'] or '-':>7}")


def _s(value) -> str:
    return "-" if value is None else f"{value:g} s"


def _run(args, config_path, previous) -> dict:
    weaknesses = [w for w in args.weaknesses.split(",") if w]
    unknown = sorted(set(weaknesses) - set(WEAKNESSES))
    profiles = [p for p in args.profiles.split(",") if p]
    if unknown:
        raise LabError(f"--weaknesses: unknown {', '.join(unknown)}; known: "
                       f"{', '.join(WEAKNESSES)}")
    if not profiles or not set(profiles) <= set(PROFILES):
        raise LabError(f"--profiles {args.profiles!r}: a comma-separated list "
                       f"of {', '.join(PROFILES)}")
    if args.seeds < 1:
        raise LabError("--seeds must be at least 1")
    measured = measure_search(config_path, weaknesses, profiles, args.seeds,
                              {"on": [True], "off": [False], "both": [True, False]}[args.known])
    # Cells measured in earlier runs stay (one table, filled in parts).
    merged = dict(previous or {})
    for weakness, cells in measured.items():
        merged[weakness] = {**merged.get(weakness, {}), **cells} \
            if isinstance(cells, dict) and weakness != "targets" else cells
    return merged


register(Measurement("search", "the search's power on planted weaknesses (hours)", _run,
                     print_search, in_all=False))
