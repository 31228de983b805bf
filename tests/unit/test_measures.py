"""The measures registry: one object per number, read by [slo] validation, the judge, the
workshop's predictions and the design page; a new measure is one registration."""

from __future__ import annotations

import json

import pytest

from lab import config, measures
from lab.chaos import slo
from lab.chaos.checkers import ShardMeasures
from lab.chaos.record import Convergence
from lab.errors import ConfigError
from lab.paths import PROJECT_ROOT
from lab.report import build_run, matrix
from lab.workshop import exercises
from tests.unit.test_report import make_run
from tests.unit.test_workshop import GOOD, write

DESIGN = PROJECT_ROOT / "docs" / "design.md"


@pytest.fixture
def replica_lag():
    """A throw-away measure: the most replica-link-down seconds of any shard."""
    measure = measures.register(measures.Measure(
        "replica_link_down_s", "s", "longest time a replica's link was down, seconds",
        lambda shards, convergence: measures.longest(m.replica_link_down_s for m in shards),
        title="replica link down", in_matrix=True))
    yield measure
    measures.forget(measure.name)


def test_a_registered_measure_is_an_slo_judged_over_every_shard(replica_lag):
    cfg = config.from_dict({"slo": {"replica_link_down_s": 2,
                                    "scenarios": {"crash-master": {"replica_link_down_s": 9}}}})
    assert cfg.slo.for_scenario("stop-master") == {"replica_link_down_s": 2}
    shards = {1: ShardMeasures(1, lost_writes=0, indeterminate_writes=0, replica_link_down_s=1.5),
              2: ShardMeasures(2, lost_writes=0, indeterminate_writes=0, replica_link_down_s=4.0)}
    measured = slo.values(shards, Convergence(True, 3.0))
    assert measured["replica_link_down_s"] == 4.0  # the longest, as defined
    [breach] = slo.breaches(cfg.slo.for_scenario("stop-master"), measured, "stop-master")
    assert (breach.measure, breach.value, breach.threshold) == ("replica_link_down_s", 4.0, 2)
    assert slo.breaches(cfg.slo.for_scenario("crash-master"), measured, "crash-master") == []


def test_a_registered_measure_is_a_column_of_the_report_and_a_line_of_matrix_cells(
        tmp_path, replica_lag):
    run_dir = make_run(tmp_path, "20261125-100000-chaos")
    record = json.loads((run_dir / "results.json").read_text())
    record["scenarios"][0]["measures"]["1"]["replica_link_down_s"] = 7.25
    (run_dir / "results.json").write_text(json.dumps(record))
    page = build_run(run_dir).read_text()
    assert "<th class=\"num\">replica link down</th>" in page
    assert "<td class=\"num\">7.25 s</td>" in page  # the target shard's value
    assert "replica_link_down_s" in {key for key, _, _ in measures.columns(in_matrix=True)}
    cells = {name: {"status": "finding", "n": 1, "replica_link_down_s": value,
                    "replica_link_down_s_range": [value, value]}
             for name, value in (("a", 1.0), ("b", None))}
    assert matrix.differences(cells) == {"replica_link_down_s"}  # taken in one variant only


def test_a_registered_measure_can_be_predicted_in_an_exercise(tmp_path, replica_lag):
    text = GOOD.replace('measure = "writes_resumed_s"', 'measure = "replica_link_down_s"')
    exercise = exercises.load(write(tmp_path, text))
    assert exercise.steps[1].predict.measure == "replica_link_down_s"


def test_once_forgotten_the_measure_is_refused_again(tmp_path):
    with pytest.raises(ConfigError, match="unknown measure 'replica_link_down_s'"):
        config.from_dict({"slo": {"replica_link_down_s": 2}})
    text = GOOD.replace('measure = "writes_resumed_s"', 'measure = "replica_link_down_s"')
    with pytest.raises(exercises.ExerciseError, match="replica_link_down_s"):
        exercises.load(write(tmp_path, text))


def test_names_are_unique():
    [first, *_] = measures.registered().values()
    with pytest.raises(ValueError, match="registered twice"):
        measures.register(first)


def test_every_measure_is_defined_on_the_design_page():
    page = DESIGN.read_text()
    missing = [name for name in measures.registered() if f"`{name}`" not in page]
    assert missing == []


def test_the_shipped_lab_toml_names_every_measure_an_slo_can_bound():
    comment = " ".join(line.lstrip("# ") for line in
                       (PROJECT_ROOT / "lab.toml").read_text().splitlines()
                       if line.startswith("#"))
    assert [name for name in measures.registered() if name not in comment] == []


def test_does_not_apply_unknown_and_measured_are_three_answers():
    quiet = ShardMeasures(1, lost_writes=0, indeterminate_writes=None)  # no failover, no read-back
    measured = measures.values([quiet], None)
    assert "failover_s" not in measured  # no failover: does not apply
    assert measured["indeterminate_writes"] is measures.UNKNOWN  # applies, not measured
    assert measured["convergence_s"] is measures.UNKNOWN  # never got there
    assert measured["lost_writes"] == 0
