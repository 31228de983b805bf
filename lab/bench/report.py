"""``--what report`` (no lab needed): the largest finished chaos run under ``reports/``,
on a copy: building its page from raw data, the page's size, and opening it in headless
Chromium (load, draw every chart, answer the checks).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from lab.bench.base import Measurement, register, say
from lab.errors import LabError
from lab.paths import REPORTS


def _measure_report(repeat: int) -> dict:
    """Build and open the page of the largest finished chaos run, on a copy of it."""
    from lab.report import build_run, command, rundata

    runs = [p.parent for p in REPORTS.glob("*-chaos/results.json")
            if rundata.read_results(p.parent).complete]
    if not runs:
        raise LabError("no finished chaos run under reports/ to measure; run `nox -s chaos`")
    source = max(runs, key=lambda d: sum(f.stat().st_size for f in d.glob("*.jsonl")))
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / source.name
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("index.html", "*.png"))
        build_s, open_s = [], []
        for _ in range(repeat):
            started = time.monotonic()
            page = build_run(copy)
            build_s.append(round(time.monotonic() - started, 3))
            started = time.monotonic()
            problems, _ = command.verify(page)
            open_s.append(round(time.monotonic() - started, 2))
            if problems:
                raise LabError(f"the measured page has problems: {problems}")
        return {
            "run": source.name,
            "scenarios": len(rundata.read_results(copy).scenarios),
            "history_mb": round(sum(f.stat().st_size for f in copy.glob("*.jsonl")) / 1e6, 2),
            "page_mb": round(page.stat().st_size / 1e6, 2),
            "build_s": build_s, "median_build_s": statistics.median(build_s),
            "chromium_open_s": open_s, "median_chromium_open_s": statistics.median(open_s),
        }


register(Measurement("report", "building and opening the largest run's page (no lab)",
                     lambda args, path, previous: _measure_report(args.repeat),
                     lambda result: say(f"report: {result}")))
