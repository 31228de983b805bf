"""The matrix page: ``reports/<matrix-id>/index.html``, scenario x variant (engine,
overlay, route, acknowledgement mode).

Built from ``matrix.json`` and each variant's own ``results.json`` alone (rebuilt by
``nox -s report``). A cell is the scenario's worst verdict in that variant and its key
numbers (medians with ``--repeat``); a number is highlighted where the variants differ in
kind, never on noise:

- the verdicts differ;
- a measure was taken in one variant and not in another (no failover at all, say);
- lost (or demoted, or unconfirmed) writes are zero in one variant and not in another;
- with repetitions in every variant, the ranges (min..max) do not overlap.
"""

from __future__ import annotations

from pathlib import Path

from lab import engines, measures, runs
from lab.chaos.record import MatrixRecord, RunOptions, Status
from lab.report import pages, rundata, summary

__all__ = ["QUESTIONS", "build", "differences"]

# What the page must show, asked of the live DOM (tests, ``report --check``).
QUESTIONS = {
    "variants": "[...document.querySelectorAll('#matrix thead th.variant')]"
                ".map(th => th.dataset.variant)",
    "rows": "document.querySelectorAll('#matrix tr.scenario-row').length",
    "cells": "[...document.querySelectorAll('#matrix td.cell')].map(td => ({"
             "variant: td.dataset.variant, scenario: td.dataset.scenario, "
             "status: td.dataset.status || null, text: td.innerText}))",
    "differing": "document.querySelectorAll('#matrix .differs').length",
    "incomplete_banner": "!!document.getElementById('incomplete')",
}


def build(matrix_dir: Path) -> Path:
    """Write the matrix page from the raw data; its path."""
    record = MatrixRecord.read(matrix_dir / runs.MATRIX)
    reports = matrix_dir.parent
    columns, cells, references, skipped = [], {}, {}, {}
    for entry in record.runs:
        results = None
        if entry.run_id and rundata.has_results(reports / entry.run_id):
            results = rundata.read_results(reports / entry.run_id)
        engine = engines.ENGINES.get(entry.engine)
        options = results.options if results else RunOptions()
        columns.append({
            "name": entry.name, "entry": entry,
            "clients": ", ".join(filter(None, [entry.route or options.route,
                                               entry.ack or options.ack])) or "-",
            "origin": engine.origin if engine else "",
            "version": results.lab.versions.get("engine") if results else None,
            "page": f"../{entry.run_id}/{pages.PAGE}" if results else None,
            "complete": bool(results and results.complete),
        })
        cells[entry.name] = summary.run_summary(entry.run_id, results)["scenarios"] \
            if results else {}
        for s in results.scenarios if results else ():
            references.setdefault(s.scenario, s.reference)
            if s.status == Status.SKIPPED:
                skipped[(entry.name, s.scenario)] = "; ".join(s.findings)
    rows = []
    for scenario in record.scenarios:
        row = {c["name"]: cells[c["name"]].get(scenario) for c in columns}
        rows.append({"scenario": scenario, "cells": row, "differs": differences(row),
                     "reference": references.get(scenario, "")})
    # A line no cell has a number for is left out when it is not a headline measure: the
    # list-append anomalies in a matrix run with unique keys only.
    measured = [cell for row in rows for cell in row["cells"].values() if cell]
    lines = [(key, title, unit) for key, title, unit in measures.columns(in_matrix=True)
             if measures.get(key).headline or any(c.get(key) is not None for c in measured)]
    page = pages.environment().get_template("matrix.html.j2").render(
        record=record, columns=columns, rows=rows, measures=lines,
        skipped=skipped,
        dimensions=record.dimensions or {"engine": record.engines})
    path = matrix_dir / pages.PAGE
    pages.write(path, page)
    return path


def differences(row: dict[str, dict | None]) -> set[str]:
    """Which of ``status`` and the cell measures differ in kind across the variants of one
    scenario's row (variants that did not run it are left out)."""
    present = [cell for cell in row.values() if cell]
    found = set()
    if len({cell["status"] for cell in present}) > 1:
        found.add("status")
    # Measures only where the scenario ran (a skip is a difference of verdict, above).
    ran = [cell for cell in present if cell["status"] not in ("skipped", "error")]
    if len(ran) < 2:
        return found
    repeated = all(cell["n"] >= 2 for cell in ran)
    for key, _, _ in measures.columns(in_matrix=True):
        values = [cell.get(key) for cell in ran]
        measured_on_some = len({v is None for v in values}) > 1
        taken = [v for v in values if v is not None]
        lost_on_some = measures.get(key).zero_or_not and len({v == 0 for v in taken}) > 1
        apart = repeated and len(taken) == len(values) and \
            _ranges_apart([cell[f"{key}_range"] for cell in ran])
        if measured_on_some or lost_on_some or apart:
            found.add(key)
    return found


def _ranges_apart(ranges: list[list[float]]) -> bool:
    """Some two of the ranges do not overlap."""
    return max(low for low, _ in ranges) > min(high for _, high in ranges)
