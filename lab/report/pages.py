"""Render the pages: ``reports/<run-id>/index.html`` per run, ``reports/index.html``.

A run page is one self-contained file (Plotly's JavaScript is inlined, no network is
ever needed) that can be attached to a go/no-go decision. The pages hold nothing that
changes between builds (no build time, fixed element ids), so rebuilding from the raw
data yields the same bytes.
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache
from pathlib import Path

import jinja2
from plotly.offline import get_plotlyjs

from lab import measures
from lab.chaos import history
from lab.chaos.checkers import named_majority
from lab.chaos.phases import totals as phase_totals
from lab.chaos.record import ScenarioResult
from lab.report import anomaly_words, rundata, summary, timeline
from lab.report.drawing import topology_svg
from lab.runs import MATRIX

PAGE = "index.html"
EXPLAINED = 3  # list-append anomalies put in words, per class and shard
_TEMPLATES = Path(__file__).with_name("templates")


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES),
                             autoescape=True, undefined=jinja2.ChainableUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["fmt"] = summary.fmt
    return env


def build(reports: Path, run_ids: list[str] | None = None) -> list[Path]:
    """(Re)build the pages of ``run_ids`` (default: every run with results), then the index."""
    if run_ids is None:
        run_ids = [p.name for p in sorted(reports.iterdir())
                   if p.is_dir() and rundata.has_results(p)]
    written = []
    for run_id in run_ids:
        run_dir = reports / run_id
        if not rundata.has_results(run_dir):
            raise FileNotFoundError(f"{run_dir} has no {rundata.RESULTS}")
        written.append(build_run(run_dir))
    written.append(build_index(reports))
    return written


def build_run(run_dir: Path) -> Path:
    run = rundata.load(run_dir)
    results = run.results
    lab = results.lab
    shards = _shards(results)
    topology = lab.topology
    ports = ""
    if topology and topology.get("shards"):
        ports = f":{topology['shards'][0]['master_port']}-{topology['shards'][-1]['replica_port']}"
    overall_class, overall_text = summary.overall(results)
    page = environment().get_template("run.html.j2").render(
        run=run,
        kind=results.kind,
        results=results,
        lab=lab,
        overall_class=overall_class,
        overall_text=overall_text,
        counts=summary.verdict_counts(results),
        duration_s=summary.duration_s(results),
        topology=topology_svg(topology, ports) if topology else None,
        measures=measures.columns(),
        definitions={name: m.definition for name, m in measures.registered().items()},
        rows=[_row(s.result) for s in run.scenarios],
        aggregates=_aggregates(results),
        breaches=results.breaches(),
        sections=[_section(run, s, shards) for s in run.scenarios],
        hypothesis=results.hypothesis,
        failing_chart=_failing_example_chart(run, shards),
        time_table=_time_table(results),
        plotly_js=get_plotlyjs() if run.scenarios or _failing_history(run) else "",
    )
    path = run_dir / PAGE
    write(path, page)
    return path


def build_index(reports: Path) -> Path:
    runs = []
    for run_dir in sorted((p for p in reports.iterdir() if p.is_dir()), reverse=True):
        entry = {"id": run_dir.name, "kind": rundata.kind_of(run_dir.name),
                 "page": None, "locust": None, "summary": None}
        if rundata.has_results(run_dir):
            results = rundata.read_results(run_dir)
            entry["kind"] = results.kind
            entry["summary"] = summary.run_summary(run_dir.name, results)
            entry["page"] = f"{run_dir.name}/{PAGE}"
        if (run_dir / "locust.html").is_file():
            entry["locust"] = f"{run_dir.name}/locust.html"
        if (run_dir / MATRIX).is_file() and (run_dir / PAGE).is_file():
            entry["kind"], entry["page"] = "matrix", f"{run_dir.name}/{PAGE}"
        if entry["summary"] or entry["locust"] or entry["page"]:
            runs.append(entry)
    comparable = [r["summary"] for r in runs if r["summary"] and r["summary"]["scenarios"]]
    page = environment().get_template("index.html.j2").render(
        runs=runs,
        comparable_json=_script_json({
            "runs": comparable,
            "measures": [list(m) for m in measures.columns()],
        }),
    )
    path = reports / PAGE
    write(path, page)
    return path


def _time_table(results) -> dict | None:
    """Where the time went: seconds per phase for each scenario and for the search's
    examples together; None for runs recorded before phases were. (Not the report's own
    build time: it is recorded after the page is built, and a rebuilt page must be the
    same bytes.)"""
    rows = [(s.label, s.phases) for s in results.scenarios if s.phases]
    if results.hypothesis:
        examples = [e.get("phases") or {} for e in results.hypothesis.examples]
        if any(examples):
            rows.append((f"Hypothesis ({len(examples)} examples)", phase_totals(examples)))
    if not rows:
        return None
    names = [n for n in results.phases() if n != "report"]
    return {"names": names,
            "rows": [{"name": label, "seconds": [seconds.get(n) for n in names],
                      "total": round(sum(seconds.values()), 1)} for label, seconds in rows]}


def _shards(results) -> list[int]:
    topology = results.lab.topology
    if topology:
        return [s["number"] for s in topology["shards"]]
    numbers = {k for s in results.scenarios for k in s.measures}
    return sorted(numbers) or [1]


def _row(result) -> dict:
    numbers = summary.headline(result)
    note = result.error or "; ".join(result.findings)
    failed_checks = [c.check + (f": {c.detail}" if c.detail else "")
                     for c in result.checks if not c.ok]
    return {"name": result.label, "anchor": Path(result.history or result.scenario).stem,
            "slo": [b.measure for b in result.slo_breaches], "status": str(result.status),
            "numbers": numbers, "note": "; ".join(failed_checks + ([note] if note else []))}


def _section(run: rundata.Run, scenario: rundata.ScenarioRun, shards: list[int]) -> dict:
    result = scenario.result
    chart = None
    if scenario.events:
        chart = timeline.figure(scenario, shards).to_html(
            full_html=False, include_plotlyjs=False, div_id=f"timeline-{scenario.anchor}",
            config={"displaylogo": False, "responsive": True})
    load = result.load or {}
    links = []
    history = result.history
    if history and (run.path / history).is_file():
        links.append(("raw history (JSONL)", history))
    if load.get("report") and (run.path / load["report"]).is_file():
        links.append(("Locust report", load["report"]))
    if load.get("dir") and (run.path / load["dir"] / rundata.LOCUST_HISTORY).is_file():
        links.append(("Locust CSV history", f"{load['dir']}/{rundata.LOCUST_HISTORY}"))
    per_shard = [{"shard": n, "m": m, "numbers": measures.of_shard(m, result.convergence)}
                 for n in shards if (m := result.measures.get(n))]
    return {"name": scenario.name, "anchor": scenario.anchor, "result": result,
            "chart": chart, "links": links,
            "per_shard": per_shard, "target": result.target_shard,
            "anomalies": _anomalies(run, scenario, per_shard)}


def _anomalies(run: rundata.Run, scenario: rundata.ScenarioRun, per_shard: list[dict]
               ) -> dict | None:
    """The list-append anomalies of each shard: counts per class, and the first witnesses
    of each in plain words (None: no list operations in this scenario)."""
    shards = [p for p in per_shard if p["m"].anomalies is not None]
    if not shards:
        return None
    topology = run.results.lab.topology or {}
    names = {s["address"]: s["name"] for s in topology.get("servers", [])}
    events = scenario.events
    t0 = events[0]["t"] if events else 0.0
    majority = {p["shard"]: named_majority(events, p["shard"]) for p in shards}
    return {"classes": anomaly_words.CLASS_WORDS,
            "rows": [{"shard": p["shard"], "counts": p["m"].anomalies} for p in shards],
            "explained": [(p["shard"], anomaly_words.CLASS_WORDS[kind],
                           anomaly_words.explain(example, t0, majority[p["shard"]], names))
                          for kind in anomaly_words.CLASS_WORDS for p in shards
                          for example in p["m"].anomaly_examples.get(kind, [])[:EXPLAINED]]}


def _failing_history(run: rundata.Run) -> Path | None:
    """The minimal failing Hypothesis example's history, when the run kept it."""
    failure = run.results.hypothesis and run.results.hypothesis.failure
    if not failure or not failure.get("history"):
        return None
    path = run.path / failure["history"]
    return path if path.is_file() else None


def _failing_example_chart(run: rundata.Run, shards: list[int]) -> str | None:
    """The minimal failing example's timeline, drawn like a scenario's."""
    path = _failing_history(run)
    if path is None:
        return None
    example = rundata.ScenarioRun(ScenarioResult(path.stem, history=path.name),
                                  history.read(path))
    return timeline.figure(example, shards).to_html(
        full_html=False, include_plotlyjs=False, div_id="timeline-hypothesis-failure",
        config={"displaylogo": False, "responsive": True})


def _aggregates(results) -> dict | None:
    """Median / p90 / max per scenario and measure, when some scenario was repeated."""
    if not any(s.repetitions > 1 for s in results.scenarios):
        return None
    return results.aggregates()


def _script_json(data) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(data, sort_keys=True).replace("</", "<\\/")


def write(path: Path, text: str) -> None:
    """Atomically, through a temporary file of this writer's own: two runs finishing at
    once both rewrite ``reports/index.html``, and neither may move the other's half."""
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(tmp, 0o644)  # as a plain write would leave it (mkstemp makes it private)
    Path(tmp).replace(path)
