"""Workshop mode without a lab: exercise files (every bad field refused with one line),
grading, the live state folded from history events, the live server over real HTTP, the
bind check, and the session record's page."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from lab import config as config_module
from lab import reconfigure, topology
from lab.chaos.record import ExerciseRecord, RunRecord, StepRecord
from lab.cli import main
from lab.errors import LabError
from lab.workshop import exercises
from lab.workshop.exercises import Choice, ExerciseError, Prediction
from lab.workshop.live import LiveServer, LiveState, check_bind
from lab.workshop.session import AutoRoom, TerminalRoom

GOOD = '''
title = "T"
learn = "L"
[[steps]]
say = "narrate"
[[steps]]
say = "fault"
scenario = "stop-master"
[steps.predict]
question = "seconds?"
measure = "writes_resumed_s"
range = [0, 60]
within = 1.5
auto = 3
'''


def write(tmp_path: Path, text: str, name: str = "ex") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


# -- exercise files ----------------------------------------------------------------------------


def test_every_shipped_exercise_loads_and_measures_something():
    found = exercises.load_all()
    assert len(found) >= 7
    for exercise in found.values():
        assert exercise.fault_steps, exercise.name
        assert any(s.predict or s.check for s in exercise.steps), exercise.name
    # The break-fix one starts broken, is fixed by the learner and checks the fix.
    breakfix = found["break-fix-masterauth"]
    assert breakfix.starts_with and any(s.fix for s in breakfix.steps)
    assert any(s.check for s in breakfix.steps)


def test_a_good_file_loads(tmp_path):
    exercise = exercises.load(write(tmp_path, GOOD))
    assert [s.action for s in exercise.steps] == ["narrate", "fault"]
    assert exercise.steps[1].predict.within == 1.5


@pytest.mark.parametrize(("change", "named"), [
    (('measure = "writes_resumed_s"', 'measure = "speed"'), "steps[2].predict.measure = 'speed'"),
    (('scenario = "stop-master"', 'scenario = "nope"'), "steps[2].scenario = 'nope'"),
    (('scenario = "stop-master"', 'inject = [{ fault = "melt-server" }]'),
     "steps[2].inject[1].fault = 'melt-server'"),
    (('scenario = "stop-master"', 'inject = [{ fault = "stop-master", colour = 1 }]'),
     "steps[2].inject[1].colour"),
    (('title = "T"', 'title = 3'), "title = 3: must be a string"),
    (('title = "T"\n', ''), "title: missing"),
    (('within = 1.5\n', ''), "steps[2].predict.within"),
    (('auto = 3', 'auto = 99'), "steps[2].predict.auto = 99.0"),
    (('say = "narrate"', 'say = "narrate"\ncolour = "red"'), "steps[1].colour"),
    (('say = "narrate"', 'say = "narrate"\noverlay = { redis = { password = "x" } }'),
     "steps[1].overlay.redis.password"),
    (('say = "narrate"', 'say = "narrate"\noverlay = { lab = { layout = "ring" } }'),
     "steps[1].overlay"),
    (('say = "narrate"', 'say = "narrate"\noverlay = { redis = { min_replicas_to_write = 1 } }'
      '\nscenario = "stop-master"'), "a step does one thing"),
    (('title', 'titel'), "titel"),
    (('[[steps]]\nsay = "fault"', '[[steps]]\nsay = "fault"\n[steps.check]\nmeasure = "lost_writes"'
      '\n[[steps]]\nsay = "x"'), "check"),
])
def test_a_bad_field_is_named_in_one_line(tmp_path, change, named):
    old, new = change
    assert old in GOOD
    with pytest.raises(ExerciseError) as error:
        exercises.load(write(tmp_path, GOOD.replace(old, new, 1)))
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("ex.toml: ") and named in message, message


def test_not_toml_and_no_fault_step_are_refused(tmp_path):
    with pytest.raises(ExerciseError, match="not valid TOML"):
        exercises.load(write(tmp_path, "title = "))
    with pytest.raises(ExerciseError, match="nothing to measure"):
        exercises.load(write(tmp_path, 'title = "T"\nlearn = "L"\n[[steps]]\nsay = "x"\n'))


def test_unknown_exercise_names_the_known_ones():
    with pytest.raises(ExerciseError, match="no exercise 'nope'; known: .*happy-failover"):
        exercises.select(["nope"])


def test_cli_refuses_bad_input_with_exit_2(capsys):
    assert main(["workshop", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no exercise 'nope'" in err[0]
    assert main(["workshop", "happy-failover", "--bind", "203.0.113.77"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--bind 203.0.113.77: this machine has no such address" in err[0]
    assert main(["workshop", "happy-failover", "--bind", "classroom"]) == 2
    assert "not an IP address" in capsys.readouterr().err
    assert main(["workshop"]) == 0  # no name: the list
    assert "happy-failover" in capsys.readouterr().out


# -- grading ------------------------------------------------------------------------------------


def test_a_number_prediction_is_right_within_its_tolerance():
    p = Prediction("s?", "writes_resumed_s", unit="s", low=0, high=60, within=1.5)
    assert p.grade(3, 4.4).correct and not p.grade(3, 4.6).correct
    assert not p.grade(3, None).correct  # nothing measured: nothing to be right about
    assert p.parse("2.5") == 2.5
    with pytest.raises(ValueError, match="0..60"):
        p.parse("61")
    with pytest.raises(ValueError):
        p.parse("soon")


def test_a_choice_is_right_when_the_measure_falls_in_it():
    p = Prediction("lost?", "lost_writes",
                   choices=(Choice("none", at_most=0), Choice("some", at_least=1, at_most=20),
                            Choice("many", at_least=21), ))
    assert p.grade(1, 0).correct and not p.grade(2, 0).correct
    assert p.grade(3, 152).correct and "the right answer was 3. many" in p.grade(1, 152).text
    failover = Prediction("fails over?", "failover_s",
                          choices=(Choice("yes", at_least=0), Choice("no", absent=True)))
    assert failover.grade(2, None).correct and failover.grade(1, 3.1).correct
    assert not failover.grade(1, None).correct
    with pytest.raises(ValueError, match="1..3"):
        p.parse("4")


def test_a_check_holds_only_inside_its_bounds():
    from lab.workshop.exercises import Check

    settles = Check("convergence_s", at_most=30)
    assert settles.holds(12.5) and not settles.holds(31) and not settles.holds(None)
    assert Check("failover_s", absent=True).holds(None)
    assert settles.describe() == "convergence_s <= 30"


def test_auto_room_takes_the_page_answer_else_the_exercise_one():
    p = Prediction("lost?", "lost_writes",
                   choices=(Choice("a", at_most=0), Choice("b", at_least=1)), auto=1)
    live = LiveState(_topology())
    assert AutoRoom().ask(p, live, "") == (1, "auto")
    live.submit(2)
    assert AutoRoom().ask(p, live, "") == (2, "page")


def test_terminal_room_retries_bad_answers_and_needs_a_terminal():
    p = Prediction("s?", "outage_s", low=0, high=10, within=1)
    typed = iter(["h", "eleven", "99", "4"])
    assert TerminalRoom(lambda prompt: next(typed)).ask(p, LiveState(_topology()), "hint") \
        == (4.0, "terminal")

    def no_terminal(prompt):
        raise EOFError

    with pytest.raises(LabError, match="--auto"):
        TerminalRoom(no_terminal).pause("go on?")


# -- the live state and server -----------------------------------------------------------------


def _topology(layout: str = "article"):
    return topology.build(config_module.from_dict({"lab": {"layout": layout}}))


def test_live_state_folds_the_history_events():
    live = LiveState(_topology())
    events = [
        {"type": "role", "t": 1.0, "instance": "redis1:6379", "role": "master", "master": None},
        {"type": "role", "t": 1.0, "instance": "redis1:6380", "role": "slave",
         "master": "192.168.56.11:6379", "link": "down"},
        {"type": "named", "t": 1.0, "sentinel": "redis1:26379", "shard": 1,
         "master": "192.168.56.11:6379"},
        {"type": "haproxy", "t": 1.0, "haproxy": "redis2", "backend": "shard1_master",
         "up": ["redis1_6379"]},
        {"type": "fault", "t": 2.0, "phase": "inject", "id": "f1", "fault": "stop-master",
         "target": "redis1:6379"},
        *({"type": "op", "t": 9.5, "op": "write", "shard": 1, "outcome": "ok"}
          for _ in range(30)),
        {"type": "op", "t": 9.6, "op": "write", "shard": 1, "outcome": "fail"},
        {"type": "op", "t": 5.0, "op": "write", "shard": 1, "outcome": "ok"},  # too old
        {"type": "role", "t": 0.5, "instance": "redis1:6381", "role": "slave",
         "master": "192.168.56.11:6379", "link": "up"},
    ]
    for e in events:
        live.feed(e)
    s = live.snapshot(now=10.0)
    shard1 = s["shards"][0]
    assert shard1["masters"] == ["redis1:6379"]
    live.feed({"type": "role", "t": 3.0, "instance": "redis1:6381", "role": "master",
               "master": None})
    assert live.snapshot(now=10.0)["shards"][0]["masters"] == ["redis1:6379", "redis1:6381"]
    assert (shard1["writes_per_s"], shard1["errors_per_s"]) == (30, 1)
    redis1 = s["servers"][0]
    replica = redis1["instances"][1]
    assert (replica["master"], replica["link"]) == ("redis1:6379", "down")  # labels, not IPs
    assert redis1["sentinels"][0]["named"] == {"1": "redis1:6379"}
    assert s["servers"][1]["haproxy"] == {"shard1_master": ["redis1:6379"]}
    assert [f["fault"] for f in s["faults"]] == ["stop-master"]
    live.feed({"type": "fault", "t": 4.0, "phase": "heal", "id": "f1", "fault": "stop-master"})
    assert live.snapshot(now=10.0)["faults"] == []


def test_live_server_serves_the_page_state_and_predictions():
    live = LiveState(_topology())
    server = LiveServer(live, "127.0.0.1", 0).start()
    try:
        page = urllib.request.urlopen(server.url, timeout=5).read().decode()
        assert "<script>" in page and "http" not in page and "src=" not in page  # no CDN
        state = json.load(urllib.request.urlopen(server.url + "state", timeout=5))
        assert [sh["number"] for sh in state["shards"]] == [1, 2, 3]

        def predict(answer) -> int:
            request = urllib.request.Request(server.url + "predict", method="POST",
                                             data=json.dumps({"answer": answer}).encode(),
                                             headers={"Content-Type": "application/json"})
            try:
                return urllib.request.urlopen(request, timeout=5).status
            except urllib.error.HTTPError as exc:
                return exc.code

        assert predict(2) == 409  # no question open
        live.say(asking=True)
        assert predict("two") == 400
        assert predict(2) == 200 and live.take_answer() == 2.0
    finally:
        server.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url, timeout=2)


def test_bind_check_names_a_taken_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LabError, match=f"--live-port {port}: in use"):
            check_bind("127.0.0.1", port)
    check_bind("127.0.0.1", 0)
    with pytest.raises(LabError, match="1..65535"):
        check_bind("127.0.0.1", 70000)


# -- settings changes ---------------------------------------------------------------------------


def test_reconfigure_tells_live_settings_from_reprovisioning():
    base = config_module.from_dict({})
    live = config_module.from_dict({"redis": {"min_replicas_to_write": 1},
                                    "sentinel": {"quorum": 1}})
    spread = config_module.from_dict({"lab": {"layout": "spread"}})
    assert reconfigure.changes(base, live) == ["redis.min_replicas_to_write", "sentinel.quorum"]
    assert reconfigure.is_live(reconfigure.changes(base, live))
    assert reconfigure.changes(base, spread) == ["lab.layout"]
    assert not reconfigure.is_live(["lab.layout"])
    assert not reconfigure.is_live(["redis.min_replicas_to_write", "lab.layout"])  # mixed
    assert not reconfigure.is_live(["redis.persistence"])
    assert reconfigure.changes(base, base) == []


def test_masters_without_masterauth_render_as_the_setting_says():
    from lab import render

    for on_masters, expected in ((True, 9), (False, 6)):
        config = config_module.from_dict({"redis": {"masterauth_on_masters": on_masters}})
        bundles = render.render(config, topology.build(config), "pw",
                                render.Images("base", "base"))
        confs = [f.content for b in bundles for f in b.files
                 if f.path.startswith("conf/redis-")]
        assert sum("masterauth pw" in c for c in confs) == expected


# -- the session record -------------------------------------------------------------------------


def test_the_record_round_trips_and_the_page_shows_prediction_vs_measured(tmp_path):
    from lab.report import build_run

    step = StepRecord(2, "fault", say="stop", scenario="happy-failover-2-stop-master",
                      question="seconds?", measure="writes_resumed_s", answer="3 s",
                      answered_by="auto", measured=3.41, correct=True, grade="measured 3.41 s")
    record = RunRecord("w", kind="workshop", complete=True,
                       workshop=[ExerciseRecord("happy-failover", "The happy failover", "L",
                                                [StepRecord(1, "narrate", say="hi"), step],
                                                complete=True)])
    record.write(tmp_path / "results.json")
    again = RunRecord.read(tmp_path / "results.json")
    assert again.workshop[0].steps[1] == step
    assert again.workshop[0].predictions == (1, 1)
    page = build_run(tmp_path).read_text()
    assert 'data-measured="3.41"' in page and "writes_resumed_s = 3.41" in page
    assert "Predictions right: <b>1/1</b>" in page


def test_the_bench_measures_the_page_behind_each_role_change():
    from lab.bench.workshop import page_delays

    def role(t, instance, value):
        return {"type": "role", "t": t, "instance": instance, "shard": 1, "role": value,
                "master": None}

    events = [role(1.0, "redis1:6379", "master"), role(1.0, "redis1:6380", "slave"),
              {"type": "fault", "t": 1.9, "phase": "inject", "id": "f", "fault": "x"},
              role(2.0, "redis1:6379", None), role(4.0, "redis1:6380", "master"),
              {"type": "op", "t": 4.5, "op": "write", "shard": 1, "outcome": "ok"}]
    page = [(0.5, "redis1:6379"), (2.3, "no master"), (4.25, "redis1:6380")]
    assert page_delays(_topology(), events, 1, page) == [0.3, 0.25]
    assert page_delays(_topology(), events, 1, page[:2]) == [0.3]  # never shown: no sample
    assert page_delays(_topology(), events[:2] + events[3:], 1, page) == []  # no fault


def test_a_failing_page_never_loses_a_history_event(tmp_path):
    from lab.chaos.history import History, read

    seen = []

    def listener(event):
        seen.append(event["type"])
        raise KeyError("the page broke")

    with History(tmp_path / "h.jsonl", listener=listener) as h:
        h.record("role", instance="redis1:6379", role="master")
        h.record("op", op="write")
    assert seen == ["role", "op"]
    assert [e["type"] for e in read(tmp_path / "h.jsonl")] == ["role", "op"]
