"""HTML reports: one self-contained dashboard per run, and an index of every run.

Everything here reads only what a run left on disk (``results.json``, the JSONL
histories, Locust's CSVs, saved Hypothesis failures), so a report can be rebuilt after
the lab is gone, and a rebuild is byte-for-byte the page it replaces.

:mod:`~lab.report.rundata`  reads a run folder into plain data
:mod:`~lab.report.timeline` one chart per scenario, on one time axis
:mod:`~lab.report.drawing`  the topology, as inline SVG
:mod:`~lab.report.pages`    renders the pages (Jinja2 templates, Plotly inlined)
:mod:`~lab.report.browser`  opens a page in headless Chromium: console errors, screenshot
"""

from lab.report.pages import build, build_index, build_run

__all__ = ["build", "build_index", "build_run"]
