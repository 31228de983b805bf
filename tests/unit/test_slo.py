"""SLOs: read from lab.toml (or --slo FILE), judged on a history's measures, GO/NO-GO on
the run, JUnit XML for CI, and every bad input refused with one line."""

from __future__ import annotations

import json

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from lab import config
from lab.chaos import judge, slo
from lab.chaos.checkers import ShardMeasures
from lab.chaos.record import Convergence, RunRecord, ScenarioResult, Status, spread
from lab.cli import main
from lab.errors import ConfigError
from lab.report import build_run, junit
from tests.unit.test_judge import FAILS_OVER, history

SETTLED = Convergence(True, 4.0)


def shard(n: int, **values) -> ShardMeasures:
    m = ShardMeasures(n, lost_writes=0, indeterminate_writes=0)
    for key, value in values.items():
        setattr(m, key, value)
    return m


# -- lab.toml and --slo FILE -----------------------------------------------------------------


def test_slos_are_read_with_per_scenario_overrides():
    cfg = config.from_dict({"slo": {"lost_writes": 0, "failover_s": 60,
                                    "scenarios": {"crash-master": {"lost_writes": 1000}}}})
    assert cfg.slo.for_scenario("stop-master") == {"failover_s": 60, "lost_writes": 0}
    assert cfg.slo.for_scenario("crash-master") == {"failover_s": 60, "lost_writes": 1000}
    assert not config.from_dict({}).slo  # no [slo]: today's behaviour


@pytest.mark.parametrize(("table", "expected"), [
    ({"lost": 0}, "[slo] unknown measure 'lost'; known: failover_s, writes_resumed_s"),
    ({"lost_writes": -1}, "[slo] lost_writes = -1: must be 0 or more"),
    ({"outage_s": "5s"}, "[slo] outage_s = '5s': must be a number"),
    ({"outage_s": True}, "[slo] outage_s = True: must be a number"),
    ({"scenarios": {"crash-master": {"lots": 1}}},
     "[slo.scenarios.crash-master] unknown measure 'lots'"),
    ({"scenarios": {"crash-master": 3}}, "[slo.scenarios.<name>] must be tables"),
])
def test_bad_slos_name_the_field(table, expected):
    with pytest.raises(ConfigError) as err:
        config.from_dict({"slo": table})
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_an_slo_file(tmp_path):
    good = tmp_path / "slo.toml"
    good.write_text("[slo]\nlost_writes = 0\n[slo.scenarios.pause-master]\nsplit_brain_s = 20\n")
    assert config.load_slo(good).for_scenario("pause-master") == {
        "lost_writes": 0, "split_brain_s": 20}
    other = tmp_path / "other.toml"
    other.write_text("[redis]\nrestart = 'no'\n")
    with pytest.raises(ConfigError, match="expected one \\[slo\\] table"):
        config.load_slo(other)
    with pytest.raises(ConfigError, match="no such file"):
        config.load_slo(tmp_path / "missing.toml")


# -- judging ---------------------------------------------------------------------------------


def test_measures_are_read_over_every_shard():
    measured = slo.values({1: shard(1, failover_s=3.0, lost_writes=2, outage_s=4.0,
                                    outage_by_haproxy={"a": 6.5}),
                           2: shard(2, lost_writes=5, outage_s=1.0, split_brain_roles_s=2.0)},
                          SETTLED)
    assert measured["failover_s"] == 3.0  # the only shard that failed over
    assert measured["lost_writes"] == 7  # summed
    assert measured["outage_s"] == 6.5  # the worst any client saw
    assert measured["split_brain_s"] == 2.0 and measured["convergence_s"] == 4.0
    # Shard 1 failed over and no write succeeded after the switch: writes never resumed,
    # which applies and was not measured (a breach of any bound), never "does not apply".
    assert measured["writes_resumed_s"] is slo.UNKNOWN


def test_unknown_values_breach_and_inapplicable_ones_are_not_judged():
    measured = slo.values({1: shard(1, lost_writes=None)}, Convergence(False, 60.0))
    found = slo.breaches({"lost_writes": 1000, "convergence_s": 600, "failover_s": 1},
                         measured, "stop-master")
    assert [(b.measure, b.value) for b in found] == [("convergence_s", None),
                                                     ("lost_writes", None)]
    assert found[1].line() == "stop-master: lost_writes = unknown > 1000"
    assert slo.breaches({"lost_writes": 4}, {"lost_writes": 4}, "x") == []  # a bound, not <
    assert slo.breaches({"lost_writes": 4}, {"lost_writes": 5}, "x")[0].line() == \
        "x: lost_writes = 5 > 4"


def test_the_judge_reads_the_thresholds_from_the_history():
    events = history(expect=FAILS_OVER, lost=True)
    events[0]["slo"] = {"lost_writes": 0, "failover_s": 60}
    judged = judge.judge_history(events)
    assert [b.line() for b in judged.breaches] == ["stop-master: lost_writes = 5 > 0"]
    assert judge.judge_history(events, {"lost_writes": 10}).breaches == []  # re-judged


def test_go_no_go_and_the_exit_status():
    met = ScenarioResult("stop-master", status=Status.PASS)
    record = RunRecord("r", scenarios=[met], slo={"global": {"lost_writes": 0}})
    assert record.go is True and record.go_line() == "GO: every SLO met"
    assert record.exit_code() == 0
    breached = ScenarioResult("crash-master", status=Status.FINDING, slo_breaches=[
        slo.Breach("crash-master", "lost_writes", 152, 0)])
    record.scenarios.append(breached)
    assert record.go is False and record.exit_code() == 1
    assert record.go_line() == "NO-GO: crash-master: lost_writes = 152 > 0"
    assert RunRecord("r", scenarios=[breached]).go is None  # no SLOs set: not judged
    assert RunRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_spread_over_repetitions():
    assert spread([3.0, 1.0, 2.0, 10.0]) == {"n": 4, "min": 1.0, "median": 2.5, "p90": 7.9,
                                             "max": 10.0}
    assert spread([2.0])["p90"] == 2.0 and spread([])["n"] == 0


# -- JUnit XML and the report ------------------------------------------------------------------


def a_run() -> RunRecord:
    breach = slo.Breach("crash-master #2", "lost_writes", 152, 0)
    return RunRecord("20261129-000000-chaos", complete=True, slo={"global": {"lost_writes": 0}},
                     scenarios=[
                         ScenarioResult("crash-master", status=Status.PASS, repetition=1,
                                        repetitions=2, seconds=31.5),
                         ScenarioResult("crash-master", status=Status.FINDING, repetition=2,
                                        repetitions=2, slo_breaches=[breach]),
                         ScenarioResult("latency", status=Status.SKIPPED,
                                        findings=["skipped: kernel lacks netem"]),
                         ScenarioResult.errored("stop-master", "no SSH"),
                     ])


def test_junit_has_a_case_per_repetition_read_back_with_a_junit_parser(tmp_path):
    path = junit.write(a_run(), tmp_path / "junit.xml")
    cases = {c.name: c for suite in JUnitXml.fromfile(str(path)) for c in suite}
    assert set(cases) == {"crash-master #1", "crash-master #2", "latency", "stop-master"}
    assert cases["crash-master #1"].is_passed and cases["crash-master #1"].time == 31.5
    [failure] = cases["crash-master #2"].result
    assert isinstance(failure, Failure)
    assert failure.message == "SLO breached: crash-master #2: lost_writes = 152 > 0"
    [skipped] = cases["latency"].result
    assert isinstance(skipped, Skipped) and "kernel lacks netem" in skipped.message
    assert isinstance(cases["stop-master"].result[0], Error)


def test_the_report_shows_no_go_the_slo_column_and_the_repetitions(tmp_path):
    run_dir = tmp_path / "20261129-000000-chaos"
    run_dir.mkdir()
    a_run().write(run_dir / "results.json")
    page = build_run(run_dir).read_text()
    assert 'id="go" class="banner fail"' in page and "NO-GO: 1 SLO breach(es)" in page
    assert "<b>lost_writes</b> measured 152" in page
    assert "breached: lost_writes" in page and ">met<" in page  # the SLO column
    assert 'id="aggregates"' in page  # crash-master ran twice


# -- bad input on the command line: one line, exit 2, nothing started -----------------------


@pytest.mark.parametrize(("args", "expected"), [
    (["chaos", "--repeat", "0"], "--repeat 0: must be 1..100"),
    (["chaos", "--budget", "nonsense"], "--budget 'nonsense': use e.g. 90s, 30m, 2h or 1h30m"),
    (["chaos", "--budget", "0m"], "--budget '0m': must be more than 0 and at most 24h"),
    (["chaos", "--save-scenario", "x"], "--save-scenario NAME needs --replay ID"),
    (["chaos", "--slo", "/nonexistent/slo.toml"], "--slo /nonexistent/slo.toml: no such file"),
])
def test_bad_chaos_input_is_one_line(args, expected, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no lab is up here: the input is refused first anyway
    (tmp_path / "lab.toml").write_text("")
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and "\n" not in err


def test_an_unknown_slo_measure_in_lab_toml_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lab.toml").write_text("[slo]\nlost = 0\n")
    assert main(["check-config"]) == 2
    err = capsys.readouterr().err.strip()
    assert "[slo] unknown measure 'lost'" in err and "\n" not in err


def repeated_run(reports, run_id: str, failover: list[float], outage: list[float],
                 go: bool) -> None:
    run_dir = reports / run_id
    run_dir.mkdir(parents=True)
    n = len(failover)
    breaches = [] if go else [slo.Breach("stop-master #1", "failover_s", failover[0], 1.0)]
    RunRecord(run_id, complete=True, lab={"layout": "article"},
              slo={"global": {"failover_s": 1.0 if not go else 60.0}},
              scenarios=[ScenarioResult("stop-master", status=Status.PASS, repetition=i + 1,
                                        repetitions=n,
                                        measures={1: shard(1, failover_s=f, outage_s=o)},
                                        convergence=SETTLED,
                                        slo_breaches=breaches if i == 0 else [])
                         for i, (f, o) in enumerate(zip(failover, outage, strict=True))]
              ).write(run_dir / "results.json")


COMPARED_CELLS = ("[...document.querySelectorAll('#compare-scenarios tr.compare-row td')]"
                  ".map(td => [td.textContent, td.className])")
SLO_ROW = "[...document.querySelectorAll('#compare-slo td')].map(td => td.textContent)"


@pytest.mark.browser
def test_the_comparison_marks_a_change_only_beyond_the_spread(tmp_path):
    from lab.report import browser, build

    repeated_run(tmp_path, "20261129-100000-chaos", [3.0, 3.2, 3.1], [5.0, 6.0, 7.0], True)
    repeated_run(tmp_path, "20261129-110000-chaos", [4.5, 4.6, 4.7], [5.5, 6.5, 6.2], False)
    build(tmp_path)
    check = browser.check_page(tmp_path / "index.html",
                               {"cells": COMPARED_CELLS, "slo": SLO_ROW})
    cells = check.answers["cells"]
    assert ["3.10 s → 4.60 s", "num worse"] in cells  # ranges 3.0..3.2 and 4.5..4.7
    assert ["6 s → 6.20 s (within spread)", "num"] in cells  # 5..7 and 5.5..6.5 overlap
    assert check.answers["slo"] == ["SLOs", "GO", "NO-GO (1 breached)"]


@pytest.mark.browser
def test_single_runs_are_never_marked(tmp_path):
    from lab.report import browser, build

    repeated_run(tmp_path, "20261129-100000-chaos", [3.54], [4.0], True)
    repeated_run(tmp_path, "20261129-110000-chaos", [4.08], [4.0], True)
    build(tmp_path)
    check = browser.check_page(tmp_path / "index.html", {"cells": COMPARED_CELLS})
    failover = next(v for v in check.answers["cells"] if v[0].startswith("3.54 s"))
    assert failover == ["3.54 s → 4.08 s (single run)", "num"]
