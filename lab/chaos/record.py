"""The one typed record of a run: written by the runner, read by the report, the
comparison, ``judge``, the matrix and the bench.

``results.json`` is :meth:`RunRecord.to_json`, with a ``schema`` version; an older file
(no ``schema``) reads with the defaults below. Each class has ``to_json`` / ``from_json``;
nothing else builds or parses these dicts.
"""

from __future__ import annotations

import enum
import json
import statistics
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from lab import measures
from lab.chaos.checkers import ShardMeasures
from lab.chaos.coverage import Coverage
from lab.chaos.phases import totals as phase_totals
from lab.chaos.slo import Breach

__all__ = ["SCHEMA", "Check", "Convergence", "VariantRun", "ExerciseRecord",
           "HypothesisResult", "LabDescription", "MatrixRecord", "RunOptions", "RunRecord",
           "ScenarioResult", "Status", "StepRecord", "Verdict"]

# 3: a shard's numbers under their measures' names (lost_writes, indeterminate_writes,
# writes_resumed_s); a schema-2 file reads through _RENAMED_IN_3.
SCHEMA = 3
_RENAMED_IN_3 = {"lost": "lost_writes", "indeterminate": "indeterminate_writes",
                 "failover_write_s": "writes_resumed_s"}


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
    seconds: float | None = None  # wall time, reset to read-back
    repetition: int = 1  # with --repeat N: 1..N of ``repetitions``
    repetitions: int = 1
    slo_breaches: list[Breach] = field(default_factory=list)
    reference: str = ""  # the upstream issue or documentation the scenario reproduces
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase (chaos.phases)

    @property
    def label(self) -> str:
        """The scenario, with its repetition when it ran more than once."""
        return self.scenario if self.repetitions == 1 else \
            f"{self.scenario} #{self.repetition}"

    @property
    def target(self) -> ShardMeasures | None:
        """The measures of the shard the fault hit: the scenario's headline."""
        return self.measures.get(self.target_shard)

    def headline(self) -> dict:
        """The numbers a reader looks for: each column measure (:func:`lab.measures
        .columns`) over the target shard alone, None where it does not apply or was not
        measured (an error, no read-back); and what qualifies them (an outage still open,
        never settled, the errors by class)."""
        m, convergence = self.target, self.convergence
        numbers = measures.of_shard(m, convergence) if m else \
            dict.fromkeys(name for name, _, _ in measures.columns())
        numbers.update({
            "outage_open": bool(m and m.outage_open),
            "converged": convergence and convergence.settled,
            "errors_by_class": dict(sorted(m.errors.items())) if m else {},
        })
        return numbers

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
        data["slo_breaches"] = [Breach.from_json(b) for b in data.get("slo_breaches") or []]
        data["measures"] = {int(k): _build(ShardMeasures, _renamed(v))
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
    breaches: list[Breach] = field(default_factory=list)  # SLOs breached by examples
    examples: list[dict] = field(default_factory=list)  # every example: steps, scores, verdict
    repeat: int = 1  # a replay: how many times it ran ...
    reproduced: int = 0  # ... and how many of those failed again
    known: bool = True  # the catalogue's sequences ran first
    holds: dict = field(default_factory=dict)  # the lab's timing the holds came from
    coverage: dict | None = None  # lab.chaos.coverage.Coverage.to_json()
    first_failure_s: float | None = None  # search start -> first failing example's end

    def worst(self) -> dict[str, tuple[float, int]]:
        """Per target score: (the worst value any example reached, that example)."""
        worst: dict[str, tuple[float, int]] = {}
        for example in self.examples:
            for label, value in example.get("scores", {}).items():
                if label not in worst or value > worst[label][0]:
                    worst[label] = (value, example["n"])
        return dict(sorted(worst.items()))

    @property
    def reproduction_rate(self) -> float | None:
        """A replay's share of repetitions that failed again."""
        return round(self.reproduced / self.repeat, 2) if self.replay else None

    def to_json(self) -> dict:
        data = asdict(self)
        data["status"] = str(self.status)
        data["worst"] = {k: {"value": v, "example": n} for k, (v, n) in self.worst().items()}
        return data

    @classmethod
    def from_json(cls, data: dict | None) -> HypothesisResult | None:
        if not data:
            return None
        return _build(cls, {**data, "status": Status(data.get("status", "error")),
                            "breaches": [Breach.from_json(b)
                                         for b in data.get("breaches") or []]})


@dataclass
class StepRecord:
    """One step of a workshop exercise as it ran: what was said and done, the room's
    prediction against the measured value, a check's outcome."""

    number: int
    action: str  # fault, overlay, fix or narrate
    say: str = ""
    scenario: str | None = None  # a fault step: its ScenarioResult's scenario (the history)
    question: str | None = None
    measure: str | None = None
    answer: str | None = None  # as the room gave it ("2. a few (1-100)", "4 s")
    answered_by: str | None = None  # terminal, page or auto
    measured: float | None = None  # the checker's value (None: does not apply)
    correct: bool | None = None
    grade: str | None = None
    check: str | None = None  # what the check asked ...
    check_held: bool | None = None  # ... and whether the measurement met it
    explain: str = ""
    changed: list[str] = field(default_factory=list)  # an overlay's or fix's settings ...
    how: str | None = None  # ... applied live or by re-provisioning ...
    seconds: float | None = None  # ... in this long
    measures: dict = field(default_factory=dict)  # a fault step: every measure's value


@dataclass
class ExerciseRecord:
    name: str
    title: str
    learn: str = ""
    steps: list[StepRecord] = field(default_factory=list)
    complete: bool = False
    error: str | None = None

    @property
    def predictions(self) -> tuple[int, int]:
        """(right, asked)."""
        graded = [s for s in self.steps if s.correct is not None]
        return sum(1 for s in graded if s.correct), len(graded)

    @property
    def checks_failed(self) -> int:
        return sum(1 for s in self.steps if s.check_held is False)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ExerciseRecord:
        return _build(cls, {**data, "steps": [_build(StepRecord, s)
                                              for s in data.get("steps") or []]})


@dataclass
class LabDescription:
    """The lab a run measured, as its settings said and its servers answered (``lab`` in
    results.json). The settings' sections are kept as plain tables: the report lists
    them key by key and the comparison diffs them."""

    name: str | None = None
    layout: str | None = None
    backend: str | None = None
    provider: str | None = None  # None: an SSH inventory
    machines: str | None = None  # how the machines are named in the report
    servers: list[dict] = field(default_factory=list)
    sentinel: dict = field(default_factory=dict)
    redis: dict = field(default_factory=dict)
    haproxy: dict = field(default_factory=dict)
    images: str | None = None
    engine: str | None = None
    topology: dict | None = None  # lab.topology.Topology.as_dict()
    versions: dict[str, str] = field(default_factory=dict)  # asked of the running servers

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> LabDescription:
        return _build(cls, data or {})


@dataclass
class RunOptions:
    """How a run was asked for: what ran (a campaign's scenarios and search, a replay's
    failure) and through which clients. None: not asked (another kind of run)."""

    scenarios: list[str] = field(default_factory=list)
    profile: str | None = None
    seed: int | None = None
    with_load: bool = False
    repeat: int = 1
    budget_s: float | None = None
    known: bool | None = None
    examples: int | None = None
    schedule: dict | None = None  # lab.chaos.schedule.Order.to_json()
    route: str | None = None
    ack: str | None = None
    workload: str | None = None
    replay: str | None = None  # a replay: the failure's id
    exercises: list[str] = field(default_factory=list)  # a workshop: what it ran ...
    auto: bool | None = None  # ... and whether unattended (--auto)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> RunOptions:
        return _build(cls, data or {})


@dataclass
class RunRecord:
    run_id: str
    lab: LabDescription = field(default_factory=LabDescription)
    kind: str = "chaos"  # chaos, replay or workshop
    started: str = field(default_factory=lambda: _now())
    updated: str = ""
    complete: bool = False
    interrupted: bool = False
    options: RunOptions = field(default_factory=RunOptions)
    scenarios: list[ScenarioResult] = field(default_factory=list)
    hypothesis: HypothesisResult | None = None
    slo: dict | None = None  # the thresholds judged ({"global", "scenarios"}); None: no SLOs
    workshop: list[ExerciseRecord] = field(default_factory=list)  # kind "workshop"
    report_s: float | None = None  # building the HTML report, when the run published one
    schema: int = SCHEMA

    def __post_init__(self) -> None:
        # Plain tables are accepted (hand-made records in tests, older callers).
        if isinstance(self.lab, dict):
            self.lab = LabDescription.from_json(self.lab)
        if isinstance(self.options, dict):
            self.options = RunOptions.from_json(self.options)

    # -- the verdicts, in one place ----------------------------------------------------

    def statuses(self) -> list[Status]:
        found = [s.status for s in self.scenarios]
        if self.hypothesis:
            found.append(self.hypothesis.status)
        return found

    def worst(self) -> Status:
        found = set(self.statuses())
        return next((s for s in SEVERITY if s in found), Status.PASS)

    def phases(self) -> dict[str, float]:
        """Where the run's time went: seconds per phase over every scenario and example,
        and building the report."""
        recorded = [s.phases for s in self.scenarios]
        if self.hypothesis:
            recorded += [e.get("phases", {}) for e in self.hypothesis.examples]
        total = phase_totals(recorded)
        if self.report_s is not None:
            total["report"] = self.report_s
        return total

    def aggregates(self) -> dict[str, dict[str, dict]]:
        """Per scenario, per headline measure over its repetitions: n, min, median, p90,
        max (what the comparison weighs a change against)."""
        found: dict[str, dict[str, dict]] = {}
        names = dict.fromkeys(s.scenario for s in self.scenarios)
        for name in names:
            runs = [s.headline() for s in self.scenarios
                    if s.scenario == name and s.status not in (Status.ERROR, Status.SKIPPED)]
            found[name] = {key: spread([r[key] for r in runs if r[key] is not None])
                           for key, _, _ in measures.columns()}
        return found

    def breaches(self) -> list[Breach]:
        """Every SLO breached, in every scenario, repetition and Hypothesis example."""
        found = [b for s in self.scenarios for b in s.slo_breaches]
        if self.hypothesis:
            found += self.hypothesis.breaches
        return found

    def errors(self) -> list[str]:
        """What could not be completed: errored scenarios, an errored search."""
        found = [f"{s.label}: {s.error or 'error'}" for s in self.scenarios
                 if s.status == Status.ERROR]
        if self.hypothesis and self.hypothesis.status == Status.ERROR:
            what = "replay" if self.hypothesis.replay else "hypothesis search"
            found.append(f"{what}: {(self.hypothesis.failure or {}).get('error', 'error')}")
        return found

    def coverage(self) -> Coverage | None:
        """What the search covered (None: no search ran)."""
        if not self.hypothesis or self.hypothesis.replay:
            return None
        return Coverage.from_json(self.hypothesis.coverage)

    def coverage_unmet(self) -> str:
        """``[slo] coverage = "every-fault"`` not met: why ("" when met or not asked)."""
        if (self.slo or {}).get("coverage") != "every-fault":
            return ""
        coverage = self.coverage()
        if coverage is None:
            return "coverage = every-fault, but no search ran"
        missing = coverage.missing()
        return f"coverage = every-fault: never held past failover: {', '.join(missing)}" \
            if missing else ""

    @property
    def go(self) -> bool | None:
        """NO-GO (False) when an SLO is breached (or the coverage asked for was not
        reached); GO (True) when not and every part completed; None without SLOs, or
        when a part errored and nothing was breached: no decision (never GO)."""
        if self.slo is None:
            return None
        if self.breaches() or self.coverage_unmet():
            return False
        return None if self.errors() else True

    def go_line(self) -> str | None:
        """The run's last line: ``GO`` and what it covers, ``NO-GO`` with each breach, or
        ``ERROR`` naming what could not complete."""
        errors = self.errors()
        if self.go is False:
            unmet = [b.line() for b in self.breaches()]
            if self.coverage_unmet():
                unmet.append(self.coverage_unmet())
            return "NO-GO: " + "; ".join(unmet) + \
                (f"; also errored: {'; '.join(errors)}" if errors else "")
        if errors:
            return "ERROR (no GO/NO-GO decision): " + "; ".join(errors)
        if self.go is None:
            return None
        coverage = self.coverage()
        if coverage is None:
            return "GO: every SLO met"
        runs, n = len(self.scenarios), len(self.hypothesis.examples)
        return (f"GO: no SLO breached in {n} example{'' if n == 1 else 's'}"
                + (f" and {runs} scenario run(s)" if runs else "")
                + f"; {coverage.line()}")

    def exit_code(self) -> int:
        """0 every verdict pass, finding or skipped and every SLO met; 1 an expectation
        or invariant failed, or an SLO was breached (NO-GO); 2 the run could not complete
        a scenario."""
        worst = self.worst()
        if worst == Status.ERROR:
            return 2
        return 1 if worst == Status.FAIL or self.go is False else 0

    # -- files -----------------------------------------------------------------------------

    def to_json(self) -> dict:
        data = asdict(self)
        data["scenarios"] = [s.to_json() for s in self.scenarios]
        data["hypothesis"] = self.hypothesis.to_json() if self.hypothesis else None
        data["workshop"] = [e.to_json() for e in self.workshop]
        data["aggregates"] = self.aggregates()  # derived: recomputed, never read back
        data["phases"] = self.phases()  # derived too
        data["go"] = self.go
        return data

    @classmethod
    def from_json(cls, data: dict) -> RunRecord:
        data = dict(data)
        data["scenarios"] = [ScenarioResult.from_json(s) for s in data.get("scenarios") or []]
        data["hypothesis"] = HypothesisResult.from_json(data.get("hypothesis"))
        data["workshop"] = [ExerciseRecord.from_json(e) for e in data.get("workshop") or []]
        data["schema"] = data.get("schema", 1)  # files before the schema field
        return _build(cls, data)

    def write(self, path: Path, touch: bool = True) -> None:
        """Write the record; ``touch=False`` keeps ``updated`` (the report shows it: what
        is added after the page was built must not change a rebuilt page)."""
        if touch:
            self.updated = _now()
        _write_json(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> RunRecord:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


@dataclass
class VariantRun:
    """One column of a matrix: the engine (and ``lab.toml`` overlay) the lab was brought
    to, the route and acknowledgement mode of the workload, and the chaos run with them."""

    engine: str
    run_id: str | None = None  # the chaos run's folder under reports/
    switched: str = ""  # live | re-provisioned | nothing (reconfigure's word)
    switch_s: float | None = None  # bringing the lab to this engine, settled
    exit_code: int | None = None  # the chaos run's
    error: str | None = None  # why this variant has no (complete) run
    skipped: str = ""  # why this variant cannot run here at all (never a pass)
    route: str = ""  # "" in matrices older than routes: the lab's default
    ack: str = ""
    overlay: str = ""  # the overlay file's stem, "" for none
    label: str = ""  # the column's name: the dimensions the matrix varies

    @property
    def name(self) -> str:
        return self.label or self.engine


@dataclass
class MatrixRecord:
    """``nox -s matrix``: the same scenarios on each variant (engine, overlay, route,
    acknowledgement mode), one chaos run per variant (``matrix.json`` in the matrix's
    folder; each run keeps its own ``results.json``)."""

    matrix_id: str
    engines: list[str] = field(default_factory=list)
    scenarios: list[str] = field(default_factory=list)
    repeat: int = 1
    started: str = field(default_factory=lambda: _now())
    updated: str = ""
    complete: bool = False
    interrupted: bool = False
    runs: list[VariantRun] = field(default_factory=list)
    restored: str = ""  # how the lab was put back to its own settings afterwards
    # What varies: {"engine": [...], "route": [...], "ack": [...], "overlay": [...]}, and
    # the columns' labels in the order they run.
    dimensions: dict[str, list[str]] = field(default_factory=dict)
    variants: list[str] = field(default_factory=list)
    schema: int = SCHEMA

    @property
    def columns(self) -> list[str]:
        """The planned columns (older records: their engines)."""
        return self.variants or self.engines

    def exit_code(self) -> int:
        """The worst of the runs' exit codes (2 when a variant could not run)."""
        codes = [2 if r.error else (r.exit_code or 0) for r in self.runs]
        return max(codes, default=0)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> MatrixRecord:
        data = dict(data)
        data["runs"] = [_build(VariantRun, r) for r in data.get("runs") or []]
        return _build(cls, data)

    def write(self, path: Path) -> None:
        self.updated = _now()
        _write_json(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> MatrixRecord:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def spread(values: list[float]) -> dict:
    """n, min, median, p90 and max of ``values`` (empty: n = 0, the rest None)."""
    if not values:
        return {"n": 0, "min": None, "median": None, "p90": None, "max": None}
    ordered = sorted(values)
    p90 = ordered[0] if len(ordered) == 1 else \
        statistics.quantiles(ordered, n=10, method="inclusive")[8]
    return {"n": len(ordered), "min": ordered[0], "median": round(statistics.median(ordered), 3),
            "p90": round(p90, 3), "max": ordered[-1]}


def _build(cls, data: dict) -> Any:
    """``cls(**data)`` keeping only the fields ``cls`` has (older or newer files)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def _write_json(path: Path, data: dict) -> None:
    """Atomically: a reader never sees half a file."""
    tmp = path.with_suffix(".partial")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _renamed(shard: dict) -> dict:
    """A shard's measures as schema 3 names them (a schema-2 file used older names)."""
    return {_RENAMED_IN_3.get(key, key): value for key, value in shard.items()}
