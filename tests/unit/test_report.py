"""Reports from hand-made runs: charts, tables, determinism, and a real headless Chromium."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lab.chaos.record import RunRecord, ScenarioResult
from lab.paths import PROJECT_ROOT
from lab.report import build, build_index, build_run, command, rundata, summary, timeline
from lab.report.drawing import topology_svg

T0 = 1_800_000_000.0
TOPOLOGY = {
    "layout": "article",
    "servers": [{"name": f"redis{i}", "address": f"192.168.70.{10 + i}"} for i in (1, 2, 3)],
    "shards": [{"number": n, "master_port": 4998 + 2 * n, "replica_port": 4999 + 2 * n,
                "instances": [{"label": f"redis{n}:{p}", "server": f"redis{n}", "port": p,
                               "initial_role": "master" if p == 6379 else "replica"}
                              for p in (6379, 6380, 6381)]} for n in (1, 2, 3)],
    "sentinels": [{"label": f"redis{n}:{p}", "server": f"redis{n}", "port": p, "shards": [n]}
                  for n in (1, 2, 3) for p in (26379, 26380, 26381)],
}


def history(fault: str = "stop-master", healed: bool = True) -> list[dict]:
    """10 s of writes on three shards; shard 1 fails from 2 s to 4 s; a failover at 3.5 s."""
    events = [{"type": "meta", "t": T0, "scenario": fault}]
    for step in range(200):
        t = T0 + step * 0.05
        for shard in (1, 2, 3):
            down = shard == 1 and 2.0 <= t - T0 < 4.0
            events.append({"type": "op", "t": t + 0.001, "op": "write", "shard": shard,
                           "port": 4998 + 2 * shard, "key": f"k{shard}:{step}", "start": t,
                           "end": t + (0.5 if down else 0.001),
                           "outcome": "fail" if down else "ok",
                           "error": "timeout" if down else None})
    events += [
        {"type": "fault", "t": T0 + 2.0, "phase": "inject", "id": "f1", "fault": fault,
         "target": {"instance": "redis1:6379"}},
        {"type": "sentinel", "t": T0 + 3.0, "sentinel": "redis1:26380", "channel": "+odown",
         "data": "master shard1 192.168.70.11 6379 #quorum 2/2"},
        {"type": "sentinel", "t": T0 + 3.5, "sentinel": "redis1:26380",
         "channel": "+switch-master", "data": "shard1 192.168.70.11 6379 192.168.70.11 6380"},
        {"type": "haproxy", "t": T0 + 3.6, "haproxy": "redis1", "backend": "shard1_master",
         "up": ["redis1_6380"]},
        {"type": "role", "t": T0 + 3.6, "instance": "redis1:6380", "shard": 1,
         "role": "master", "master": None},
    ]
    if healed:
        events.append({"type": "fault", "t": T0 + 6.0, "phase": "heal", "id": "f1",
                       "fault": fault})
    return events


def result(name: str, status: str = "finding", lost: int = 12) -> dict:
    shard = {"shard": 1, "writes": {"ok": 160, "fail": 40}, "reads": {}, "outage_s": 2.0,
             "outage_open": False, "failover_s": 1.5, "writes_resumed_s": 2.0,
             "new_master": "redis1:6380", "lost": lost, "indeterminate": 0,
             "split_brain_roles_s": 0.0, "split_brain_haproxy_s": 0.25, "stale_reads": 0,
             "errors": {"timeout": 40}, "lost_keys": [], "split_votes": 0}
    return {"scenario": name, "description": f"{name}: a hand-made scenario",
            "status": status, "checks": [{"check": "fails over", "ok": status != "fail",
                                          "detail": "+switch-master after 1.5 s"}],
            "findings": [f"{lost} acknowledged writes lost"] if lost else [],
            "target_shard": 1, "faults": [{"fault": name, "target": {"instance": "redis1:6379"}}],
            "measures": {"1": shard}, "convergence": {"settled": True, "seconds": 3.2,
                                                      "problems": [], "datasets_equal": True},
            "history": f"{name}.jsonl", "load": None}


def make_run(reports: Path, run_id: str, *, layout: str = "article", complete: bool = True,
             scenarios=(("stop-master", "finding", 12), ("pause-master", "pass", 0)),
             unfinished: str | None = None) -> Path:
    run_dir = reports / run_id
    run_dir.mkdir(parents=True)
    for name, _, _ in scenarios:
        (run_dir / f"{name}.jsonl").write_text(
            "".join(json.dumps(e) + "\n" for e in history(name)))
    if unfinished:
        (run_dir / f"{unfinished}.jsonl").write_text(
            "".join(json.dumps(e) + "\n" for e in history(unfinished, healed=False)[:50]))
    results = {
        "run_id": run_id, "started": "2026-11-25T10:00:00Z", "updated": "2026-11-25T10:02:00Z",
        "complete": complete, "interrupted": not complete,
        "lab": {"name": "rhl-unit", "layout": layout, "backend": "vagrant",
                "provider": "docker", "servers": TOPOLOGY["servers"],
                "sentinel": {"quorum": 2, "down_after_ms": 2000},
                "redis": {"min_replicas_to_write": 0}, "haproxy": {"first_port": 5000},
                "images": "offline", "topology": {**TOPOLOGY, "layout": layout},
                "versions": {"redis": "7.0.15", "haproxy": "HAProxy version 2.6.12",
                             "docker": "20.10.24"}},
        "scenarios": [result(n, s, lost) for n, s, lost in scenarios],
        "hypothesis": {"profile": "ci", "seed": 42, "status": "fail", "seconds": 60.0,
                       "failure": {"id": "abc123", "error": "writes unavailable",
                                   "steps": [{"rule": "inject", "kind": "stop-master",
                                              "shard": 1}, {"rule": "heal"}],
                                   "replay": "nox -s chaos -- --replay abc123"}},
    }
    (run_dir / "results.json").write_text(json.dumps(results, indent=2))
    return run_dir


def test_timeline_shades_the_fault_on_every_row_and_marks_the_switch():
    scenario = rundata.ScenarioRun(ScenarioResult.from_json(result("stop-master")),
                                   history())
    fig = timeline.figure(scenario, [1, 2, 3])
    faults = [s for s in fig.layout.shapes if (s.name or "").startswith("fault")]
    assert len(faults) == 4  # one per row: writes, latency, errors, events
    assert {(s.x0, s.x1) for s in faults} == {(2.0, 6.0)}
    texts = [a.text for a in fig.layout.annotations]
    assert "fault: stop-master" in texts
    assert "+switch-master shard1" in texts
    writes = next(t for t in fig.data if t.name == "shard 1")
    assert 0 in writes.y[9:15] and max(writes.y) == 20  # the outage, then 20 writes/s
    errors = next(t for t in fig.data if t.name == "shard 1 errors")
    assert sum(errors.y) == 40 and "timeout" in errors.hovertext[0]


def test_a_fault_never_healed_is_shaded_to_the_end_and_says_so():
    scenario = rundata.ScenarioRun(ScenarioResult.from_json(result("stop-master")),
                                   history(healed=False))
    fig = timeline.figure(scenario, [1, 2, 3])
    ends = {s.x1 for s in fig.layout.shapes if (s.name or "").startswith("fault")}
    assert ends == {round(max(e["t"] for e in history(healed=False)) - T0, 3)}
    assert "fault: stop-master (never healed)" in [a.text for a in fig.layout.annotations]


def test_headline_uses_the_target_shard_and_the_worse_split_brain():
    numbers = summary.headline(ScenarioResult.from_json(result("stop-master")))
    assert numbers["failover_s"] == 1.5 and numbers["lost_writes"] == 12
    assert numbers["split_brain_s"] == 0.25 and numbers["client_errors"] == 40
    errored = ScenarioResult.from_json({"scenario": "x", "status": "error"})
    assert summary.headline(errored)["lost_writes"] is None


def test_overall_verdict_orders_error_fail_incomplete_finding_pass():
    def of(statuses, complete=True, hypothesis=None):
        return summary.overall(RunRecord.from_json(
            {"run_id": "x", "complete": complete, "hypothesis": hypothesis,
             "scenarios": [{"scenario": "x", "status": s} for s in statuses]}))[0]

    assert of(["pass", "error"]) == "error"
    assert of(["pass", "fail"]) == "fail"
    assert of(["pass"], hypothesis={"status": "fail"}) == "fail"
    assert of(["pass"], complete=False) == "incomplete"
    assert of(["pass", "finding", "skipped"]) == "finding"
    assert of(["pass", "skipped"]) == "pass"


def test_topology_drawing_shows_every_instance_sentinel_and_haproxy():
    svg = topology_svg(TOPOLOGY, ":5000-5005")
    assert svg.count("redis :") == 9 and svg.count("sentinel :") == 9
    assert svg.count("HAProxy :5000-5005") == 3
    assert "shard 2 master" in svg and "192.168.70.13" in svg
    assert "watches shard3" in svg  # no monitor names recorded: shard<N>
    named = {**TOPOLOGY, "shards": [{**s, "monitor": f"cache-{s['number']}"}
                                    for s in TOPOLOGY["shards"]]}
    assert "watches cache-3" in topology_svg(named, ":5000-5005")


def test_locust_history_is_read_per_request_name(tmp_path):
    path = tmp_path / rundata.LOCUST_HISTORY
    path.write_text(
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%\n"
        "1800000001,0,,Aggregated,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A\n"
        "1800000001,4,redis,SET :5000,10.5,0.0,1,1,1,1,1,2\n"
        "1800000002,4,redis,SET :5000,3.0,7.0,1,1,1,1,1,N/A\n"
        "1800000002,4,redis,GET :5001,9.0,0.0,1,1,1,1,1,1\n")
    series = rundata.read_locust_history(path)
    assert list(series) == ["GET :5001", "SET :5000"]
    assert series["SET :5000"][1] == {"t": 1800000002.0, "rps": 3.0, "fps": 7.0, "p95_ms": None}


def test_a_rebuild_is_byte_for_byte_the_same_page(tmp_path):
    make_run(tmp_path, "20261125-100000-chaos")
    first = build_run(tmp_path / "20261125-100000-chaos").read_bytes()
    (tmp_path / "20261125-100000-chaos" / "index.html").unlink()
    again = build_run(tmp_path / "20261125-100000-chaos").read_bytes()
    assert first == again
    assert b"Plotly" in first and b"<script src=" not in first  # inlined, never fetched


def test_an_incomplete_run_is_marked_and_links_the_history_it_cut_short(tmp_path):
    run_dir = make_run(tmp_path, "20261125-100000-chaos", complete=False,
                       scenarios=(("stop-master", "finding", 12),), unfinished="pause-master")
    page = build_run(run_dir).read_text()
    assert 'id="incomplete"' in page and "INCOMPLETE" in page
    assert 'href="pause-master.jsonl"' in page
    assert page.count('class="verdict-row"') == 1


def test_report_command_rejects_an_unknown_run_with_exit_2(tmp_path):
    make_run(tmp_path, "20261125-100000-chaos")
    result = subprocess.run([sys.executable, "-m", "lab", "report", "--reports", str(tmp_path),
                             "20991231-000000-chaos"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no run '20991231-000000-chaos'" in result.stderr


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    make_run(reports, "20261125-100000-chaos", layout="article")
    make_run(reports, "20261125-110000-chaos", layout="spread",
             scenarios=(("stop-master", "pass", 0), ("pause-master", "finding", 5)))
    (reports / "20261125-120000-load").mkdir()
    (reports / "20261125-120000-load" / "locust.html").write_text("<html></html>")
    build(reports)
    return reports


@pytest.mark.browser
def test_run_page_in_headless_chromium_has_no_console_errors(two_runs):
    page = two_runs / "20261125-100000-chaos" / "index.html"
    problems, check = command.verify(page)
    assert problems == []
    assert check.answers["verdict_rows"] == 2 and check.answers["timelines"] == 2
    assert check.answers["fault_shapes"] == [4, 4] and check.answers["shaded_paths"] >= 8
    assert check.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert check.external_requests == []  # self-contained: nothing fetched over a network


@pytest.mark.browser
def test_index_compares_two_runs_in_headless_chromium(two_runs):
    problems, check = command.verify(two_runs / "index.html")
    assert problems == []
    assert check.answers["runs"] == 3  # the two chaos runs and the load run
    assert check.answers["compared"] == 2  # stop-master and pause-master side by side
    index = (two_runs / "index.html").read_text()
    assert "20261125-120000-load/locust.html" in index


def test_build_index_lists_newest_first(two_runs):
    page = build_index(two_runs).read_text()
    assert page.index("20261125-120000-load") < page.index("20261125-110000-chaos") \
        < page.index("20261125-100000-chaos")


@pytest.mark.browser
def test_the_browser_check_sees_errors_exceptions_and_outside_requests(tmp_path):
    """The check itself can fail: a page that logs an error, throws, and asks a server
    (loopback's discard port: nothing leaves this machine) for an image."""
    from lab.report import browser

    page = tmp_path / "bad.html"
    page.write_text('<html><body><img src="http://127.0.0.1:9/x.png">'
                    '<script>console.error("boom"); throw new Error("kaput");</script>'
                    '</body></html>')
    check = browser.check_page(page, {"title": "document.title"})
    assert any("boom" in e for e in check.console_errors), check.console_errors
    assert any("kaput" in e for e in check.console_errors), check.console_errors
    assert "http://127.0.0.1:9/x.png" in check.external_requests
    assert check.answers == {"title": ""}


def test_the_timeline_marks_two_instances_up_in_a_sentinel_checked_backend_once():
    import plotly.graph_objects as go

    from lab.report import timeline

    fig = go.Figure().set_subplots(rows=4, cols=1)  # the event lanes are the 4th row
    checked = "shard1_master_checked"
    events = [
        {"type": "haproxy", "t": 1.0, "haproxy": "redis1", "backend": checked,
         "up": ["redis1_6379_by_1_2", "redis1_6379_by_1_3", "redis1_6379_by_2_3"]},
        {"type": "haproxy", "t": 2.0, "haproxy": "redis1", "backend": checked,
         "up": ["redis1_6379_by_1_2", "redis1_6380_by_2_3"]},
    ]
    timeline._event_traces(fig, events, 0.0)
    [lane] = [t for t in fig.data if t.name == "HAProxy"]
    assert list(lane.marker.color) == ["#1c7ed6", "#e03131"]  # one instance, then two
    assert "UP redis1_6379\n" in lane.hovertext[0] + "\n"


def test_the_page_says_where_each_recording_s_time_went(tmp_path):
    run_dir = make_run(tmp_path, "20261125-100000-chaos")
    data = json.loads((run_dir / "results.json").read_text())
    data["scenarios"][0]["phases"] = {"reset": 3.5, "hold": 8.0, "convergence": 4.25}
    example = {"steps": [], "status": "pass", "scores": {}, "breaches": [], "error": None,
               "faults": [], "started": 1800000000.0, "seconds": 10.0}
    data["hypothesis"]["examples"] = [
        {**example, "n": 1, "history": "hypothesis/example-1.jsonl",
         "phases": {"reset": 2.0, "hold": 6.0}},
        {**example, "n": 2, "history": "hypothesis/example-2.jsonl",
         "phases": {"reset": 1.0, "hold": 1.0}}]
    data["report_s"] = 987.654
    (run_dir / "results.json").write_text(json.dumps(data))
    page = build_run(run_dir).read_text()
    assert 'id="time-table"' in page
    assert "987.654" not in page  # the report's own build time: not on the page it built
    rows = page.split('class="time-row"')[1:]
    assert len(rows) == 2  # pause-master has no phases (recorded before them): no row
    assert "stop-master" in rows[0] and ">15.8<" in rows[0]  # its total
    assert "Hypothesis (2 examples)" in rows[1] and ">3.0<" in rows[1] and ">10.0<" in rows[1]


def test_a_run_recorded_before_phases_has_no_time_table(tmp_path):
    page = build_run(make_run(tmp_path, "20261125-100000-chaos")).read_text()
    assert 'id="time-table"' not in page


def test_two_runs_rewriting_the_index_at_once_never_trip_over_each_other(tmp_path):
    import threading

    from lab.report import pages

    path, errors = tmp_path / "index.html", []

    def writer(text):
        try:
            for _ in range(200):
                pages.write(path, text)
        except OSError as exc:  # the shared ".partial" name made one replace() fail
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t * 5000,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and path.read_text() in ("a" * 5000, "b" * 5000)
    assert list(tmp_path.iterdir()) == [path] and oct(path.stat().st_mode)[-3:] == "644"
