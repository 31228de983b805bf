"""The one typed record of a run: written by the runner, read by the report, the
comparison, ``judge`` and the bench.

``results.json`` is :meth:`RunRecord.to_json`, with a ``schema`` version; an older file
(no ``schema``) reads with the defaults below. Each class has ``to_json`` / ``from_json``;
nothing else builds or parses these dicts.
"""

from __future__ import annotations

import enum
import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from lab.chaos.checkers import ShardMeasures

__all__ = ["SCHEMA", "Check", "Convergence", "HypothesisResult", "RunRecord",
           "ScenarioResult", "Status", "Verdict"]

SCHEMA = 2


class Status(enum.StrEnum):
    """A verdict. ``finding``: expectations held and the documented weakness showed;
    ``error``: the run itself broke (Jepsen's unknown)."""

    PASS = "pass"
    FINDING = "finding"
    FAIL = "fail"
    SKIPPED = "skipped"
    ERROR = "error"


# The run's overall verdict is its worst: first match wins.
SEVERITY = (Status.ERROR, Status.FAIL, Status.FINDING, Status.SKIPPED, Status.PASS)


@dataclass(frozen=True)
class Check:
    check: str
    ok: bool
    detail: str = ""


@dataclass
class Verdict:
    status: Status = Status.PASS
    checks: list[Check] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, bool(ok), detail))


@dataclass
class Convergence:
    """After heal: did the lab settle within the bound, and do the datasets match."""

    settled: bool
    seconds: float
    problems: list[str] = field(default_factory=list)
    masters: dict[str, str] = field(default_factory=dict)  # shard -> instance label
    datasets: dict[str, dict[str, int]] = field(default_factory=dict)
    datasets_equal: bool | None = None  # None: not compared (never settled)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> Convergence | None:
        return None if not data else _build(cls, data)


@dataclass
class ScenarioResult:
    scenario: str
    description: str = ""
    status: Status = Status.ERROR
    checks: list[Check] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    target_shard: int = 1
    faults: list[dict] = field(default_factory=list)  # {"fault", "target"} as injected
    measures: dict[int, ShardMeasures] = field(default_factory=dict)
    convergence: Convergence | None = None
    reset_s: float | None = None
    history: str | None = None  # the JSONL file's name in the run folder
    load: dict | None = None  # {"dir", "report", "summary"} with --with-load
    error: str | None = None
    traceback: str | None = None

    @property
    def target(self) -> ShardMeasures | None:
        """The measures of the shard the fault hit: the scenario's headline."""
        return self.measures.get(self.target_shard)

    def to_json(self) -> dict:
        data = asdict(self)
        data["status"] = str(self.status)
        data["measures"] = {str(k): v.as_dict() for k, v in self.measures.items()}
        data["convergence"] = self.convergence.to_json() if self.convergence else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> ScenarioResult:
        data = dict(data)
        data["status"] = Status(data.get("status", "error"))
        data["checks"] = [_build(Check, c) for c in data.get("checks") or []]
        data["measures"] = {int(k): _build(ShardMeasures, v)
                            for k, v in (data.get("measures") or {}).items() if v}
        data["convergence"] = Convergence.from_json(data.get("convergence"))
        return _build(cls, data)

    @classmethod
    def errored(cls, scenario: str, error: str, traceback: str | None = None
                ) -> ScenarioResult:
        return cls(scenario, status=Status.ERROR, error=error, traceback=traceback)


@dataclass
class HypothesisResult:
    """The state machine's search, or a replay of a saved failure (``replay`` set)."""

    status: Status = Status.PASS
    profile: str | None = None
    seed: int | None = None
    failure: dict | None = None  # {"id", "error", "steps", "replay"}
    seconds: float | None = None
    reset_s: list[float] = field(default_factory=list)
    replay: str | None = None  # the replayed failure's id
    steps: list[dict] = field(default_factory=list)  # a replay's steps

    def to_json(self) -> dict:
        data = asdict(self)
        data["status"] = str(self.status)
        return data

    @classmethod
    def from_json(cls, data: dict | None) -> HypothesisResult | None:
        if not data:
            return None
        return _build(cls, {**data, "status": Status(data.get("status", "error"))})


@dataclass
class RunRecord:
    run_id: str
    lab: dict = field(default_factory=dict)  # the settings and topology measured
    started: str = field(default_factory=lambda: _now())
    updated: str = ""
    complete: bool = False
    interrupted: bool = False
    options: dict = field(default_factory=dict)
    scenarios: list[ScenarioResult] = field(default_factory=list)
    hypothesis: HypothesisResult | None = None
    schema: int = SCHEMA

    # -- the verdicts, in one place ----------------------------------------------------

    def statuses(self) -> list[Status]:
        found = [s.status for s in self.scenarios]
        if self.hypothesis:
            found.append(self.hypothesis.status)
        return found

    def worst(self) -> Status:
        found = set(self.statuses())
        return next((s for s in SEVERITY if s in found), Status.PASS)

    def exit_code(self) -> int:
        """0 every verdict pass, finding or skipped; 1 an expectation or invariant
        failed; 2 the run could not complete a scenario."""
        worst = self.worst()
        return {Status.ERROR: 2, Status.FAIL: 1}.get(worst, 0)

    # -- files -----------------------------------------------------------------------------

    def to_json(self) -> dict:
        data = asdict(self)
        data["scenarios"] = [s.to_json() for s in self.scenarios]
        data["hypothesis"] = self.hypothesis.to_json() if self.hypothesis else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> RunRecord:
        data = dict(data)
        data["scenarios"] = [ScenarioResult.from_json(s) for s in data.get("scenarios") or []]
        data["hypothesis"] = HypothesisResult.from_json(data.get("hypothesis"))
        data["schema"] = data.get("schema", 1)  # files before the schema field
        return _build(cls, data)

    def write(self, path: Path) -> None:
        """Atomically: a reader never sees half a file."""
        self.updated = _now()
        tmp = path.with_suffix(".partial")
        tmp.write_text(json.dumps(self.to_json(), indent=2, default=str) + "\n")
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> RunRecord:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def _build(cls, data: dict) -> Any:
    """``cls(**data)`` keeping only the fields ``cls`` has (older or newer files)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
