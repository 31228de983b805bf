"""Checkers on hand-made histories: each measurement, and the hard cases."""

import json

import pytest

from lab.chaos import checkers, history
from lab.chaos.history import History

NAMES = {1: "shard1", 2: "shard2"}


def write(t0, t1, key, outcome="ok", shard=1, error=None, host="h"):
    return {"type": "op", "t": t1, "op": "write", "shard": shard, "port": 5000, "host": host,
            "key": key, "start": t0, "end": t1, "outcome": outcome, "error": error}


def read(t0, t1, key, found, shard=1, outcome="ok"):
    return {"type": "op", "t": t1, "op": "read", "shard": shard, "port": 5001, "key": key,
            "start": t0, "end": t1, "outcome": outcome, "error": None, "found": found}


def fault(t, phase, id_="f1", name="stop-master"):
    return {"type": "fault", "t": t, "phase": phase, "id": id_, "fault": name, "target": {}}


def switch(t, shard="shard1", new="10.0.0.2 6380"):
    return {"type": "sentinel", "t": t, "sentinel": "s1", "channel": "+switch-master",
            "data": f"{shard} 10.0.0.1 6379 {new}"}


def role(t, instance, r, shard=1):
    return {"type": "role", "t": t, "instance": instance, "shard": shard, "role": r,
            "master": None}


def haproxy(t, ups, name="redis1", backend="shard1_master"):
    return {"type": "haproxy", "t": t, "haproxy": name, "backend": backend, "up": ups}


def readback(present, shard=1):
    return {"type": "readback", "t": 100.0, "shard": shard, "master": "x", "present": present}


def measure(events, shard=1):
    return checkers.measure(sorted(events, key=lambda e: e["t"]), [1, 2], NAMES)[shard]


def test_empty_history_measures_nothing():
    m = measure([])
    assert (m.outage_s, m.failover_s, m.lost_writes, m.indeterminate_writes) == \
        (None, None, None, None)
    assert m.split_brain_roles_s == m.split_brain_haproxy_s == 0
    assert checkers.fault_windows([]) == []
    assert checkers.convergence([]) is None


def test_a_clean_failover():
    events = [
        write(0.0, 0.1, "a"), write(1.0, 1.1, "b"),
        fault(2.0, "inject"),
        write(2.2, 2.7, "c", "unknown", error="timeout"),
        write(3.0, 3.5, "d", "fail", error="connection-refused"),
        switch(4.5),
        write(5.0, 5.2, "e"),
        fault(8.0, "heal"),
        write(9.0, 9.1, "f"),
        readback(["a", "b", "e", "f"]),
    ]
    m = measure(events)
    assert m.failover_s == 2.5
    assert m.writes_resumed_s == 3.2  # first ok write started after the switch ended at 5.2
    assert m.new_master == "10.0.0.2:6380"
    assert m.outage_s == pytest.approx(4.1)  # 1.1 -> 5.2
    assert m.outage_open is False
    assert (m.lost_writes, m.indeterminate_writes) == (0, 0)
    assert m.writes == {"ok": 4, "unknown": 1, "fail": 1}
    assert m.errors == {"timeout": 1, "connection-refused": 1}


def test_lost_and_indeterminate_writes_are_read_back_not_guessed():
    events = [write(0, 1, "a"), write(1, 2, "b"), write(2, 3, "c", "unknown"),
              write(3, 4, "d", "fail"), readback(["a", "c"])]
    m = measure(events)
    assert (m.lost_writes, m.lost_keys, m.indeterminate_writes) == (1, ["b"], 1)


def test_only_the_shards_own_writes_count():
    events = [write(0, 1, "a", shard=2), readback([], shard=1), readback(["a"], shard=2)]
    assert measure(events, 1).lost_writes == 0
    assert measure(events, 2).lost_writes == 0


def test_a_fault_that_never_healed_lasts_to_the_end():
    events = [write(0, 0.1, "a"), fault(1.0, "inject"), write(5, 5.1, "b", "fail")]
    (window,) = checkers.fault_windows(events)
    assert (window.start, window.end, window.healed) == (1.0, 5.1, False)
    m = measure(events)
    assert m.outage_s == pytest.approx(5.0)  # from the last success to the end: still open
    assert m.outage_open is True
    assert m.failover_s is None


def test_gaps_outside_fault_windows_are_not_outages():
    events = [write(0, 1, "a"), write(5, 6, "b"), fault(7, "inject"), write(7.5, 7.6, "c"),
              fault(8, "heal"), write(8.1, 8.2, "d")]
    assert measure(events).outage_s == pytest.approx(1.6)  # 6 -> 7.6, not the 1 -> 6 gap


def test_split_brain_from_roles_and_haproxy():
    events = [
        role(0, "i1", "master"), role(0, "i2", "slave"),
        role(5, "i2", "master"),  # promoted while i1 still says master
        role(7, "i1", None),  # unreachable: not counted as master
        role(8, "i1", "master"),  # back, still master
        role(11, "i1", "slave"),
        haproxy(5, ["a"]), haproxy(8.5, ["a", "b"]), haproxy(9, ["a", "b"], name="redis2"),
        haproxy(10.5, ["b"]), haproxy(12, ["b"], name="redis2"),
        role(20, "i3", "slave"),
    ]
    m = measure(events)
    assert m.split_brain_roles_s == pytest.approx(2 + 3)
    assert m.split_brain_haproxy_s == pytest.approx(12 - 8.5)


def test_split_brain_still_open_at_the_end():
    events = [role(0, "i1", "master"), role(2, "i2", "master"), role(4, "i3", "slave")]
    assert measure(events).split_brain_roles_s == pytest.approx(2)


def test_stale_reads_need_an_acknowledgement_before_the_read():
    events = [write(0, 1, "a"), read(2, 2.1, "a", found=False), read(0.5, 0.6, "a", False),
              read(3, 3.1, "a", True), write(4, 5, "b", "unknown"), read(6, 6.1, "b", False)]
    assert measure(events).stale_reads == 1


def test_failover_only_counts_switches_of_this_shard_after_the_fault():
    events = [switch(0.5), fault(1, "inject"), switch(2, shard="shard2"), switch(3)]
    assert measure(events).failover_s == 2
    assert measure(events, 2).failover_s == 1


def test_clocks_from_several_hosts_are_sorted_before_judging(tmp_path):
    """Observations arrive from many threads (and, for remote facts, other clocks):
    the history file is not in time order; the reader sorts it."""
    path = tmp_path / "h.jsonl"
    with History(path) as h:
        h.record("op", t=5.2, **{k: v for k, v in write(5.0, 5.2, "e").items()
                                 if k not in ("type", "t")})
        h.record("fault", t=2.0, phase="inject", id="f1", fault="stop-master", target={})
        h.record("sentinel", t=4.5, sentinel="s1", channel="+switch-master",
                 data="shard1 10.0.0.1 6379 10.0.0.2 6380")
        h.record("op", t=0.1, **{k: v for k, v in write(0.0, 0.1, "a").items()
                                 if k not in ("type", "t")})
    with path.open("a") as f:
        f.write('{"type": "op", "t": 9.9, "torn')  # a run killed mid-write
    events = history.read(path)
    assert [e["t"] for e in events] == [0.1, 2.0, 4.5, 5.2]
    m = checkers.measure(events, [1], {1: "shard1"})[1]
    assert m.failover_s == 2.5
    assert m.outage_s == pytest.approx(5.1)
    json.dumps(m.as_dict())  # results.json can hold it


def test_outage_as_each_haproxys_clients_saw_it():
    def via(host, t0, t1, outcome="ok"):
        return dict(write(t0, t1, f"{host}{t0}", outcome), host=host)

    events = [via("a", 0, 0.1), via("b", 0, 0.1), fault(1, "inject"),
              via("a", 1.5, 1.6), via("a", 3, 3.1), via("b", 2, 2.1, "fail"),
              fault(5, "heal"), via("a", 6, 6.1), via("b", 6, 6.2)]
    m = measure(events)
    assert m.outage_s == pytest.approx(3.0)  # 3.1 -> 6.1: some client wrote meanwhile
    assert m.outage_by_haproxy == {"a": pytest.approx(3.0), "b": pytest.approx(6.1)}


def test_split_votes_are_counted_per_shard_after_the_fault():
    def abort(t, shard="shard1"):
        return {"type": "sentinel", "t": t, "sentinel": "s2",
                "channel": "-failover-abort-not-elected", "data": f"master {shard} 10.0.0.1 6379"}

    events = [abort(0.5), fault(1, "inject"), abort(3), abort(4, "shard2"), switch(12)]
    assert measure(events).split_votes == 1
    assert measure(events, 2).split_votes == 1


def test_failover_phases_say_where_the_time_goes():
    from lab.chaos.checkers import failover_phases

    t0 = 1000.0
    events = [
        {"type": "sentinel", "t": t0 + 1.0, "channel": "+sdown", "data": "slave x"},
        {"type": "sentinel", "t": t0 + 1.1, "channel": "+sdown", "data": "master shard1 a 1"},
        {"type": "sentinel", "t": t0 + 1.2, "channel": "+odown", "data": "master shard1 a 1"},
        {"type": "op", "t": t0 + 1.5, "op": "write", "outcome": "ok", "start": t0 + 1.4},
        {"type": "sentinel", "t": t0 + 2.0, "channel": "+switch-master", "data": "shard1"},
        {"type": "haproxy", "t": t0 + 1.9, "backend": "shard1_master", "up": ["a"]},
        {"type": "haproxy", "t": t0 + 2.3, "backend": "shard1_master", "up": ["b"]},
        {"type": "op", "t": t0 + 2.25, "op": "write", "outcome": "ok", "start": t0 + 2.2},
    ]
    assert failover_phases(events, t0, "shard1_master") == {
        "sdown": 1.1, "odown": 1.2, "switch_master": 2.0, "haproxy_up": 2.3,
        "first_write": 2.25}  # (a slave's +sdown, and anything before the switch, ignored)
    assert failover_phases(events[:3], t0, "shard1_master") == {"sdown": 1.1, "odown": 1.2}


# Routes and acknowledgement modes: who served a write, and whether replicas confirmed it.

def served(t0, t1, key, instance, client=0, outcome="ok"):
    return {**write(t0, t1, key, outcome), "served": instance, "client": client}


def named(t, sentinel, master, shard=1):
    return {"type": "named", "t": t, "sentinel": sentinel, "shard": shard, "master": master}


OLD, NEW = "10.0.0.1:6379", "10.0.0.1:6380"
SWITCHED = [named(0.0, "s1", OLD), named(0.0, "s2", OLD), named(0.0, "s3", OLD),
            named(5.0, "s1", NEW), named(6.0, "s2", NEW)]  # the majority moves at 6.0


def test_the_master_a_majority_names_changes_when_the_second_of_three_moves():
    assert checkers.named_majority(SWITCHED, 1, voters=3) == [(0.0, None), (0.0, OLD),
                                                              (6.0, NEW)]
    # Two of three unreachable: nobody has a majority.
    gone = [*SWITCHED[:3], named(1.0, "s2", None), named(1.5, "s3", None)]
    assert checkers.named_majority(gone, 1, voters=3)[-1] == (1.5, None)


def test_writes_acknowledged_by_a_demoted_master_and_the_time_spent_on_it():
    writes = [
        served(1.0, 1.1, "a", OLD),                    # OLD is the master: fine
        served(5.5, 5.6, "b", NEW, client=1),          # promoted, majority not there yet
        served(6.5, 6.6, "c", OLD), served(7.0, 7.2, "d", OLD),   # client 0 on OLD: demoted
        served(7.5, 7.6, "e", OLD, outcome="fail"),    # refused: not acknowledged
        served(8.0, 8.5, "f", OLD),                    # a new run of demoted writes
        served(7.1, 8.2, "g", OLD, client=1, outcome="unconfirmed"),  # overlaps client 0's
        served(9.0, 9.1, "h", NEW),
    ]
    count, seconds = checkers.demoted(writes, checkers.named_majority(SWITCHED, 1, 3))
    assert count == 4
    # client 0: 6.5-7.2 and 8.0-8.5; client 1: 7.1-8.2; their union is 6.5-8.5.
    assert seconds == pytest.approx(2.0)


def test_unconfirmed_writes_are_neither_lost_nor_indeterminate_but_counted_apart():
    events = [write(0.0, 0.1, "a"), write(0.2, 0.3, "b", "unconfirmed"),
              write(0.4, 0.5, "c", "unconfirmed"), write(0.6, 0.7, "d", "unknown"),
              readback(["a", "c", "d"])]
    m = measure(events)
    assert (m.lost_writes, m.indeterminate_writes, m.unconfirmed, m.unconfirmed_lost) == \
        (0, 1, 2, 1)
    assert m.errors == {"unconfirmed": 2, "unknown": 1}


def test_a_sentinel_checked_instance_up_for_several_majorities_is_one_instance():
    checked = "shard1_master_checked"
    events = [haproxy(0.0, ["r_6379_by_1_2", "r_6379_by_1_3", "r_6379_by_2_3"], backend=checked),
              haproxy(2.0, ["r_6379_by_1_2", "r_6380_by_2_3"], backend=checked),
              haproxy(3.0, ["r_6380_by_2_3"], backend=checked), write(9.0, 9.1, "z")]
    m = checkers.measure(events, [1], {1: "shard1"}, {1: checked})[1]
    assert m.split_brain_haproxy_s == pytest.approx(1.0)
    # Without HAProxy (the Sentinel client) there is no HAProxy split brain to measure.
    assert checkers.measure(events, [1], {1: "shard1"}, {1: None})[1].split_brain_haproxy_s == 0
