"""The numbers a reader looks for, pulled out of ``results.json``: pure functions.

A scenario's headline is its *target shard's* measures (the shard the fault hit); the
other shards are shown in full on the scenario's own section. The same headline feeds
the verdict table and the two-run comparison, so both always agree.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

STATUSES = ("pass", "finding", "fail", "skipped", "error")

# (key, column title, unit): the comparison lists them in this order.
HEADLINE_MEASURES = (
    ("failover_s", "failover", "s"),
    ("failover_write_s", "writes resumed", "s"),
    ("outage_s", "outage", "s"),
    ("lost", "lost writes", ""),
    ("indeterminate", "indeterminate", ""),
    ("split_brain_s", "split brain", "s"),
    ("convergence_s", "convergence", "s"),
    ("stale_reads", "stale reads", ""),
    ("errors", "client errors", ""),
)


def target_measures(result: dict) -> dict:
    measures = result.get("measures") or {}
    return measures.get(str(result.get("target_shard", 1))) or {}


def headline(result: dict) -> dict:
    """A scenario's numbers: None where not measured (error, or no read-back)."""
    m = target_measures(result)
    convergence = result.get("convergence") or {}
    split = None
    if m:
        split = round(max(m.get("split_brain_roles_s") or 0.0,
                          m.get("split_brain_haproxy_s") or 0.0), 2)
    return {
        "failover_s": m.get("failover_s"),
        "failover_write_s": m.get("failover_write_s"),
        "outage_s": m.get("outage_s"),
        "outage_open": bool(m.get("outage_open")),
        "lost": m.get("lost"),
        "indeterminate": m.get("indeterminate"),
        "split_brain_s": split,
        "convergence_s": convergence.get("seconds"),
        "converged": convergence.get("settled"),
        "stale_reads": m.get("stale_reads"),
        "errors": sum((m.get("errors") or {}).values()) if m else None,
        "errors_by_class": dict(sorted((m.get("errors") or {}).items())),
    }


def verdict_counts(results: dict) -> dict[str, int]:
    counts = Counter(s.get("status", "error") for s in results.get("scenarios", []))
    return {status: counts[status] for status in STATUSES if counts[status]}


def overall(results: dict) -> tuple[str, str]:
    """(css class, sentence): the one line a go/no-go reader starts from."""
    scenarios = results.get("scenarios", [])
    hypothesis = results.get("hypothesis") or {}
    counts = verdict_counts(results)
    if counts.get("error") or hypothesis.get("status") == "error":
        return "error", "The run could not complete every scenario: see the errors below."
    if counts.get("fail") or hypothesis.get("status") == "fail":
        return "fail", "Expectations failed: at least one scenario or invariant broke."
    if not results.get("complete"):
        return "incomplete", (f"Incomplete: the run stopped after {len(scenarios)} "
                              "scenario(s); only those are reported.")
    if counts.get("finding"):
        return "finding", ("Expectations met; findings show the documented weaknesses "
                           "of this configuration (data loss, split brain, unavailability).")
    return "pass", "Every expectation met."


def settings(results: dict) -> dict[str, object]:
    """The lab's settings as flat ``section.key`` pairs, for a side-by-side diff."""
    lab = results.get("lab") or {}
    flat: dict[str, object] = {"layout": lab.get("layout"), "provider": lab.get("provider"),
                               "images": lab.get("images")}
    for section in ("sentinel", "redis", "haproxy"):
        for key, value in sorted((lab.get(section) or {}).items()):
            flat[f"{section}.{key}"] = value
    for key, value in sorted((lab.get("versions") or {}).items()):
        flat[f"version.{key}"] = value
    hypothesis = results.get("hypothesis") or {}
    if hypothesis.get("profile"):
        flat["hypothesis.profile"] = hypothesis["profile"]
    return flat


def duration_s(results: dict) -> float | None:
    """Wall time from start to the last write of results.json."""
    try:
        started = datetime.fromisoformat(results["started"].replace("Z", "+00:00"))
        updated = datetime.fromisoformat(results["updated"].replace("Z", "+00:00"))
    except (KeyError, ValueError, AttributeError):
        return None
    return (updated - started).total_seconds()


def run_summary(run_id: str, results: dict) -> dict:
    """One run as the index and its comparison see it."""
    return {
        "id": run_id,
        "started": results.get("started"),
        "complete": bool(results.get("complete")),
        "layout": (results.get("lab") or {}).get("layout"),
        "counts": verdict_counts(results),
        "overall": overall(results)[0],
        "hypothesis": (results.get("hypothesis") or {}).get("status"),
        "settings": settings(results),
        "scenarios": {s["scenario"]: {"status": s.get("status"), **headline(s)}
                      for s in results.get("scenarios", [])},
    }


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
