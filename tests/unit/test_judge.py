"""The judge reads only the history: verdicts from recorded files, and re-judging a run."""

from __future__ import annotations

import json

import pytest

from lab.chaos import judge
from lab.chaos.record import RunRecord, ScenarioResult, Status
from lab.chaos.scenarios import Expect
from lab.cli import main

T0 = 1_800_000_000.0


def history(*, expect: Expect, lost: bool = False, settled: bool = True,
            skipped: str = "") -> list[dict]:
    """A scenario on one shard: writes, a fault at 2 s, a failover at 3.5 s, heal at 6 s."""
    events = [{"type": "meta", "t": T0, "scenario": "stop-master",
               "shards": {"1": {"monitor": "shard1", "master_backend": "shard1_master"}},
               "target_shard": 1, "expect": expect.to_json(), "election_retry_s": 10.0}]
    for step in range(100):
        t = T0 + step * 0.1
        ok = not 2.0 <= t - T0 < 4.0
        events.append({"type": "op", "t": t, "op": "write", "shard": 1, "port": 5000,
                       "host": "192.168.56.11", "key": f"k{step}", "start": t, "end": t,
                       "outcome": "ok" if ok else "fail", "error": None if ok else "timeout"})
    if skipped:
        events.append({"type": "fault", "t": T0 + 2, "phase": "skipped", "fault": "latency",
                       "reason": skipped})
    else:
        events += [
            {"type": "fault", "t": T0 + 2, "phase": "inject", "id": "f", "fault": "stop-master",
             "target": {"instance": "redis1:6379"}},
            {"type": "sentinel", "t": T0 + 3.5, "sentinel": "redis1:26379",
             "channel": "+switch-master", "data": "shard1 10.0.0.1 6379 10.0.0.1 6380"},
            {"type": "fault", "t": T0 + 6, "phase": "heal", "id": "f", "fault": "stop-master"},
        ]
    present = [f"k{s}" for s in range(100) if not (lost and s < 5)]
    events.append({"type": "convergence", "t": T0 + 9, "settled": settled, "seconds": 2.5,
                   "problems": [] if settled else ["2 masters"], "masters": {"1": "redis1:6380"},
                   "datasets": {}, "datasets_equal": True if settled else None})
    events.append({"type": "readback", "t": T0 + 10, "shard": 1, "master": "redis1:6380",
                   "written": 100, "present": present})
    return events


FAILS_OVER = Expect(failover=True, failover_within_s=5, max_lost_writes=0)


def test_a_verdict_comes_from_the_history_alone():
    judged = judge.judge_history(history(expect=FAILS_OVER))
    assert judged.verdict.status == Status.PASS
    assert judged.measures[1].failover_s == 1.5 and judged.measures[1].lost_writes == 0
    assert judged.convergence.settled and judged.convergence.seconds == 2.5
    assert judged.faults == [{"fault": "stop-master", "target": {"instance": "redis1:6379"}}]


def test_lost_writes_unsettled_and_skipped_histories():
    assert judge.judge_history(history(expect=FAILS_OVER, lost=True)).verdict.status == \
        Status.FAIL
    documented = Expect(failover=True, max_lost_writes=0, lost_writes_are_finding=True)
    found = judge.judge_history(history(expect=documented, lost=True)).verdict
    assert found.status == Status.FINDING and "5 acknowledged writes lost" in found.findings
    unsettled = judge.judge_history(history(expect=FAILS_OVER, settled=False)).verdict
    assert unsettled.status == Status.FAIL
    skipped = judge.judge_history(history(expect=FAILS_OVER, skipped="kernel lacks netem"))
    assert skipped.verdict.status == Status.SKIPPED
    assert skipped.verdict.findings == ["skipped: kernel lacks netem"]


def test_an_observer_that_broke_makes_the_verdict_an_error():
    events = history(expect=FAILS_OVER)
    events.insert(5, {"type": "observer_error", "t": T0 + 0.4, "observer": "haproxy redis1",
                      "error": "AttributeError: 'NoneType' object has no attribute 'x'"})
    verdict = judge.judge_history(events).verdict
    assert verdict.status == Status.ERROR
    assert verdict.findings == ["error: the haproxy redis1 observer broke (AttributeError: "
                                "'NoneType' object has no attribute 'x'); its observations "
                                "have a gap"]


def test_a_history_without_expectations_cannot_be_judged():
    events = [e for e in history(expect=FAILS_OVER) if e["type"] != "meta"]
    with pytest.raises(judge.NotJudgeable, match="no meta event"):
        judge.judge_history(events)


def write_run(reports, run_id="20261129-000000-chaos"):
    run_dir = reports / run_id
    run_dir.mkdir(parents=True)
    events = history(expect=FAILS_OVER)
    (run_dir / "stop-master.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    judged = judge.judge_history(events)
    result = ScenarioResult("stop-master", status=judged.verdict.status,
                            checks=judged.verdict.checks, findings=judged.verdict.findings,
                            measures=judged.measures, convergence=judged.convergence,
                            history="stop-master.jsonl")
    RunRecord(run_id, scenarios=[result], complete=True).write(run_dir / "results.json")
    return run_dir


def test_rejudging_a_run_matches_its_record_and_notices_a_changed_one(tmp_path, capsys):
    run_dir = write_run(tmp_path)
    assert main(["judge", "--reports", str(tmp_path), run_dir.name]) == 0
    out = capsys.readouterr().out
    assert "every verdict as recorded" in out and "stop-master: pass (as recorded)" in out

    data = json.loads((run_dir / "results.json").read_text())
    data["scenarios"][0]["status"] = "finding"  # a record that no longer matches its data
    (run_dir / "results.json").write_text(json.dumps(data))
    assert main(["judge", "--reports", str(tmp_path), run_dir.name]) == 1
    assert "DIFFERS from the record: status finding -> pass" in capsys.readouterr().out


def test_judge_names_an_unknown_run(tmp_path, capsys):
    assert main(["judge", "--reports", str(tmp_path), "nope"]) == 2
    assert "no run 'nope'" in capsys.readouterr().err


def test_the_record_round_trips_through_json(tmp_path):
    run_dir = write_run(tmp_path)
    record = RunRecord.read(run_dir / "results.json")
    assert record.schema == 3 and record.scenarios[0].status is Status.PASS
    assert RunRecord.from_json(record.to_json()) == record
    assert record.exit_code() == 0
    record.scenarios.append(ScenarioResult.errored("x", "boom"))
    assert record.worst() == Status.ERROR and record.exit_code() == 2


def test_a_schema_2_record_reads_its_shards_under_the_measures_names():
    old = {"scenario": "crash-master", "status": "finding", "measures": {"1": {
        "shard": 1, "lost": 5, "indeterminate": 2, "failover_write_s": 3.5}}}
    m = ScenarioResult.from_json(old).measures[1]
    assert (m.lost_writes, m.indeterminate_writes, m.writes_resumed_s) == (5, 2, 3.5)
    assert ScenarioResult.from_json(old).headline()["lost_writes"] == 5


def test_the_lab_and_the_options_of_a_record_are_typed_and_keep_their_json():
    data = {"run_id": "r", "lab": {"layout": "spread", "versions": {"engine": "valkey 8.1.1"},
                                   "from_a_newer_file": 1},
            "options": {"route": "haproxy-sentinel", "ack": "wait:1", "seed": 3}}
    record = RunRecord.from_json(data)
    assert (record.lab.layout, record.lab.versions["engine"]) == ("spread", "valkey 8.1.1")
    assert (record.options.route, record.options.ack, record.options.seed) == \
        ("haproxy-sentinel", "wait:1", 3)
    again = record.to_json()
    assert again["lab"]["layout"] == "spread" and again["options"]["ack"] == "wait:1"
    assert RunRecord.from_json(again) == record


def test_hypothesis_examples_are_rejudged_from_their_histories(tmp_path, capsys):
    from lab.chaos.record import HypothesisResult
    from lab.chaos.slo import Breach

    run_dir = tmp_path / "20261129-010000-chaos"
    (run_dir / "hypothesis").mkdir(parents=True)
    events = history(expect=Expect(max_lost_writes=None), lost=True)
    events[0]["slo"] = {"lost_writes": 0}
    (run_dir / "hypothesis" / "example-1.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in events))
    example = {"n": 1, "history": "hypothesis/example-1.jsonl", "status": "fail",
               "breaches": [Breach("stop-master", "lost_writes", 5, 0).to_json()]}
    record = RunRecord(run_dir.name, complete=True, slo={"global": {"lost_writes": 0}},
                       hypothesis=HypothesisResult(Status.FAIL, "ci", 1, examples=[example]))
    record.write(run_dir / "results.json")
    assert main(["judge", "--reports", str(tmp_path), run_dir.name]) == 0
    assert "hypothesis example 1: lost_writes = 5 > 0 (as recorded)" in capsys.readouterr().out

    example.update(status="pass", breaches=[])  # a record that says it breached nothing
    record.write(run_dir / "results.json")
    assert main(["judge", "--reports", str(tmp_path), run_dir.name]) == 1
    assert ("(DIFFERS from the record: SLO breaches differ; verdict pass -> fail)"
            in capsys.readouterr().out)
