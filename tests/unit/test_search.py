"""The search's power and honesty, without a lab: holds from the lab's own timing, the
known sequences, preconditions that read only what was drawn, what a search covered and
what its last line may say, and the holes a GO could once hide."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis.errors import FlakyStrategyDefinition

from lab import config
from lab.chaos import faults, scenarios, stateful
from lab.chaos.coverage import Coverage, fault_outcomes, grid
from lab.chaos.faults import FaultSkipped
from lab.chaos.holds import Holds
from lab.chaos.record import HypothesisResult, RunRecord, ScenarioResult, Status
from lab.chaos.slo import Breach
from lab.cli import main
from lab.config import LabConfig, SentinelSettings, SloSettings
from lab.errors import ConfigError
from tests.unit.test_faults import CID, fake_nemesis, lab_topology

T0 = 1_800_000_000.0

# -- holds from the lab's timing ---------------------------------------------------------------


def test_holds_scale_with_down_after_so_past_failover_means_past_failover():
    default = Holds.for_lab(SentinelSettings())  # down-after 2 s, failover timeout 10 s
    assert (default.brief_s, default.past_failover_s, default.long_s) == (1.0, 6.0, 16.0)
    sentinel_default = Holds.for_lab(SentinelSettings(down_after_ms=30_000))
    assert sentinel_default.brief_s == 15.0  # healed before Sentinel notices
    assert sentinel_default.past_failover_s > 30  # held past a 30 s down-after
    # The first choice is what a shrunk example keeps: the hold that matters most.
    assert sentinel_default.hold_choices()[0] == sentinel_default.past_failover_s
    # A failover this run measured longer than the estimate lengthens the hold.
    assert Holds(2.0, 10.0, measured_failover_s=9.0).past_failover_s == 10.0


def test_known_sequences_are_the_catalogues_searched_faults_held_past_failover():
    catalogue = list(scenarios.load_all().values())
    slow = Holds.for_lab(SentinelSettings(down_after_ms=30_000))
    known = dict(stateful.known_sequences(catalogue, slow))
    steps = known["isolate-master-with-clients"]
    assert steps == [{"rule": "inject", "kind": "isolate-master-with-clients", "shard": 1,
                      "hold_s": slow.past_failover_s, "keep": True}, {"rule": "heal"}]
    assert "manual-failover" not in known  # a fault the search does not draw
    searched = set(faults.searched())
    assert {s["kind"] for steps in known.values() for s in steps if s["rule"] == "inject"} \
        <= searched


# -- the state machine: preconditions read what was drawn, never what happened --------------


class _Recording:
    """Injects fail as a fault whose target is restarting does."""

    def __init__(self, skip: bool) -> None:
        self.skip, self.skipped_faults, self.healed = skip, [], []

    def inject(self, name, **params):
        if self.skip:
            raise FaultSkipped("redis1:6379: no running process")
        return SimpleNamespace(kind=name)

    def skipped(self, name, reason, params=None):
        self.skipped_faults.append(name)

    def heal(self, applied):
        self.healed += list(applied)

    def hold(self, seconds, phase="hold"):
        pass  # the holds are 0 s here


def _machine(skip: bool):
    topo = lab_topology()
    session = SimpleNamespace(lab=SimpleNamespace(topology=topo, config=LabConfig()),
                              run_dir=None, slo=SloSettings())
    cls = stateful.machine_class(session, holds=Holds(0.0, 0.0))
    machine = cls.__new__(cls)  # the rules only, without a lab behind them
    machine.recording, machine.steps, machine.active = _Recording(skip), [], []
    machine.drawn, machine.settle_due = 0, False
    rules = {r.function.__name__: r for r in cls.setup_state().rules}
    return machine, rules


@pytest.mark.parametrize("keep", [True, False])
def test_a_skipped_fault_leaves_the_same_rules_enabled_as_an_applied_one(keep):
    """Hypothesis replays an example's draws: if a fault that could not run here (its
    container restarting) enabled other rules than one that ran, its data generation
    would differ between runs ("Inconsistent data generation"), a FAIL of ours."""
    enabled = []
    for skip in (False, True):
        machine, rules = _machine(skip)
        rules["inject"].function(machine, fault=("crash-master", {"shard": 1}), hold_s=0.0,
                                 keep=keep)
        enabled.append({name: all(p(machine) for p in rule.preconditions)
                        for name, rule in rules.items()})
        assert machine.steps[0]["hold_s"] == 0.0 and machine.steps[0]["keep"] is keep
    assert enabled[0] == enabled[1]
    assert enabled[0]["heal"] is keep  # a kept fault can be healed; a healed one cannot


def test_an_inconsistent_data_generation_is_an_error_of_the_search(monkeypatch):
    def inconsistent(*args, **kwargs):
        raise FlakyStrategyDefinition("Inconsistent data generation! ...")
    monkeypatch.setattr(stateful, "run_state_machine_as_test", inconsistent)
    monkeypatch.setattr(stateful, "machine_class", lambda *a, **k: type("M", (), {}))
    examples = stateful._Examples(None, {}, Holds(2.0, 10.0))
    with pytest.raises(stateful.SearchError, match="error of redis-ha-lab, not of the lab"):
        stateful._batch(None, examples, stateful.PROFILES["ci"], 1)


@pytest.mark.parametrize("ended_by", ["budget", "found"])
def test_an_example_ended_on_purpose_is_not_an_error_when_hypothesis_calls_it_flaky(
        monkeypatch, ended_by):
    """A 60-minute search ended "ERROR: inconsistent data generation" at its budget: the
    next example was stopped before it drew, on choices Hypothesis had run further
    before. The budget's end (or the first failure) stands; nothing of ours was wrong."""
    examples = stateful._Examples(None, {}, Holds(2.0, 10.0))
    examples.tried.append({"n": 77, "status": "fail"})
    breach = stateful.SloBreached("lost_writes = 12 > 0")

    def aborted(*args, **kwargs):  # as the machine does, then Hypothesis' answer
        examples.ended_by = stateful._BudgetSpent() if ended_by == "budget" \
            else stateful._Found(breach)
        raise FlakyStrategyDefinition("Inconsistent data generation! ...")
    monkeypatch.setattr(stateful, "run_state_machine_as_test", aborted)
    monkeypatch.setattr(stateful, "machine_class", lambda *a, **k: type("M", (), {}))
    found = stateful._batch(None, examples, stateful.PROFILES["ci"], 1)
    if ended_by == "budget":
        assert found is None
    else:
        assert found.error is breach and found.example["n"] == 77


@pytest.mark.parametrize("hypothesis_answer", ["lets it through", "calls it flaky"])
def test_an_example_whose_observer_broke_ends_the_search_as_an_error(monkeypatch,
                                                                     hypothesis_answer):
    """An observer that broke mid-example (the 60-minute search lost its HAProxy observer
    to a stats answer cut short) leaves a gap in what the example measured: the search
    ends as ERROR, never as a GO resting on it."""
    examples = stateful._Examples(None, {}, Holds(2.0, 10.0))
    error = stateful.SearchError("hypothesis example 66: error: the haproxy redis1 "
                                 "observer broke (AttributeError: ...)")

    def broken(*args, **kwargs):  # as the machine's teardown does
        examples.ended_by = stateful._Broken(error)
        if hypothesis_answer == "lets it through":
            raise examples.ended_by
        raise FlakyStrategyDefinition("Inconsistent data generation! ...")
    monkeypatch.setattr(stateful, "run_state_machine_as_test", broken)
    monkeypatch.setattr(stateful, "machine_class", lambda *a, **k: type("M", (), {}))
    with pytest.raises(stateful.SearchError, match="observer broke") as raised:
        stateful._batch(None, examples, stateful.PROFILES["ci"], 1)
    assert raised.value is error


def test_a_step_saved_before_holds_replays_as_it_then_ran():
    assert stateful._rule_arguments({"rule": "inject", "kind": "crash-master", "shard": 1}) \
        == {"fault": ("crash-master", {"shard": 1}), "hold_s": 0.0, "keep": True}
    assert stateful._rule_arguments({"rule": "inject", "kind": "stop-master", "shard": 2,
                                     "hold_s": 6.0, "keep": False}) \
        == {"fault": ("stop-master", {"shard": 2}), "hold_s": 6.0, "keep": False}


# -- faults never act on an unresolved target -----------------------------------------------


def test_a_crash_waits_for_a_restarting_container_and_never_signals_pid_0(monkeypatch):
    from lab.chaos import nemesis as nemesis_module

    monkeypatch.setattr(nemesis_module, "TARGET_BOUND_S", 0.3)
    topo = lab_topology()
    nemesis, machines = fake_nemesis(topo)
    machines["redis1"].answers.insert(0, (r"^docker inspect -f '\{\{.State.Pid\}\}'", "0\n", 0))
    with pytest.raises(FaultSkipped, match=f"redis1:6379: its container {CID} has had no "
                                           "running process"):
        faults.inject(nemesis, "crash-master", shard=1)
    assert not machines["redis1"].ran("^kill")


# -- coverage ---------------------------------------------------------------------------------


def _example_history() -> list[dict]:
    """Two overlapping faults on shard 1, a failover inside, one healed after 7 s."""
    return [
        {"type": "meta", "t": T0},
        {"type": "fault", "t": T0 + 1, "phase": "inject", "id": "a",
         "fault": "partition-sentinels", "params": {"shard": 1}},
        {"type": "fault", "t": T0 + 2, "phase": "inject", "id": "b",
         "fault": "kill-haproxy", "params": {"server": "redis2"}},
        {"type": "sentinel", "t": T0 + 5, "channel": "+switch-master", "data": "x"},
        {"type": "fault", "t": T0 + 3, "phase": "heal", "id": "b", "fault": "kill-haproxy"},
        {"type": "fault", "t": T0 + 8, "phase": "heal", "id": "a",
         "fault": "partition-sentinels"},
        {"type": "fault", "t": T0 + 9, "phase": "skipped", "fault": "latency",
         "reason": "kernel lacks netem", "params": {"server": "redis1"}},
        {"type": "convergence", "t": T0 + 12},
    ]


def test_fault_outcomes_come_from_the_history():
    outcomes = fault_outcomes(sorted(_example_history(), key=lambda e: e["t"]))
    assert outcomes == [
        {"fault": "partition-sentinels", "target": "shard 1", "held_s": 7.0,
         "failed_over": True, "overlapped": ["kill-haproxy"]},
        {"fault": "kill-haproxy", "target": "redis2", "held_s": 1.0, "failed_over": False,
         "overlapped": ["partition-sentinels"]},
        {"fault": "latency", "target": "redis1", "skipped": "kernel lacks netem"},
    ]


def test_the_grid_and_the_line_say_what_a_go_covers():
    holds = Holds(2.0, 10.0)
    outcomes = fault_outcomes(sorted(_example_history(), key=lambda e: e["t"]))
    examples = [{"faults": outcomes, "breaches": [{"measure": "lost_writes"}]}]
    cells = grid(examples, holds.held_past_failover)
    assert cells["partition-sentinels"]["shard 1"] == {
        "tried": 1, "held_past_failover": 1, "failed_over": 1, "breached": 1, "skipped": ""}
    assert cells["kill-haproxy"]["redis2"]["held_past_failover"] == 0
    coverage = Coverage(["partition-sentinels", "kill-haproxy", "crash-master", "latency"],
                        cells)
    assert coverage.held() == ["partition-sentinels"]
    assert coverage.missing() == ["kill-haproxy", "crash-master"]
    assert coverage.cannot_run() == {"latency": "kernel lacks netem"}
    assert coverage.line() == ("never held past failover: kill-haproxy; never tried: "
                               "crash-master; latency cannot run here (kernel lacks netem)")
    from lab.chaos.coverage import overlaps
    assert overlaps(examples) == ["kill-haproxy + partition-sentinels"]
    full = Coverage(["partition-sentinels"], cells)
    assert full.line() == "every searchable fault held past failover at least once"
    assert Coverage.from_json(coverage.to_json()) == coverage


# -- the run's last line --------------------------------------------------------------------


def _search(coverage: Coverage, status=Status.PASS, breaches=()) -> HypothesisResult:
    return HypothesisResult(status, "ci", 1, examples=[{"n": 1}, {"n": 2}],
                            coverage=coverage.to_json(), breaches=list(breaches),
                            failure={"error": "boom"} if status == Status.ERROR else None)


def test_a_go_says_what_it_covers_and_a_coverage_demand_can_make_it_no_go():
    held = Coverage(["partition-sentinels"], {"partition-sentinels": {"shard 1": {
        "tried": 1, "held_past_failover": 1, "failed_over": 1, "breached": 0,
        "skipped": ""}}})
    record = RunRecord("r", slo={"global": {"lost_writes": 0}}, hypothesis=_search(held))
    assert record.go is True
    assert record.go_line() == ("GO: no SLO breached in 2 examples; every searchable fault "
                                "held past failover at least once")
    thin = Coverage(["partition-sentinels", "crash-master"], held.cells)
    demanded = RunRecord("r", slo={"global": {}, "coverage": "every-fault"},
                         hypothesis=_search(thin))
    assert demanded.go is False and demanded.exit_code() == 1
    assert demanded.go_line() == ("NO-GO: coverage = every-fault: never held past failover: "
                                  "crash-master")
    asked_only = RunRecord("r", slo={"global": {}, "coverage": ""}, hypothesis=_search(thin))
    assert asked_only.go is True and "never tried: crash-master" in asked_only.go_line()


def test_an_errored_part_is_never_go_and_says_what_errored():
    held = Coverage([], {})
    errored_search = RunRecord("r", slo={"global": {"lost_writes": 0}},
                               hypothesis=_search(held, Status.ERROR))
    assert errored_search.go is None and errored_search.exit_code() == 2
    assert errored_search.go_line() == ("ERROR (no GO/NO-GO decision): hypothesis search: "
                                        "boom")
    errored_scenario = RunRecord("r", slo={"global": {"lost_writes": 0}},
                                 scenarios=[ScenarioResult.errored("crash-master",
                                                                   "`kill -9 0` failed")])
    assert errored_scenario.go is None
    assert errored_scenario.go_line() == ("ERROR (no GO/NO-GO decision): crash-master: "
                                          "`kill -9 0` failed")
    breached = Breach("crash-master", "lost_writes", 3, 0)
    both = RunRecord("r", slo={"global": {"lost_writes": 0}},
                     scenarios=[ScenarioResult("a", status=Status.FINDING,
                                               slo_breaches=[breached]),
                                ScenarioResult.errored("b", "boom")])
    assert both.go is False and both.go_line() == (
        "NO-GO: crash-master: lost_writes = 3 > 0; also errored: b: boom")
    assert both.exit_code() == 2


def test_slo_coverage_is_validated():
    assert config.from_dict({"slo": {"coverage": "every-fault"}}).slo.coverage == "every-fault"
    with pytest.raises(ConfigError, match="coverage = 'all': one of \"\", \"every-fault\""):
        config.from_dict({"slo": {"coverage": "all"}})


# -- holes a GO could hide --------------------------------------------------------------------


def test_an_outage_still_open_at_the_end_is_a_breach_not_a_number():
    from lab.chaos import slo
    from lab.chaos.checkers import ShardMeasures
    from lab.chaos.record import Convergence

    m = ShardMeasures(1, lost_writes=0, indeterminate_writes=0, outage_s=3.0, outage_open=True)
    measured = slo.values({1: m}, Convergence(True, 2.0))
    assert measured["outage_s"] is slo.UNKNOWN
    assert [b.line() for b in slo.breaches({"outage_s": 60}, measured, "x")] == [
        "x: outage_s = unknown > 60"]


def test_rdb_expects_the_writes_since_the_last_snapshot_to_be_lost():
    crash = scenarios.load_all()["crash-master"]
    rdb = crash.expect(config.from_dict({"redis": {"persistence": "rdb"}}))
    assert rdb.lost_writes_are_finding and "RDB snapshot" in rdb.finding
    aof = crash.expect(config.from_dict({"redis": {"persistence": "aof"}}))
    assert not aof.lost_writes_are_finding and aof.max_lost_writes == 0


def test_an_example_with_a_skipped_fault_is_still_judged_on_its_slos():
    from lab.chaos import judge
    from lab.chaos.scenarios import Expect
    from tests.unit.test_judge import history

    events = history(expect=Expect(max_lost_writes=None), lost=True, skipped="no netem")
    events[0].update(slo={"lost_writes": 0}, example=3, label="hypothesis example 3")
    judged = judge.judge_history(events)
    assert judged.verdict.status != Status.SKIPPED
    assert [b.measure for b in judged.breaches] == ["lost_writes"]
    # Its loss is explained in words, not only counted.
    assert any("acknowledged writes lost" in f for f in judged.verdict.findings)


def test_judge_does_not_count_a_missing_history_or_an_errored_scenario_as_recorded(
        tmp_path, capsys):
    from tests.unit.test_judge import write_run

    run_dir = write_run(tmp_path)
    (run_dir / "stop-master.jsonl").unlink()
    assert main(["judge", "--reports", str(tmp_path), run_dir.name]) == 1
    assert "stop-master: pass (not re-judged: no history)" in capsys.readouterr().out
    record = RunRecord.read(run_dir / "results.json")
    record.scenarios = [ScenarioResult.errored("stop-master", "boom")]
    record.write(run_dir / "results.json")
    assert main(["judge", "--reports", str(tmp_path), run_dir.name]) == 1
    assert "(not re-judged: it errored)" in capsys.readouterr().out


def test_an_empty_lab_config_is_bad_input(monkeypatch, capsys):
    monkeypatch.setenv("LAB_CONFIG", "")
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "LAB_CONFIG is set but empty" in err


def test_a_lab_toml_that_differs_from_the_lab_that_is_up_is_named():
    applied = config.from_dict({"redis": {"persistence": "aof"}})
    now = config.from_dict({"redis": {"persistence": "none"},
                            "slo": {"lost_writes": 0}})  # SLOs are read live: no difference
    assert config.differences(applied, now) == ["redis.persistence: 'aof' -> 'none'"]
    assert config.differences(applied, applied) == []


def test_the_lab_that_is_up_is_said_to_differ_before_anything_runs(tmp_path, monkeypatch,
                                                                   caplog):
    import logging

    from lab.context import Lab
    from lab.paths import LabPaths

    monkeypatch.setenv("REDIS_HA_LAB_HOME", str(tmp_path / "state"))
    wanted = tmp_path / "lab.toml"
    wanted.write_text('[lab]\nname = "rhl-differs"\n[redis]\npersistence = "none"\n')
    paths = LabPaths.for_lab("rhl-differs")
    paths.home.mkdir(parents=True)
    paths.applied_config.write_text(
        '[lab]\nname = "rhl-differs"\n[redis]\npersistence = "aof"\n')
    with caplog.at_level(logging.INFO):
        lab = Lab.load(wanted, prefer_applied=True)
    assert lab.config.redis.persistence == "aof"  # acts on the lab as it is up ...
    [line] = [r.getMessage() for r in caplog.records if "differs" in r.getMessage()]
    assert "redis.persistence: 'aof' -> 'none'" in line and "nox -s lab_up" in line


def test_shrinking_tries_each_fault_alone_first_then_one_step_fewer():
    a = {"rule": "inject", "kind": "packet-loss", "server": 1, "hold_s": 1.0, "keep": True}
    b = {"rule": "inject", "kind": "partition-sentinels", "shard": 3, "hold_s": 16.0,
         "keep": False}
    candidates = stateful.shrink_candidates([a, b, {"rule": "heal"}])
    assert candidates[:2] == [[{**a, "keep": False}], [b]]  # each fault alone, healed
    assert [b, {"rule": "heal"}] in candidates and [a, b] in candidates
    assert len(candidates) <= 2 * 3  # bounded: examples take half a minute each
    assert stateful.shrink_candidates([b]) == []  # one fault, healed: already minimal


def test_a_spent_budget_starts_no_new_example():
    topo = lab_topology()
    session = SimpleNamespace(lab=SimpleNamespace(topology=topo, config=LabConfig()),
                              run_dir=None, slo=SloSettings())  # no lab: nothing may run
    examples = stateful._Examples(None, {}, Holds(2.0, 10.0), stop_at_first=True,
                                  deadline=0.0)
    cls = stateful.machine_class(session, examples)
    with pytest.raises(stateful._BudgetSpent):
        cls()
    assert examples.tried == []  # nothing recorded, nothing touched


def test_the_report_draws_the_coverage_grid_and_the_go_line(tmp_path):
    from lab.report import build_run

    outcomes = fault_outcomes(sorted(_example_history(), key=lambda e: e["t"]))
    examples = [{"n": 1, "steps": [], "history": "hypothesis/example-1.jsonl",
                 "status": "pass", "scores": {}, "faults": outcomes, "breaches": []}]
    cells = grid(examples, Holds(2.0, 10.0).held_past_failover)
    coverage = Coverage(["partition-sentinels", "kill-haproxy", "latency"], cells,
                        ["kill-haproxy + partition-sentinels"])
    run_dir = tmp_path / "20261203-000000-chaos"
    run_dir.mkdir()
    RunRecord(run_dir.name, complete=True, slo={"global": {"lost_writes": 0}},
              hypothesis=HypothesisResult(Status.PASS, "ci", 1, examples=examples,
                                          coverage=coverage.to_json(), known=False,
                                          holds=Holds(2.0, 10.0).to_json())
              ).write(run_dir / "results.json")
    page = build_run(run_dir).read_text()
    assert 'id="coverage-grid"' in page and "held past failover 1" in page
    assert "GO: no SLO breached in 1 example; never held past failover: kill-haproxy" in page
    assert "Known sequences were off" in page and "past failover 6.0 s" in page
    assert "kill-haproxy + partition-sentinels" in page
    assert 'title="kernel lacks netem">skipped' in page


def test_a_saved_sequence_is_headlined_by_the_shard_its_first_fault_hit(tmp_path):
    """A search's reproducer on shard 3 lost 996 writes, and the summary said "lost 0":
    its headline was shard 1's."""
    def saved(name, steps):
        return scenarios.save(name, {"id": "abc", "error": "SLO breached", "steps": steps},
                              tmp_path)

    saved("on-shard-3", [{"rule": "inject", "kind": "partition-sentinels", "shard": 3,
                          "hold_s": 6.0, "keep": False}])
    saved("on-server-2", [{"rule": "wait", "seconds": 1.0},
                          {"rule": "inject", "kind": "kill-haproxy", "server": 2}])
    loaded = scenarios.load_all(tmp_path)
    assert loaded["on-shard-3"].target_shard == 3
    assert loaded["on-server-2"].target_shard == 2
