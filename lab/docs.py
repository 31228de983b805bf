"""``nox -s docs``: the documentation as a small site, built offline.

The hand-written pages are ``docs/*.md``; the reference is generated here from the
registries (faults, measures, the ``[slo]`` keys, the exercises, the catalogue scenarios),
so it cannot drift from the code. Both are staged into one folder and built by MkDocs with
its Material theme, in strict mode (a warning, e.g. a broken link, fails the build), into
``reports/docs/``: readable from ``file://`` without a server, and no request leaves the
machine (no web fonts; no search, which under ``file://`` loads a script from a CDN:
:func:`check` found it).

MkDocs rather than Sphinx: every page here is Markdown already (the guides, the design
page), which MkDocs reads as it is, with relative links checked at build time.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lab import measures, paths, runs
from lab.chaos import faults
from lab.chaos import scenarios as scenario_module
from lab.chaos.record import MatrixRecord
from lab.errors import LabError
from lab.report import browser, rundata
from lab.workshop import exercises as exercise_module

__all__ = ["GUIDES", "HAND_WRITTEN", "REFERENCE", "build", "check", "stage"]

log = logging.getLogger(__name__)

HAND_WRITTEN = paths.PROJECT_ROOT / "docs"
SITE = paths.REPORTS / "docs"
# The hand-written pages of docs/ besides index.md, in the site's order.
GUIDES = {
    "first-run.md": "The first chaos run",
    "load-and-reports.md": "Load and reports",
    "workshops.md": "Workshops for trainers",
    "engines-and-routes.md": "Engines and routes",
    "pre-production.md": "Pre-production on your own servers",
    "configuration.md": "Configuration",
    "measured.md": "Measured",
    "development.md": "Development",
    "troubleshooting.md": "Troubleshooting",
    "design.md": "Design",
}
_MARKDOWN = """,
  "markdown_extensions": ["tables", "admonition", {"toc": {"slugify":
    !!python/object/apply:pymdownx.slugs.slugify {kwds: {case: lower}}}}]
}
"""


def build(site: Path = SITE, staging: Path | None = None) -> Path:
    """Stage the pages and build the site into ``site``; its index page."""
    staging = staging or paths.state_root() / "docs"
    config = stage(staging, site)
    log.info(f"docs: building {site} with MkDocs (strict) ...")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--clean",
                           "--config-file", str(config)], capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-12:])
        raise LabError(f"the docs did not build (mkdocs exit {done.returncode}):\n{tail}")
    log.info(f"docs: {site / 'index.html'}")
    return site / "index.html"


def check(site: Path = SITE) -> list[str]:
    """What is wrong with the built site: every page opened in headless Chromium (console
    errors, requests that leave the machine) and every internal link followed (to a page
    that exists, and to an anchor that page has)."""
    pages = sorted(p for p in site.rglob("*.html") if p.name != "404.html")
    if not pages:
        return [f"{site}: no pages (run `nox -s docs` first)"]
    problems = _link_problems(site, pages)
    # Static pages: nothing is drawn after the load event, so a short settle suffices
    # (0.5 s each, as for the report's charts, was 8 of the check's 11 s).
    for result in browser.check_pages(pages, settle_s=0.1):
        where = Path(unquote(urlsplit(result.url).path)).relative_to(site.resolve())
        problems += [f"{where}: console error {e}" for e in result.console_errors]
        problems += [f"{where}: fetched {u}" for u in result.external_requests]
    return problems


def _link_problems(site: Path, pages: list[Path]) -> list[str]:
    """Internal links of ``pages`` to a file that does not exist, or to an anchor its
    target does not have (links with a scheme leave the site: not followed)."""
    problems = []
    anchors = {p.resolve(): _read(p).ids for p in site.rglob("*.html")}
    for page in pages:
        for link in _read(page).links:
            target = urlsplit(link)
            if target.scheme or link.startswith("//"):
                continue
            path = (page.parent / unquote(target.path)).resolve() if target.path \
                else page.resolve()
            if not path.exists():
                problems.append(f"{page.relative_to(site)}: broken link {link}")
            elif target.fragment and path in anchors \
                    and unquote(target.fragment) not in anchors[path]:
                problems.append(f"{page.relative_to(site)}: no anchor for {link}")
    return problems


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        for name in ("href", "src"):
            if values.get(name):
                self.links.append(values[name])


def _read(page: Path) -> _Page:
    parsed = _Page()
    parsed.feed(page.read_text(encoding="utf-8"))
    return parsed


def stage(staging: Path, site: Path) -> Path:
    """Write the hand-written and the generated pages and ``mkdocs.yml`` into
    ``staging``; the config's path."""
    pages = staging / "pages"
    if pages.exists():
        shutil.rmtree(pages)
    shutil.copytree(HAND_WRITTEN, pages)
    (pages / "reference").mkdir()
    for name, (title, write) in REFERENCE.items():
        text = f"# {title}\n\n_Generated from the registry by `nox -s docs`._\n\n"
        (pages / "reference" / name).write_text(text + write())
    config = staging / "mkdocs.yml"
    settings = json.dumps({
        "site_name": "redis-ha-lab",
        "docs_dir": str(pages),
        "site_dir": str(site),
        "use_directory_urls": False,
        "theme": {"name": "material", "font": False},
        # No search: under file:// Material's search needs a script from a CDN.
        "plugins": [],
        "validation": {"links": {"not_found": "warn", "anchors": "warn",
                                 "absolute_links": "warn", "unrecognized_links": "warn"}},
        "nav": [{"Home": "index.md"}, *[{title: name} for name, title in GUIDES.items()],
                {"Reference": [{title: f"reference/{name}"}
                               for name, (title, _) in REFERENCE.items()]}],
    }, indent=2)
    # JSON is YAML, but for one tag: headings get GitHub's anchors, so a link such as
    # first-run.md#the-search-hypothesis-what-a-go-covers works here and on GitHub.
    config.write_text(settings.rstrip().removesuffix("}") + _MARKDOWN)
    return config


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _param(p: faults.Param) -> str:
    allowed = {"shard": "a shard number", "server": "a server (number or name)",
               "choice": "one of " + ", ".join(map(str, p.choices)),
               "int": f"{p.low}..{p.high}"}[p.kind]
    return f"`{p.name}` ({allowed}; default {p.default})"


def _faults() -> str:
    registered = faults.registered()
    intro = (f"{len(registered)} faults, one class each under `lab/chaos/faults/`. "
             "*Touches*: the hosts it acts on (its server, the shard's current master, "
             "or every host of the shard). *Searched*: drawn by the Hypothesis search.\n\n")
    rows = [[f"`{name}`", f.family, ", ".join(_param(p) for p in f.params) or "-",
             f.touches, "yes" if f.searched else "no",
             " ".join((f.__doc__ or "").split())]
            for name, f in registered.items()]
    return intro + _table(["fault", "family", "parameters", "touches", "searched",
                           "what it does"], rows)


def _measures() -> str:
    intro = ("One object each under `lab/measures/`, one name everywhere. A report's "
             "columns are each measure over the shard the fault hit; an SLO takes it over "
             "every shard of the history (the longest time, the summed count). Definitions "
             "in full: [Design, Measures](../design.md#measures).\n\n")
    rows = [[f"`{name}`", m.heading, m.unit or "count", m.definition,
             "report, matrix" if m.in_matrix else "report" if m.headline else "SLO only"]
            for name, m in measures.registered().items()]
    return intro + _table(["measure", "column", "unit", "definition", "shown in"], rows)


def _slo_keys() -> str:
    rows = [[f"`{name} = N`", f"an upper bound on {name} over every shard: {m.definition}"]
            for name, m in measures.registered().items()]
    rows += [['`coverage = "every-fault"`', "a search that did not hold every searchable "
              "fault that runs here past a failover is NO-GO"],
             ["`[slo.scenarios.<name>]`", "the same keys, for one scenario only"]]
    return ("In `lab.toml` (or a file given to `--slo`), table `[slo]`:\n\n"
            + _table(["key", "meaning"], rows))


def _scenarios() -> str:
    found = scenario_module.load_all()
    rows = []
    for name, s in found.items():
        steps = ", ".join(step.fault for step in s.faults) or "(a saved sequence)"
        rows.append([f"`{name}`", s.description, steps, f"{s.hold_s:g} s",
                     s.runs_alone or "-", s.reference or "-"])
    return (f"{len(found)} scenarios in `scenarios/` (`nox -s chaos -- --list`).\n\n"
            + _table(["scenario", "what it does", "faults", "hold", "runs alone because",
                      "reference"], rows) + "\n" + _latest_matrix(paths.REPORTS))


def _latest_matrix(reports: Path) -> str:
    """The newest matrix under ``reports``: per scenario and variant, the verdict and the
    headline numbers of the shard the fault hit (the first repetition)."""
    found = sorted((MatrixRecord.read(p) for p in reports.glob(f"*/{runs.MATRIX}")),
                   key=lambda m: m.started)
    heading = "## Latest matrix numbers on this machine\n\n"
    if not found:
        return (heading + "No matrix in `reports/` here yet: `nox -s matrix -- --engines "
                "redis-7.0,valkey-8.1`, then `nox -s docs`.\n")
    matrix = found[-1]
    cells: dict[str, dict[str, str]] = {}
    for entry in matrix.runs:
        if not (entry.run_id and rundata.has_results(reports / entry.run_id)):
            continue
        for result in rundata.read_results(reports / entry.run_id).scenarios:
            numbers = result.headline()
            cells.setdefault(result.scenario, {}).setdefault(entry.name, (
                f"{result.status}; failover {_seconds(numbers['failover_s'])}, lost "
                f"{'-' if numbers['lost_writes'] is None else numbers['lost_writes']}, split brain "
                f"{_seconds(numbers['split_brain_s'])}"))
    variants = [entry.name for entry in matrix.runs]
    rows = [[f"`{name}`", *[by_variant.get(v, "-") for v in variants]]
            for name, by_variant in cells.items()]
    return (heading + f"Matrix `{matrix.matrix_id}` ({matrix.started}, "
            f"{'complete' if matrix.complete else 'incomplete'}).\n\n"
            + _table(["scenario", *variants], rows))


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _exercises() -> str:
    found = exercise_module.load_all()
    rows = [[f"`{name}`", e.title, e.learn, f"{e.minutes} min", len(e.steps)]
            for name, e in found.items()]
    return ("`nox -s workshop -- NAME` runs one, with its live page.\n\n"
            + _table(["exercise", "title", "what the room learns", "time", "steps"], rows))


# The generated pages, by file name: their titles and what writes them.
REFERENCE: dict[str, tuple[str, Callable[[], str]]] = {
    "faults.md": ("Faults", _faults),
    "measures.md": ("Measures", _measures),
    "slo.md": ("SLO keys", _slo_keys),
    "scenarios.md": ("Catalogue scenarios", _scenarios),
    "exercises.md": ("Workshop exercises", _exercises),
}
