"""Which scenarios run at once: the schedule's safety (no two lanes share a server, each
scenario's faults stay in its lane) and what it gains, on the real catalogue."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from lab import config, topology
from lab.access import Access
from lab.chaos import faults, schedule
from lab.chaos import scenarios as scenario_module
from lab.chaos.faults.base import servers_of_shard
from lab.chaos.phases import Phases
from lab.chaos.scenarios import Expect, Scenario, Step

CATALOGUE = list(scenario_module.load_all().values())


def _topology(layout: str) -> topology.Topology:
    return topology.build(config.from_dict({"lab": {"layout": layout}}))


def _hosts(scenario: Scenario, topo: topology.Topology) -> set[str]:
    """Every server the scenario's faults would touch, as the registry says (the master
    of a shard is its initial one: a reset puts it back before each scenario)."""
    touched = set()
    for name, params in scenario.injected():
        fault = faults.get(name)
        resolved = fault.resolve(params, topo)
        touched |= {s.name for s in fault.hosts(
            topo, resolved, lambda n: topo.shard(n).initial_master)}
    return touched


def test_in_the_article_layout_lanes_never_share_a_server_and_keep_their_faults_in():
    """The property that makes lanes safe, checked on every job of the catalogue: a
    scheduler that put a server-wide fault (or a shard-1 fault) into lane 2 fails here."""
    topo = _topology("article")
    order = schedule.plan(CATALOGUE, 2, topo)
    assert [shard for shard, _ in order.lanes] == [1, 2, 3]
    lane_servers = {}
    for shard, jobs in order.lanes:
        allowed = {s.name for s in servers_of_shard(topo, shard)}
        lane_servers[shard] = allowed
        for job in jobs:
            assert job.scenario.target_shard == shard
            assert _hosts(job.scenario, topo) <= allowed, job.scenario.name
    for a in lane_servers:
        for b in lane_servers:
            assert a == b or not lane_servers[a] & lane_servers[b]


def test_every_job_runs_once_and_what_names_a_server_runs_alone():
    topo = _topology("article")
    order = schedule.plan(CATALOGUE, 3, topo)
    jobs = order.jobs
    assert [j.index for j in jobs] == list(range(3 * len(CATALOGUE)))
    assert [(j.scenario.name, j.repetition) for j in jobs] == \
        [(s.name, r) for s in CATALOGUE for r in (1, 2, 3)]
    alone = {j.scenario.name for j in order.alone}
    server_wide = {s.name for s in CATALOGUE
                   if any(faults.get(n).touches == "server"
                          for n, _ in s.injected())}
    said_so = {s.name for s in CATALOGUE if s.runs_alone}
    assert server_wide and alone == server_wide | said_so
    in_lanes = {j.scenario.name for _, jobs in order.lanes for j in jobs}
    assert in_lanes == {s.name for s in CATALOGUE} - server_wide - said_so
    assert "crash-master" in in_lanes and "isolate-server" in alone


def test_the_lanes_are_balanced_and_shorter_than_the_serial_order():
    """Longest first to the least loaded lane: no lane longer than an even share plus
    one job (the LPT bound); a scheduler that put everything into one lane fails."""
    topo = _topology("article")
    order = schedule.plan(CATALOGUE, 5, topo)
    work = {shard: sum(schedule.estimate_s(j.scenario) for j in jobs)
            for shard, jobs in order.lanes}
    total = sum(work.values())
    longest_job = max(schedule.estimate_s(j.scenario) for _, jobs in order.lanes for j in jobs)
    assert max(work.values()) <= total / len(work) + longest_job
    assert max(work.values()) < 0.5 * total


def test_a_relocated_scenario_names_its_lane_shard_in_every_fault_and_keeps_the_rest():
    by_name = {s.name: s for s in CATALOGUE}
    moved = schedule.relocate(by_name["kill-sentinels-majority"], 3)
    assert moved.target_shard == 3
    assert [s.params["shard"] for s in moved.faults] == [3, 3]
    assert moved.faults[0].params["count"] == "majority"
    tilt = schedule.relocate(by_name["sentinel-tilt"], 2)
    assert [s.get("shard") for s in tilt.script] == [2, None, None, None, 2]
    assert tilt.script[1] == {"rule": "wait", "seconds": 5}
    assert tilt.expect is by_name["sentinel-tilt"].expect and tilt.hold_s == 32


def test_the_spread_layout_serial_and_load_run_everything_in_order():
    spread = schedule.plan(CATALOGUE, 1, _topology("spread"))
    assert spread.lanes == () and "spread layout" in spread.serial_because
    assert [j.scenario for j in spread.alone] == CATALOGUE
    asked = schedule.plan(CATALOGUE, 1, _topology("article"), serial_because="--serial")
    assert asked.lanes == () and asked.describe().endswith("(--serial)")
    assert all(j.scenario.target_shard == 1 for j in asked.alone)


def test_a_scenario_that_says_it_runs_alone_does():
    local = Scenario("x", "x", (Step("crash-master", {"shard": 1}),), lambda c: Expect())
    assert schedule.shard_local(local, _topology("article"))
    alone = Scenario("x", "x", (Step("crash-master", {"shard": 1}),), lambda c: Expect(),
                     runs_alone="measured apart: see the README")
    assert not schedule.shard_local(alone, _topology("article"))
    elsewhere = Scenario("x", "x", (Step("crash-master", {"shard": 2}),), lambda c: Expect())
    assert not schedule.shard_local(elsewhere, _topology("article"))  # not its headline's


def test_a_view_of_one_shard_holds_its_own_instances_sentinels_and_keys():
    topo = _topology("article")
    view = topo.only((2,))
    assert [s.number for s in view.shards] == [2]
    assert {i.server.name for i in view.instances} == {"redis2"}
    assert {s.server.name for s in view.sentinels} == {"redis2"}
    assert view.servers == topo.servers  # every HAProxy still routes shard 2
    with pytest.raises(KeyError):
        view.shard(1)
    key = next(f"run:0:{n}" for n in range(100) if topo.shard_of(f"run:0:{n}").number == 2)
    assert view.shard_of(key).number == 2 and view.key_shards == 3
    spread = _topology("spread").only((1,))
    assert all(s.shards == (1,) for s in spread.sentinels)


def _sent(topo: topology.Topology, tmp_path, name: str) -> list[tuple]:
    """What a workload of three processes sends in 600 steps, every operation acknowledged
    (its `_op` faked): (process, shard, kind, key) in the order each process sent them."""
    from lab.chaos.history import History
    from lab.chaos.workload import Workload, WorkloadSettings

    workload = Workload(topo, Access("pw"), History(tmp_path / f"{name}.jsonl"), "run:x",
                        WorkloadSettings(processes=1, interval_s=0.0, max_ops=600))
    sent = []
    workload._op = lambda links, process, shard, kind, key, value: (
        sent.append((process, shard.number, kind, key)), "ok")[1]
    workload._run(0)
    return sent


def test_a_lane_workload_sends_exactly_what_the_lab_wide_one_sends_to_its_shard(tmp_path):
    """Same keys, same reads and writes, same order, the same number of steps: a lane's
    shard sees the rate a whole-lab recording gives it (a lane that sent every step to its
    own shard had three times the write rate, and so three times the lost writes)."""
    full = _topology("article")
    everything = _sent(full, tmp_path, "full")
    lane = _sent(full.only((3,)), tmp_path, "lane")
    assert lane == [op for op in everything if op[1] == 3]
    assert {op[2] for op in lane} == {"master", "replicas"}
    assert 0.2 < len(lane) / len(everything) < 0.5  # about a third


def test_ctrl_c_stops_every_lane_each_heals_and_the_interruption_goes_on(monkeypatch):
    """Only the main thread gets SIGINT: the lanes, in the middle of a hold, must end at
    once and heal. A version without the stop event waits out the 60 s holds and the
    test's bound fails it."""
    from lab.chaos import campaign

    healed, started = [], threading.Barrier(4)

    def fake_run_one(session, scenario, repetition, repetitions):
        started.wait(timeout=10)
        try:
            Phases(session.stop).sleep("hold", 60.0)
        finally:
            healed.append(scenario.target_shard)
        return None

    class FakeSession:
        def __init__(self) -> None:
            self.stop = threading.Event()

        def lane(self, shards):
            return self

    monkeypatch.setattr(campaign, "_run_one", fake_run_one)
    order = schedule.plan(CATALOGUE, 1, _topology("article"))
    threading.Timer(0.0, lambda: (started.wait(timeout=10),
                                  signal.raise_signal(signal.SIGINT))).start()
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        campaign._run_lanes(FakeSession(), order.lanes, lambda job, result: None)
    assert sorted(healed) == [1, 2, 3]
    assert time.monotonic() - began < 30  # not the holds' 60 s


def _bench_run(seconds_by_label: dict, schedule_json: dict | None = None, **measures) -> dict:
    numbers = {"status": "pass", "failover_s": 4.0, "writes_resumed_s": 4.2, "outage_s": 4.1,
               "split_brain_s": 10.0, "lost_writes": 0}
    return {"wall_s": 1.0, "longest_chain_s": 0.0, "schedule": schedule_json or {},
            "scenarios": {label: {**numbers, **measures, "seconds": s}
                          for label, s in seconds_by_label.items()}}


def test_the_bench_compares_the_parallel_median_with_the_serial_range_per_measure():
    from lab.bench.campaign import equivalence

    serial = [_bench_run({"a": 1}, failover_s=f, lost_writes=n)
              for f, n in ((4.0, 10), (4.5, 12), (5.0, 11), (4.2, 15), (4.8, 10))]
    same = [_bench_run({"a": 1}, failover_s=f, lost_writes=n)
            for f, n in ((5.1, 11), (4.1, 12), (4.9, 20), (5.2, 9), (4.0, 14))]
    table = equivalence(serial, same)
    assert table["a"]["equivalent"]
    assert table["a"]["measures"]["failover_s"] == {
        "serial_min": 4.0, "serial_max": 5.0, "serial_median": 4.5,
        "parallel_median": 4.9, "inside": True}
    slower = [_bench_run({"a": 1}, failover_s=f) for f in (5.4, 5.6, 5.3, 6.0, 4.0)]
    row = equivalence(serial, slower)["a"]
    assert not row["equivalent"] and not row["measures"]["failover_s"]["inside"]
    assert row["measures"]["outage_s"]["inside"]
    # Within the resolution (0.25 s) of the serial range is inside.
    near = [_bench_run({"a": 1}, failover_s=5.2, lost_writes=12)] * 5
    assert equivalence(serial, near)["a"]["equivalent"]
    # No failover is later than any failover: a lane that stopped failing over is caught.
    never = [_bench_run({"a": 1}, failover_s=None, lost_writes=12)] * 5
    assert not equivalence(serial, never)["a"]["equivalent"]
    assert equivalence(never, never)["a"]["equivalent"]
    other_verdict = [_bench_run({"a": 1}, status="finding")] + serial[1:]
    assert not equivalence(serial, other_verdict)["a"]["equivalent"]


def test_the_longest_chain_is_the_longest_lane_plus_what_ran_alone():
    from lab.bench.campaign import longest_chain_s

    seconds = {"a": {"seconds": 10.0}, "b": {"seconds": 30.0}, "c": {"seconds": 15.0},
               "d": {"seconds": 5.0}, "e": {"seconds": 7.0}}
    lanes = {"lanes": {"1": ["a", "c"], "2": ["b"]}, "alone": ["d", "e"]}
    assert longest_chain_s(lanes, seconds) == 30.0 + 12.0
    serial = {"lanes": {}, "alone": list(seconds)}
    assert longest_chain_s(serial, seconds) == 67.0


def test_a_faults_own_seconds_parameter_is_not_taken_for_a_wait():
    """clock-jump's ``seconds`` is how far the clock steps, not a wait: a scenario's
    estimate counts wait steps' seconds and inject steps' holds only."""
    by_name = {s.name: s for s in CATALOGUE}
    back = by_name["clock-jump-back"]  # steps -60 s, holds 2 s, then 10 s
    assert schedule.estimate_s(back) == 12 + schedule.OVERHEAD_S
    assert schedule.estimate_s(by_name["clock-jump-forward"]) == \
        schedule.estimate_s(back)
