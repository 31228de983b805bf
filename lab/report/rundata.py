"""A run folder as plain data: ``results.json``, each scenario's history, Locust's CSVs.

Only files are read; nothing here needs the lab. Missing pieces (a history deleted, a
run killed before its first scenario, a run from an older version without the versions
or topology fields) load as empty, and the pages say "not recorded".
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from lab.chaos import history
from lab.chaos.record import RunRecord, ScenarioResult
from lab.runs import RESULTS

LOCUST_HISTORY = "locust_stats_history.csv"


@dataclass
class ScenarioRun:
    """One finished scenario: its record, history and Locust series."""

    result: ScenarioResult
    events: list[dict] = field(default_factory=list)
    # Request name ("SET :5000") -> rows {t, rps, fps, p95_ms}, one per second.
    locust: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The scenario, with its repetition when it ran more than once."""
        return self.result.label

    @property
    def anchor(self) -> str:
        """A unique id for the page: the history's name (``crash-master-2``)."""
        return Path(self.result.history or self.result.scenario).stem


@dataclass
class Run:
    run_id: str
    path: Path
    results: RunRecord
    scenarios: list[ScenarioRun]
    failures: list[dict]  # Hypothesis' saved minimal failing sequences
    unfinished: list[str]  # histories with no result: the scenario a Ctrl-C cut short

    @property
    def complete(self) -> bool:
        return self.results.complete


def kind_of(run_id: str) -> str:
    """A run's kind from its folder name, for runs without a record (load, bench):
    ``20261125-093410-load`` -> ``load``. Runs with a record say their own kind."""
    return run_id.split("-", 2)[2] if run_id.count("-") >= 2 else "unknown"


def has_results(run_dir: Path) -> bool:
    return (run_dir / RESULTS).is_file()


def read_results(run_dir: Path) -> RunRecord:
    return RunRecord.read(run_dir / RESULTS)


def load(run_dir: Path) -> Run:
    """Everything a run page shows, read from ``run_dir``."""
    results = read_results(run_dir)
    scenarios = []
    referenced = set()
    for result in results.scenarios:
        path = history_path(run_dir, result)
        referenced.add(path.name)
        events = history.read(path) if path.is_file() else []
        load_dir = (result.load or {}).get("dir")
        locust = read_locust_history(run_dir / load_dir / LOCUST_HISTORY) if load_dir else {}
        scenarios.append(ScenarioRun(result, events, locust))
    unfinished = sorted(p.name for p in run_dir.glob("*.jsonl") if p.name not in referenced)
    failures = [json.loads(p.read_text(encoding="utf-8"))
                for p in sorted((run_dir / "failures").glob("*.json"))]
    return Run(run_dir.name, run_dir, results, scenarios, failures, unfinished)


def history_path(run_dir: Path, result: ScenarioResult) -> Path:
    """Where a scenario's JSONL history is (it may be gone)."""
    return run_dir / (result.history or f"{result.scenario}.jsonl")


def has_history(run_dir: Path, result: ScenarioResult) -> bool:
    path = history_path(run_dir, result)
    return path.is_file() and path.stat().st_size > 0


def read_locust_history(path: Path) -> dict[str, list[dict]]:
    """Locust's ``--csv-full-history`` rows per request name (the Aggregated row left out)."""
    if not path.is_file():
        return {}
    series: dict[str, list[dict]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if not row.get("Type") or row.get("Name") == "Aggregated":
                continue
            series.setdefault(row["Name"], []).append({
                "t": float(row["Timestamp"]),
                "rps": _number(row["Requests/s"]),
                "fps": _number(row["Failures/s"]),
                "p95_ms": _number(row["95%"]),
            })
    return dict(sorted(series.items()))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None  # Locust writes N/A before the first response
