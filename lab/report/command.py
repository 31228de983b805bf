"""``nox -s report``: rebuild pages from raw data, and optionally check them in Chromium."""

from __future__ import annotations

import logging
from pathlib import Path

from lab.chaos.record import MatrixRecord
from lab.errors import LabError
from lab.report import browser, junit, matrix, pages, rundata
from lab.runs import MATRIX

log = logging.getLogger(__name__)

SCREENSHOT = "screenshot.png"

# What a rendered run page must show, asked of the live DOM after Plotly has drawn.
RUN_PAGE_QUESTIONS = {
    "verdict_rows": "document.querySelectorAll('#verdicts tr.verdict-row').length",
    "sections": "document.querySelectorAll('section.scenario').length",
    "timelines": "document.querySelectorAll('section.scenario .js-plotly-plot').length",
    "charted_sections": "document.querySelectorAll('section.scenario .timeline').length",
    # Per drawn timeline: its fault windows (a shape per row, named "fault: KIND").
    "fault_shapes": "[...document.querySelectorAll('section.scenario .js-plotly-plot')].map("
                    "g => (g.layout.shapes || []).filter("
                    "s => (s.name || '').startsWith('fault')).length)",
    "shaded_paths": "document.querySelectorAll('.js-plotly-plot .shapelayer path').length",
    "incomplete_banner": "!!document.getElementById('incomplete')",
    "failing_example_chart": "!!document.querySelector('#failing-example .js-plotly-plot')",
    "examples": "document.querySelectorAll('#examples tr.example-row').length",
    "workshop_steps": "document.querySelectorAll('table.workshop-steps tr.step-row').length",
}
# Plotly has drawn every chart (it marks each drawn div .js-plotly-plot).
RUN_PAGE_READY = ("document.readyState === 'complete' && "
                  "document.querySelectorAll('.timeline').length === "
                  "document.querySelectorAll('.timeline .js-plotly-plot').length")
INDEX_QUESTIONS = {
    "runs": "document.querySelectorAll('#runs tr.run-row').length",
    "compared": "document.querySelectorAll('#compare-scenarios tr.compare-row').length",
    "comparable": "JSON.parse(document.getElementById('comparable').textContent).runs.length",
}


def publish(run_dir: Path, junit_copy: Path | None = None) -> Path | None:
    """A run's HTML page, its JUnit XML (and a copy at ``junit_copy``), and the index,
    once the run ended; a failure here never loses the raw data (``nox -s report``
    rebuilds them)."""
    try:
        record = rundata.read_results(run_dir)
        junit.write(record, run_dir / junit.JUNIT)
        if junit_copy:
            junit.write(record, junit_copy)
            log.info(f"junit: {junit_copy}")
        page = pages.build_run(run_dir)
        pages.build_index(run_dir.parent)
    except Exception as exc:  # noqa: BLE001 - results.json and the histories are kept
        log.info(f"report: not written ({type(exc).__name__}: {exc}); "
            f"rebuild it with `nox -s report -- {run_dir.name}`")
        return None
    log.info(f"report: {page}")
    return page


def publish_matrix(matrix_dir: Path) -> Path | None:
    """A matrix's page and the index, after each engine and at the end; like
    :func:`publish`, a failure here loses no raw data."""
    try:
        page = matrix.build(matrix_dir)
        pages.build_index(matrix_dir.parent)
    except Exception as exc:  # noqa: BLE001 - matrix.json and the runs are kept
        log.info(f"report: matrix page not written ({type(exc).__name__}: {exc}); "
                 "rebuild it with `nox -s report`")
        return None
    log.info(f"report: {page}")
    return page


def run(reports: Path, run_ids: list[str], check: bool
        ) -> int:
    if not reports.is_dir():
        raise LabError(f"{reports} does not exist: no run has been recorded yet "
                       "(`nox -s chaos` writes one)")
    for run_id in run_ids:
        if not rundata.has_results(reports / run_id):
            known = sorted(p.name for p in reports.iterdir() if rundata.has_results(p))
            raise LabError(f"no run {run_id!r} with {rundata.RESULTS} under {reports}/"
                           f" (known: {', '.join(known[-5:]) or 'none'})")
    if check and (browser.find_chromium() is None or browser.find_chromedriver() is None):
        raise LabError("--check needs chromium and its driver: `apt-get install chromium "
                       "chromium-driver` (scripts/setup-host installs them)")
    matrices = [] if run_ids else [matrix.build(p) for p in sorted(reports.iterdir())
                                   if (p / MATRIX).is_file()]
    written = pages.build(reports, run_ids or None)
    for page in written[:-1]:  # every run page (the last is the index): its JUnit XML too
        junit.write(rundata.read_results(page.parent), page.parent / junit.JUNIT)
    written = [*matrices, *written]
    for path in written:
        log.info(f"report: {path}")
    if not check:
        return 0
    problems = []
    for path in written:
        problems += [f"{path}: {p}" for p in verify(path)[0]]
    for problem in problems:
        log.info(f"report: CHECK FAILED: {problem}")
    if not problems:
        log.info(f"report: {len(written)} page(s) opened in headless Chromium: no console errors")
    return 1 if problems else 0


def verify(page: Path) -> tuple[list[str], browser.PageCheck]:
    """Open ``page`` in headless Chromium: what is wrong with it (empty: nothing), and
    what the browser saw. A run page's screenshot is kept beside it."""
    if page.parent.name and rundata.has_results(page.parent):
        check = browser.check_page(page, RUN_PAGE_QUESTIONS, page.parent / SCREENSHOT,
                                   ready=RUN_PAGE_READY)
        problems = list(check.console_errors)
        # What the page must show, from results.json alone: the histories were read once
        # already, to build the page.
        results = rundata.read_results(page.parent)
        scenarios = results.scenarios
        charted = [s for s in scenarios if rundata.has_history(page.parent, s)]
        answers = check.answers
        if answers["verdict_rows"] != len(scenarios):
            problems.append(f"{answers['verdict_rows']} verdict rows for "
                            f"{len(scenarios)} scenarios")
        if answers["timelines"] != len(charted):
            problems.append(f"{answers['timelines']} timelines for {len(charted)} histories")
        faulted = sum(1 for s in charted if s.faults)  # faults actually injected
        shaded = sum(1 for n in answers["fault_shapes"] if n)
        if shaded != faulted:
            problems.append(f"{shaded} timelines shade a fault, {faulted} scenarios had one")
        if answers["incomplete_banner"] == results.complete:
            problems.append("the incomplete banner does not match results.json")
        steps = sum(len(e.steps) for e in results.workshop)
        if answers["workshop_steps"] != steps:
            problems.append(f"{answers['workshop_steps']} workshop step rows for {steps} steps")
        h = results.hypothesis
        if h and answers["examples"] != len(h.examples):
            problems.append(f"{answers['examples']} example rows for {len(h.examples)} examples")
        if h and h.failure and h.failure.get("history") and not answers["failing_example_chart"]:
            problems.append("no timeline for the minimal failing example")
        return problems, check
    if (page.parent / MATRIX).is_file():
        return _verify_matrix(page)
    check = browser.check_page(page, INDEX_QUESTIONS)
    problems = list(check.console_errors)
    if check.answers["comparable"] >= 2 and not check.answers["compared"]:
        problems.append("two comparable runs, but the comparison table is empty")
    return problems, check


def _verify_matrix(page: Path) -> tuple[list[str], browser.PageCheck]:
    """A matrix page shows a column per variant that ran and a row per scenario."""
    record = MatrixRecord.read(page.parent / MATRIX)
    check = browser.check_page(page, matrix.QUESTIONS)
    problems = list(check.console_errors)
    variants = [r.name for r in record.runs]
    if check.answers["variants"] != variants:
        problems.append(f"variant columns {check.answers['variants']}, matrix.json has "
                        f"{variants}")
    if check.answers["rows"] != len(record.scenarios):
        problems.append(f"{check.answers['rows']} rows for {len(record.scenarios)} scenarios")
    if check.answers["incomplete_banner"] == record.complete:
        problems.append("the incomplete banner does not match matrix.json")
    return problems, check
