"""Where a run's time goes: each recording's phases, summed per run, kept in the record."""

from __future__ import annotations

import pytest

from lab.chaos import phases as phases_module
from lab.chaos.phases import Phases, totals
from lab.chaos.record import HypothesisResult, RunRecord, ScenarioResult, Status


class _FakeStop:
    """A stop event on the fake clock: a wait advances it exactly, unless set."""

    def __init__(self, now: list[float]) -> None:
        self.now, self.set_ = now, False

    def wait(self, seconds: float) -> bool:
        if not self.set_:
            self.now[0] += seconds
        return self.set_


@pytest.fixture
def clock(monkeypatch):
    """time.monotonic on a fake clock, and a stop event whose waits advance it exactly."""
    now = [1000.0]
    monkeypatch.setattr(phases_module.time, "monotonic", lambda: now[0])
    return now


def test_a_phase_that_recurs_is_summed_and_phases_come_in_the_run_order(clock):
    p = Phases(_FakeStop(clock))
    p.sleep("hold", 6.0)
    with p.timing("reset"):
        clock[0] += 2.5
    p.sleep("hold", 1.0)
    with p.timing("convergence"):
        clock[0] += 3.25
    assert p.to_json() == {"reset": 2.5, "hold": 7.0, "convergence": 3.25}
    assert list(p.to_json()) == ["reset", "hold", "convergence"]  # ORDER, not first seen


def test_a_wait_ends_at_once_as_an_interruption_when_the_stop_is_set(clock):
    """A parallel campaign's lanes never see Ctrl-C: the main thread sets their stop, and
    a hold in progress ends as if interrupted (so its faults are healed on the way out)."""
    stop = _FakeStop(clock)
    p = Phases(stop)
    p.sleep("warmup", 1.0)
    stop.set_ = True
    with pytest.raises(KeyboardInterrupt):
        p.sleep("hold", 30.0)
    assert p.to_json() == {"warmup": 1.0, "hold": 0.0}


def test_a_real_wait_is_cut_short_by_another_thread_setting_the_stop():
    import threading

    stop = threading.Event()
    p = Phases(stop)
    threading.Timer(0.1, stop.set).start()
    with pytest.raises(KeyboardInterrupt):
        p.sleep("hold", 60.0)
    assert p.seconds["hold"] < 30.0  # ended by the stop, not by the hold's end


def test_a_phase_that_raised_is_still_counted(clock):
    p = Phases()
    with pytest.raises(RuntimeError), p.timing("heal"):
        clock[0] += 4.0
        raise RuntimeError("the heal failed")
    assert p.to_json() == {"heal": 4.0}


def test_totals_add_recordings_up_and_put_unknown_phases_last():
    assert totals([{"hold": 6.0, "reset": 1.0}, {"reset": 2.0, "mystery": 1.0},
                   {}]) == {"reset": 3.0, "hold": 6.0, "mystery": 1.0}


def test_the_record_sums_scenarios_examples_and_the_report_and_keeps_them_on_disk(tmp_path):
    record = RunRecord("r1", scenarios=[
        ScenarioResult("crash-master", status=Status.PASS,
                       phases={"reset": 3.0, "hold": 8.0, "convergence": 4.0}),
        ScenarioResult("pause-master", status=Status.PASS, phases={"reset": 1.0, "hold": 2.0})])
    record.hypothesis = HypothesisResult(examples=[
        {"n": 1, "phases": {"reset": 2.0, "hold": 6.0, "invariants": 1.5}},
        {"n": 2}])  # an example recorded before phases were
    record.report_s = 1.2
    assert record.phases() == {"reset": 6.0, "hold": 16.0, "invariants": 1.5,
                               "convergence": 4.0, "report": 1.2}
    path = tmp_path / "results.json"
    record.write(path)
    again = RunRecord.read(path)
    assert again.scenarios[0].phases == {"reset": 3.0, "hold": 8.0, "convergence": 4.0}
    assert again.report_s == 1.2 and again.phases() == record.phases()


def test_a_record_from_before_phases_reads_with_none():
    old = RunRecord.from_json({"run_id": "old", "scenarios": [{"scenario": "crash-master",
                                                               "status": "pass"}]})
    assert old.scenarios[0].phases == {} and old.phases() == {}


def test_the_campaign_bench_weighs_each_scenario_against_hold_plus_redis_own_convergence():
    from lab.bench.campaign import _summarize, scenario_floor_s

    assert scenario_floor_s(8.0, failed_over=False, native_convergence_s=None) == 8.0
    assert scenario_floor_s(8.0, failed_over=True, native_convergence_s=2.5) == 10.5
    assert scenario_floor_s(8.0, failed_over=True, native_convergence_s=None) is None

    def run(wall, crash_s, pause_s):
        return {"run": "r", "wall_s": wall, "phases_s": {"hold": 12.0, "reset": 5.0},
                "scenarios": {
                    "crash-master": {"seconds": crash_s, "failed_over": True,
                                     "phases_s": {"reset": 3.0, "hold": 8.0}},
                    "pause-master": {"seconds": pause_s, "failed_over": False,
                                     "phases_s": {"hold": 4.0}}}}

    summary = _summarize([run(60.0, 20.0, 9.0), run(70.0, 24.0, 8.0), run(65.0, 22.0, 7.0)],
                         {"median_convergence_s": 2.0})
    crash = summary["scenarios"]["crash-master"]
    assert crash["median_s"] == 22.0 and crash["floor_s"] == 10.0 and crash["ratio"] == 2.2
    assert summary["scenarios"]["pause-master"]["floor_s"] == 4.0
    assert summary["sum_of_floors_s"] == 14.0 and summary["median_wall_s"] == 65.0
    assert summary["wall_over_floors"] == round(65.0 / 14.0, 2)
    # No native floor here (binaries missing): a failed-over scenario's floor is unknown.
    assert _summarize([run(60.0, 20.0, 9.0)], {"skipped": "apt-get install ..."}
                      )["sum_of_floors_s"] is None


def test_the_report_time_is_recorded_without_touching_what_the_page_shows(tmp_path):
    """The page shows the record's `updated`; report_s is written after the page was
    built, so writing it may not change `updated` (a rebuilt page must be the same)."""
    from lab.chaos import campaign

    path = tmp_path / "results.json"
    record = RunRecord("r1", scenarios=[ScenarioResult("crash-master", status=Status.PASS,
                                                       phases={"hold": 8.0})])
    record.write(path)
    record.updated = "2000-01-01T00:00:00Z"  # as the page built from it shows
    record.write(path, touch=False)
    built = []
    campaign._publish(record, path, built.append)
    again = RunRecord.read(path)
    assert built == [tmp_path] and again.report_s is not None
    assert again.updated == "2000-01-01T00:00:00Z"
