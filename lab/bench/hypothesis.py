"""``--what hypothesis``: the search of issue 11's acceptance (``[slo] lost_writes = 0``,
profile ``ci``, seeds 1..N) on the default settings and with ``min_replicas_to_write =
1``: examples per minute, time to the first breach and to the end of shrinking, median
reset and example, where an example's time goes, the worst lost writes side by side
(the two searches' runs are under ``reports/`` for the comparison page).
"""

from __future__ import annotations

import time
from pathlib import Path

from lab.bench.base import BENCH_LAB, Measurement, lab_up, register, say
from lab.bench.numbers import median, median_per_key
from lab.chaos import history
from lab.context import Lab
from lab.paths import REPORTS
from lab.progress import quiet


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
        lab_up(lab, config_path)
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


def _print_hypothesis(h: dict) -> None:
    for label in ("default", "min_replicas_to_write_1"):
        s = h[label]
        say(f"hypothesis ({label}): {s['median_examples_per_minute']} examples/min, "
              f"first breach {s['median_first_breach_s']} s, shrinking done "
              f"{s['median_end_of_shrinking_s']} s, example {s['median_example_s']} s, with a "
              f"fault {s['median_example_with_a_fault_s']} s (reset {s['median_reset_s']} s; "
              f"{s['example_parts_median_s']}), worst lost writes "
              f"{s['median_worst_lost_writes']}")


register(Measurement("hypothesis", "the search's pace, default settings and min_replicas 1",
                     lambda args, path, previous: _measure_hypothesis(path, args.repeat),
                     _print_hypothesis))
