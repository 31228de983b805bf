"""The judge: a scenario's verdict from its history, and nothing else.

The runner records everything a verdict needs into the history before judging: the
scenario and its expectations for the lab's settings (``meta``), the faults, every
operation and observation, the convergence after heal and the datasets compared
(``convergence``), the final masters' read-back (``readback``). :func:`judge_history`
turns that into measures and a verdict; the runner calls it on the history it has just
closed, and ``python -m lab judge RUN_ID`` calls it again on the files, so any run can be
re-judged (and its report rebuilt) from raw data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lab.chaos import checkers, history
from lab.chaos import slo as slo_module
from lab.chaos.checkers import ShardMeasures
from lab.chaos.record import Convergence, RunRecord, ScenarioResult, Status, Verdict
from lab.chaos.scenarios import Expect, judge
from lab.config import SloSettings

__all__ = ["Judged", "NotJudgeable", "judge_history", "rejudge_run"]


class NotJudgeable(ValueError):
    """The history lacks what a verdict needs (recorded before schema 2, or cut short)."""


@dataclass
class Judged:
    measures: dict[int, ShardMeasures]
    verdict: Verdict
    convergence: Convergence | None
    faults: list[dict]
    target_shard: int
    breaches: list[slo_module.Breach]  # the SLOs the history breaches (none without SLOs)


def judge_history(events: list[dict], thresholds: dict[str, float] | None = None) -> Judged:
    """Measures, the expectations' verdict and the SLO breaches of one history.
    ``thresholds`` (SLO measure -> bound) replaces the ones the history recorded."""
    meta = next((e for e in events if e["type"] == "meta"), None)
    if meta is None or "expect" not in meta:
        raise NotJudgeable("the history has no meta event with the scenario's expectations "
                           "(recorded before results schema 2?)")
    shards = {int(n): info for n, info in meta["shards"].items()}
    measures = checkers.measure(events, sorted(shards),
                                {n: info["monitor"] for n, info in shards.items()},
                                {n: info["master_backend"] for n, info in shards.items()},
                                {n: info["sentinels"] for n, info in shards.items()
                                 if "sentinels" in info} or None)
    convergence = Convergence.from_json(_without_event_fields(checkers.convergence(events)))
    target = int(meta["target_shard"])
    # A scenario with a fault that cannot run here is skipped; a Hypothesis example goes
    # on without that fault and is judged on what did run (else every example that drew
    # it would be exempt from the SLOs).
    reason = checkers.skipped(events) if "example" not in meta else ""
    # An observer that broke left a hole in what was measured: no verdict can rest on it.
    gaps = checkers.observer_gaps(events)
    breaches: list[slo_module.Breach] = []
    if gaps:
        verdict = Verdict(Status.ERROR, findings=[f"error: {gap}; its observations have a "
                                                  "gap" for gap in gaps])
    elif reason:
        verdict = Verdict(Status.SKIPPED, findings=[f"skipped: {reason}"])
    else:
        verdict = judge(Expect.from_json(meta["expect"]), measures[target], convergence,
                        election_retry_s=meta.get("election_retry_s", 0.0))
        if thresholds is None:
            thresholds = meta.get("slo") or {}
        breaches = slo_module.breaches(thresholds, slo_module.values(measures, convergence),
                                meta.get("label") or meta["scenario"])
    return Judged(measures, verdict, convergence, checkers.injected(events), target, breaches)


def same_verdict(recorded: ScenarioResult, judged: Judged) -> list[str]:
    """How a re-judged scenario differs from what the run recorded (empty: identical)."""
    differences = []
    if recorded.status != judged.verdict.status:
        differences.append(f"status {recorded.status} -> {judged.verdict.status}")
    if recorded.checks != judged.verdict.checks:
        differences.append("checks differ")
    if recorded.findings != judged.verdict.findings:
        differences.append("findings differ")
    if recorded.measures != judged.measures:
        differences.append("measures differ")
    if recorded.slo_breaches != judged.breaches:
        differences.append("SLO breaches differ")
    return differences


def _without_event_fields(event: dict | None) -> dict | None:
    if event is None:
        return None
    return {k: v for k, v in event.items() if k not in ("type", "t")}


def rejudge_run(run_dir: Path, slo: SloSettings | None = None
                ) -> tuple[list[str], bool, list[slo_module.Breach]]:
    """Judge every scenario of a finished run again from its history: one line each,
    whether every verdict, check, finding, measure and SLO breach came out as recorded,
    and the breaches. With ``slo``, its thresholds replace the recorded ones (the
    verdicts are then compared, the breaches are new)."""
    record = RunRecord.read(run_dir / "results.json")
    lines, same, breaches = [], True, []
    for result in record.scenarios:
        path = run_dir / (result.history or f"{result.scenario}.jsonl")
        if result.status == Status.ERROR or not path.is_file():
            # Nothing to compare with: the record cannot be confirmed from raw data.
            lines.append(f"{result.label}: {result.status} (not re-judged: "
                         f"{'it errored' if result.status == Status.ERROR else 'no history'})")
            same = False
            continue
        try:
            judged = judge_history(history.read(path),
                                   slo.for_scenario(result.scenario) if slo else None)
        except NotJudgeable as exc:
            lines.append(f"{result.label}: not re-judged: {exc}")
            same = False
            continue
        differences = same_verdict(result, judged)
        if slo:  # other thresholds: other breaches, by design
            differences = [d for d in differences if d != "SLO breaches differ"]
        breaches += judged.breaches
        same = same and not differences
        lines.append(f"{result.label}: {judged.verdict.status} "
                     + ("(as recorded)" if not differences
                        else f"(DIFFERS from the record: {'; '.join(differences)})")
                     + "".join(f"; SLO breached: {b.measure}" for b in judged.breaches))
    for example in (record.hypothesis.examples if record.hypothesis else []):
        found, line, differs = _rejudge_example(run_dir, example,
                                                dict(slo.thresholds) if slo else None)
        lines.append(line)
        breaches += found
        same = same and not differs
    return lines, same, breaches


def _rejudge_example(run_dir: Path, example: dict, thresholds: dict | None
                     ) -> tuple[list[slo_module.Breach], str, bool]:
    """A Hypothesis example judged again: its SLO breaches, its verdict and its scores
    against the recorded ones; (breaches, line, whether it differs or could not be
    re-judged). An example an invariant failed kept its history as far as it got: its
    verdict is the invariant's, which is said, not re-judged."""
    label = f"hypothesis example {example['n']}"
    path = run_dir / example["history"]
    status = example.get("status", "error")
    if status == "error":
        return [], f"{label}: error (not re-judged: it errored: {example.get('error')})", True
    if status != "pass" and not example.get("breaches"):
        return [], f"{label}: {status} (an invariant failed: {example.get('error')})", False
    if not path.is_file():
        return [], f"{label}: {status} (not re-judged: no history)", True
    try:
        judged = judge_history(history.read(path), thresholds)
    except NotJudgeable as exc:
        return [], f"{label}: not re-judged: {exc}", True
    differences = []
    if thresholds is None:  # the recorded SLOs: the same breaches, verdict and scores
        recorded = [slo_module.Breach.from_json(b) for b in example.get("breaches", [])]
        if judged.breaches != recorded:
            differences.append("SLO breaches differ")
        verdict = "fail" if judged.breaches else "pass"
        if verdict != status:
            differences.append(f"verdict {status} -> {verdict}")
        measured = slo_module.values(judged.measures, judged.convergence)
        scores = {k: v for k, v in measured.items()
                  if k in example.get("scores", {}) and isinstance(v, int | float)}
        if scores != example.get("scores", {}):
            differences.append("measures differ")
    what = "; ".join(b.line().split(": ", 1)[1] for b in judged.breaches) or "no SLO breached"
    return judged.breaches, (f"{label}: {what} "
                             + ("(as recorded)" if not differences
                                else f"(DIFFERS from the record: {'; '.join(differences)})")
                             ), bool(differences)
