"""The documentation site (``nox -s docs``): hand-written pages plus a reference generated
from the registries, built offline by MkDocs in strict mode, every page opened in
Chromium and every internal link followed."""

from __future__ import annotations

import html

import pytest

from lab import docs, measures
from lab.chaos import faults
from lab.chaos import scenarios as scenario_module
from lab.workshop import exercises as exercise_module


def page_text(path) -> str:
    return html.unescape(path.read_text(encoding="utf-8"))


def test_the_reference_names_every_registered_fault_measure_scenario_and_exercise(tmp_path):
    config = docs.stage(tmp_path / "staging", tmp_path / "site")
    reference = config.parent / "pages" / "reference"
    pages = {name: (reference / name).read_text() for name in docs.REFERENCE}
    assert all(f"`{name}`" in pages["faults.md"] for name in faults.registered())
    assert len(faults.registered()) == 32 and "32 faults" in pages["faults.md"]
    for name in measures.registered():
        assert f"`{name}`" in pages["measures.md"] and f"`{name} = N`" in pages["slo.md"]
    assert all(f"`{name}`" in pages["scenarios.md"] for name in scenario_module.load_all())
    assert all(f"`{name}`" in pages["exercises.md"] for name in exercise_module.load_all())


def test_a_fault_and_a_measure_registered_later_are_in_the_reference_too(tmp_path,
                                                                          monkeypatch):
    """A reference written from a list kept by hand would miss both."""
    from lab.chaos.faults import base

    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))  # the fault vanishes after

    @faults.register
    class MeltServer(faults.Fault):
        """Melt one server (a fault for this test only)."""

        name = "melt-server"
        family = "machines"
        params = (faults.Param("server", "server", 1),)

        def inject(self, nemesis, server): ...

    measures.register(measures.Measure("throwaway_s", "s", "a measure for this test only",
                                       lambda shards, convergence: None))
    try:
        config = docs.stage(tmp_path / "staging", tmp_path / "site")
    finally:
        measures.forget("throwaway_s")
    reference = config.parent / "pages" / "reference"
    page = (reference / "faults.md").read_text()
    assert "melt-server" in faults.registered() and "33 faults" in page
    assert [n for n in faults.registered() if f"`{n}`" not in page] == []
    assert "`throwaway_s`" in (reference / "measures.md").read_text()
    assert "`throwaway_s = N`" in (reference / "slo.md").read_text()


@pytest.mark.browser
def test_the_site_builds_strict_and_every_page_opens_cleanly(tmp_path):
    site = tmp_path / "site"
    index = docs.build(site, tmp_path / "staging")
    assert index == site / "index.html" and index.is_file()
    assert docs.check(site) == []  # no console error, no request out, no broken link
    built = {name: page_text(site / "reference" / name.replace(".md", ".html"))
             for name in docs.REFERENCE}
    missing = [n for n in faults.registered() if n not in built["faults.md"]] + \
              [n for n in measures.registered() if n not in built["measures.md"]]
    assert missing == []


@pytest.mark.browser
def test_a_page_that_throws_or_fetches_from_outside_fails_the_check(tmp_path):
    """With the docs' short settle, an error thrown at the load event still counts, and
    so does a request off the site (loopback's discard port: nothing leaves here)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>fine</p>")
    (site / "bad.html").write_text(
        "<script>window.addEventListener('load', () => { throw new Error('late'); });"
        "</script><img src='http://127.0.0.1:9/x.png'>")
    problems = docs.check(site)
    assert {p.split(":")[0] for p in problems} == {"bad.html"}, problems
    assert any("Uncaught Error: late" in p for p in problems), problems
    assert "bad.html: fetched http://127.0.0.1:9/x.png" in problems


def test_a_broken_link_fails_the_check(tmp_path):
    site = tmp_path / "site"
    (site / "reference").mkdir(parents=True)
    (site / "index.html").write_text('<a href="reference/gone.html">x</a>'
                                     '<a href="#nowhere">y</a><a href="https://e.x/">z</a>')
    (site / "reference" / "ok.html").write_text('<h1 id="top">ok</h1>')
    problems = docs._link_problems(site, [site / "index.html"])
    assert problems == ["index.html: broken link reference/gone.html",
                        "index.html: no anchor for #nowhere"]


def test_every_hand_written_page_is_in_the_site_s_navigation():
    written = {p.name for p in docs.HAND_WRITTEN.glob("*.md")}
    assert written == {"index.md", *docs.GUIDES}


def test_the_scenarios_page_carries_the_latest_matrix_numbers(tmp_path):
    from lab.chaos.record import MatrixRecord
    from lab.runs import MATRIX
    from tests.unit.test_matrix import result, write_matrix

    assert "No matrix in `reports/` here yet" in docs._latest_matrix(tmp_path)
    write_matrix(tmp_path, {"redis-7.0": [result("crash-master", lost=152)],
                            "valkey-8.1": [result("crash-master", failover=2.5, lost=0)]},
                 errors={"valkey-9": "switching to valkey-9: no image"})
    # An older matrix beside it (another folder, started earlier): not the one shown.
    older = tmp_path / "older"
    write_matrix(older, {"redis-8.0": [result("crash-master", lost=7)]})
    (older / "m1").rename(tmp_path / "m0")
    stale = MatrixRecord.read(tmp_path / "m0" / MATRIX)
    stale.matrix_id, stale.started = "m0", "2020-01-01T00:00:00Z"
    stale.write(tmp_path / "m0" / MATRIX)
    (older / "m1-redis-8.0").rename(tmp_path / "m1-redis-8.0")
    text = docs._latest_matrix(tmp_path)
    assert "Matrix `m1`" in text and "redis-8.0" not in text
    assert "| scenario | redis-7.0 | valkey-8.1 | valkey-9 |" in text
    assert ("| `crash-master` | finding; failover -, lost 152, split brain 0.0 s | "
            "finding; failover 2.5 s, lost 0, split brain 0.0 s | - |") in text
