"""The numbers a reader looks for, pulled out of a run's record: pure functions.

A scenario's headline is its *target shard's* measures (the shard the fault hit); the
other shards are shown in full on the scenario's own section. The same headline feeds
the verdict table and the two-run comparison, so both always agree.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from lab import measures
from lab.chaos.record import SEVERITY, RunRecord, ScenarioResult, Status

STATUSES = tuple(str(s) for s in (Status.PASS, Status.FINDING, Status.FAIL, Status.SKIPPED,
                                  Status.ERROR))


def headline(result: ScenarioResult) -> dict:
    """A scenario's numbers: None where not measured (error, or no read-back)."""
    return result.headline()


def verdict_counts(results: RunRecord) -> dict[str, int]:
    counts = Counter(str(s.status) for s in results.scenarios)
    return {status: counts[status] for status in STATUSES if counts[status]}


def overall(results: RunRecord) -> tuple[str, str]:
    """(css class, sentence): the one line a go/no-go reader starts from."""
    worst = results.worst()  # the one order of verdicts: RunRecord's
    if worst == Status.ERROR:
        return "error", "The run could not complete every scenario: see the errors below."
    if worst == Status.FAIL:
        return "fail", "Expectations failed: at least one scenario or invariant broke."
    if not results.complete:
        return "incomplete", (f"Incomplete: the run stopped after {len(results.scenarios)} "
                              "scenario(s); only those are reported.")
    if worst == Status.FINDING:
        return "finding", ("Expectations met; findings show the documented weaknesses "
                           "of this configuration (data loss, split brain, unavailability).")
    return "pass", "Every expectation met."


def settings(results: RunRecord) -> dict[str, object]:
    """The lab's settings as flat ``section.key`` pairs, for a side-by-side diff."""
    lab = results.lab
    flat: dict[str, object] = {"layout": lab.layout, "provider": lab.provider,
                               "images": lab.images, "engine": lab.engine}
    for section in ("sentinel", "redis", "haproxy"):
        for key, value in sorted(getattr(lab, section).items()):
            flat[f"{section}.{key}"] = value
    for key, value in sorted(lab.versions.items()):
        flat[f"version.{key}"] = value
    for key in ("route", "ack"):  # the clients: comparing routes is comparing these
        if getattr(results.options, key):
            flat[f"clients.{key}"] = getattr(results.options, key)
    if results.hypothesis and results.hypothesis.profile:
        flat["hypothesis.profile"] = results.hypothesis.profile
    return flat


def duration_s(results: RunRecord) -> float | None:
    """Wall time from start to the last write of results.json."""
    try:
        started = datetime.fromisoformat(results.started.replace("Z", "+00:00"))
        updated = datetime.fromisoformat(results.updated.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return (updated - started).total_seconds()


def run_summary(run_id: str, results: RunRecord) -> dict:
    """One run as the index and its comparison see it (plain data, for the page's JSON)."""
    return {
        "id": run_id,
        "started": results.started,
        "complete": results.complete,
        "layout": results.lab.layout,
        "engine": results.lab.engine,
        "counts": verdict_counts(results),
        "overall": overall(results)[0],
        "hypothesis": str(results.hypothesis.status) if results.hypothesis else None,
        "go": results.go,
        "breaches": [b.line() for b in results.breaches()],
        "settings": settings(results),
        "scenarios": _compared_scenarios(results),
    }


def _compared_scenarios(results: RunRecord) -> dict[str, dict]:
    """Per scenario: its worst verdict over the repetitions, how many ran, and per measure
    the median with the [min, max] of the repetitions: a change counts only beyond it."""
    aggregates = results.aggregates()
    found = {}
    for name, spreads in aggregates.items():
        runs = [s for s in results.scenarios if s.scenario == name]
        worst = next(s for s in SEVERITY if s in {r.status for r in runs})
        entry: dict = {"status": str(worst), "n": len(runs)}
        for key, _, _ in measures.columns():
            entry[key] = spreads[key]["median"]
            entry[f"{key}_range"] = [spreads[key]["min"], spreads[key]["max"]]
        found[name] = entry
    return found


def fmt(value, unit: str = "") -> str:
    """A measure for a table cell: ``-`` when not measured."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:.2f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text} {unit}" if unit else text
