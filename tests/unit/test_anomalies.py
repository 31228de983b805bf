"""The list-append anomaly checker on hand-made histories: one per class that it must find
with the right witness, a valid one it must not flag, and unknown outcomes that must never
be the sole cause of an anomaly."""

from __future__ import annotations

import json

from lab.chaos.anomalies import CLASSES, check
from lab.chaos.checkers import ShardMeasures
from lab.chaos.record import _build

K = "run:list:1"


def append(value, client=0, start=0.0, end=None, outcome="ok", key=K):
    return {"type": "op", "op": "append", "key": key, "value": value, "client": client,
            "start": start, "end": start + 0.01 if end is None else end, "outcome": outcome}


def read(values, client=0, start=0.0, end=None, kind="master", outcome="ok", key=K):
    return {"type": "op", "op": "lrange", "key": key, "value": list(values), "client": client,
            "start": start, "end": start + 0.01 if end is None else end, "outcome": outcome,
            "kind": kind}


def only(found, kind):
    """The classes found are exactly ``kind`` (a dict of class -> count)."""
    return {k: n for k, n in found.counts.items() if n} == kind


def test_a_valid_history_has_no_anomaly():
    history = [append("a", 0, 1), read(["a"], 1, 2), append("b", 1, 3), read(["a", "b"], 0, 4),
               read(["a", "b"], 1, 5, kind="replicas"), append("c", 2, 6),
               read(["a", "b", "c"], 2, 7), read([], 0, 0.5)]
    found = check(history, {K: ["a", "b", "c"]})
    assert set(found.counts) == set(CLASSES)
    assert not any(found.counts.values()), found.counts


def test_two_reads_that_are_not_prefixes_of_one_another_are_an_incompatible_order():
    one, other = read(["a", "b"], 0, 2), read(["a", "c"], 1, 3)
    found = check([append("a", 0, 1), append("b", 0, 1.5), append("c", 1, 1.5), one, other,
                   read(["a", "b", "d"], 0, 4), read(["a", "c", "e"], 1, 5)],
                  {K: ["a", "b", "d"]})
    assert found.counts["incompatible-order"] == 1  # one per key, however many reads
    # the other history's appends are lost, and were read: both said too
    assert found.counts["lost-append"] == 1 and found.counts["lost-read"] == 2
    [anomaly] = found.examples["incompatible-order"]
    assert anomaly.ops == (one, other) and anomaly.detail == {"one": ["a", "b"],
                                                              "other": ["a", "c"]}


def test_a_value_read_then_gone_from_the_final_list_is_a_read_of_a_lost_write():
    gone = append("b", 1, 1, outcome="unknown")  # even of an unknown append: it was seen
    seen = read(["a", "b"], 0, 2)
    found = check([append("a", 0, 0.5), gone, seen, read(["a", "b"], 2, 3)], {K: ["a"]})
    assert only(found, {"lost-read": 1})
    [anomaly] = found.examples["lost-read"]
    assert anomaly.ops == (seen, gone) and anomaly.detail == {"value": "b"}


def test_an_acknowledged_append_absent_at_the_end_is_lost_once_and_never_also_stale():
    lost = append("b", 1, 1, outcome="unconfirmed")  # WAIT: the master acknowledged it
    later = read(["a"], 0, 5)  # misses b, which is lost: not also a stale read
    found = check([append("a", 0, 0.5), lost, later], {K: ["a"]})
    assert only(found, {"lost-append": 1})
    assert found.examples["lost-append"][0].ops == (lost,)


def test_a_read_missing_earlier_acknowledged_appends_is_stale_by_versions_and_ms():
    first, second = append("a", 0, 0, 1.0), append("b", 0, 1.5, 2.0)
    lagging = read(["a"], 1, 3.0, kind="replicas")
    empty = read([], 2, 2.5, kind="master")
    found = check([first, second, lagging, empty], {K: ["a", "b"]})
    assert only(found, {"stale-read:replicas": 1, "stale-read:master": 1})
    [anomaly] = found.examples["stale-read:replicas"]
    assert anomaly.ops == (lagging, second) and anomaly.detail == {"versions": 1, "ms": 1000.0}
    [anomaly] = found.examples["stale-read:master"]
    assert anomaly.ops == (empty, first) and anomaly.detail == {"versions": 2, "ms": 1500.0}


def test_a_client_reading_a_shorter_prefix_after_a_longer_one_is_non_monotonic():
    longer, shorter = read(["a", "b"], 1, 3, kind="master"), read(["a"], 1, 4, kind="master")
    # another client's shorter read is not this client's regression
    found = check([append("a", 0, 1), append("b", 0, 2), longer, read(["a", "b"], 2, 3.5),
                   shorter], None)
    assert found.counts["non-monotonic-read"] == 1
    [anomaly] = found.examples["non-monotonic-read"]
    assert anomaly.ops == (longer, shorter) and anomaly.detail == {"before": 2, "after": 1}


def test_a_client_missing_its_own_acknowledged_append_violates_read_your_writes():
    mine = append("b", 1, 1, 1.2)
    missed = read(["a"], 1, 2, kind="replicas")
    found = check([append("a", 0, 0, 0.5), mine, missed, read(["a", "b"], 0, 3)],
                  {K: ["a", "b"]})
    assert found.counts["read-your-writes"] == 1
    [anomaly] = found.examples["read-your-writes"]
    assert anomaly.ops == (mine, missed) and anomaly.detail == {"value": "b"}
    assert found.counts["stale-read:replicas"] == 1  # and, for everyone, a stale read


def test_unknown_and_failed_appends_are_never_the_sole_cause_of_an_anomaly():
    history = [append("a", 0, 0, 0.5), append("b", 1, 1, 1.2, outcome="unknown"),
               append("c", 1, 1.5, 1.6, outcome="fail"),
               read(["a"], 1, 2, kind="replicas"), read(["a"], 0, 3, kind="master")]
    found = check(history, {K: ["a"]})  # neither b nor c is there at the end
    assert not any(found.counts.values()), found.counts


def test_failed_and_unknown_reads_show_nothing_and_keys_are_checked_apart():
    history = [append("a", 0, 1), read(["x"], 0, 2, outcome="fail"),
               read(["z"], 0, 2, outcome="unknown"), append("a", 0, 1, key="other"),
               read(["a"], 0, 2, key="other")]
    assert not any(check(history, {K: ["a"], "other": ["a"]}).counts.values())


def test_only_the_first_witnesses_are_kept_every_anomaly_is_counted():
    history = [append("a", 0, 0, 1.0)] + [read([], c, 2 + c, kind="replicas")
                                          for c in range(12)]
    found = check(history, {K: ["a"]})
    assert found.counts["stale-read:replicas"] == 12
    assert len(found.examples["stale-read:replicas"]) == 5


def shard_op(op, shard=1, t=1.0, **fields):
    return {"type": "op", "t": t, "op": op, "shard": shard, "host": "192.168.56.11",
            "outcome": "ok", "start": t - 0.01, "end": t, **fields}


def test_the_measures_count_each_class_over_shards_and_say_when_they_cannot():
    from lab import measures
    from lab.chaos import checkers

    events = [shard_op("append", key=K, value="a", client=0, t=1.0),
              shard_op("append", key=K, value="b", client=1, t=2.0),
              shard_op("lrange", key=K, value=["a", "b"], client=0, kind="master", t=3.0),
              shard_op("lrange", key=K, value=["a"], client=0, kind="replicas", t=4.0),
              shard_op("write", shard=2, key="r:1", t=1.0)]
    read_back = {"type": "readback-lists", "t": 5.0, "shard": 1, "master": "redis1:6379",
                 "lists": {K: ["a"]}}
    keys_back = {"type": "readback", "t": 5.0, "shard": 1, "master": "redis1:6379",
                 "written": 0, "present": []}
    shards = checkers.measure(events + [read_back, keys_back], [1, 2],
                              {1: "shard1", 2: "shard2"})
    assert shards[1].lost_writes == 1  # an appended value is a write: b is lost
    assert shards[2].anomalies is None  # no list operation on shard 2
    assert shards[1].appends == {"ok": 2}
    values = measures.values(list(shards.values()), None)
    assert values["lost_appends"] == 1 and values["lost_reads"] == 1  # b
    assert values["non_monotonic_reads"] == 1 and values["incompatible_orders"] == 0
    example = shards[1].anomaly_examples["lost-append"][0]
    assert example["key"] == K and example["detail"] == {"value": "b"}
    # as results.json holds them: a re-judged history compares equal to the record
    assert _build(ShardMeasures, json.loads(json.dumps(shards[1].as_dict()))) == shards[1]
    # without the final lists: the classes that need them are unknown, the others counted
    unread = measures.values(list(checkers.measure(events, [1, 2], {1: "s1", 2: "s2"})
                                  .values()), None)
    assert unread["lost_appends"] is measures.UNKNOWN and unread["non_monotonic_reads"] == 1
    # a history without list operations: the measures do not apply
    plain = measures.values(list(checkers.measure(events[4:], [2], {2: "s2"}).values()), None)
    assert "lost_appends" not in plain and "incompatible_orders" not in plain


def test_each_anomaly_is_put_in_plain_words_naming_a_master_the_sentinels_had_replaced():
    from dataclasses import asdict

    from lab.chaos.checkers import named_majority
    from lab.report.anomaly_words import explain, replaced_at, short_list

    old, new = "192.168.56.11:6379", "192.168.56.12:6379"
    named = [{"type": "named", "t": t, "sentinel": s, "shard": 1, "master": m}
             for t, m in ((0.0, old), (11.9, new)) for s in ("a", "b", "c")]
    appended = dict(append("c", 2, 12.0, 12.1), served=old)
    seen = dict(read(["a", "b", "c"], 2, 12.3, 12.4), served=old)
    events = [{"type": "meta", "t": 0.0}, *named]
    found = check([append("a", 0, 1), append("b", 0, 2), appended, seen], {K: ["a", "b"]})
    [lost_read] = found.examples["lost-read"]
    majority = named_majority(events, 1)
    words = explain(asdict(lost_read), 0.0, majority, {"192.168.56.11": "redis1"})
    assert words == ("client 2 read [a, b, c] from redis1:6379 (a master the Sentinels had "
                     "replaced at 11.9 s) at 12.4 s; c is not on the final master: it "
                     "vanished (client 2 appended it through redis1:6379 (a master the "
                     "Sentinels had replaced at 11.9 s) at 12.1 s, outcome ok)")
    # every class has its sentence
    for kind, examples in check([append("a", 0, 0, 1.0), append("b", 1, 1.5, 2.0),
                                 read(["a", "b"], 1, 3), read(["a"], 1, 4, kind="replicas"),
                                 read(["b"], 0, 5)], {K: ["a"]}).examples.items():
        assert explain(asdict(examples[0]), 0.0, majority).startswith("client "), kind
    majority = [(0.0, old), (11.9, new), (20.0, old)]
    assert replaced_at(majority, old, 5.0) is None and replaced_at(majority, old, 12) == 11.9
    assert replaced_at(majority, old, 21.0) is None  # named again
    assert short_list([str(i) for i in range(9)]) == "[0, 1, …, 6, 7, 8] (9 values)"


def test_anomalies_that_lose_data_are_findings_where_documented_and_failures_elsewhere():
    from lab.chaos.record import Convergence, Status
    from lab.chaos.scenarios import Expect, judge

    settled = Convergence(settled=True, seconds=1.0, datasets_equal=True)
    seen = dict.fromkeys(CLASSES, 0) | {"incompatible-order": 2, "lost-read": 5,
                                        "stale-read:master": 1, "stale-read:replicas": 9}
    m = ShardMeasures(1, lost_writes=0, anomalies=seen)
    lossy = judge(Expect(max_lost_writes=0, lost_writes_are_finding=True), m, settled)
    # data that vanished is documented (lost writes are), a master serving a stale list
    # is not (no split brain expected)
    assert lossy.status == Status.FAIL
    assert [c.check for c in lossy.checks if not c.ok] == [
        "no stale reads (master port) (list-append)"]
    assert "list-append: 5 reads of lost writes" in lossy.findings
    assert "list-append: 2 incompatible orders" in lossy.findings
    safe = judge(Expect(), m, settled)  # a scenario that documents no loss at all
    assert {c.check for c in safe.checks if not c.ok} == {
        "no incompatible orders (list-append)", "no reads of lost writes (list-append)",
        "no stale reads (master port) (list-append)"}
    explicit = judge(Expect(max_lost_writes=0, lost_writes_are_finding=True,
                            anomalies=("stale-read:master",)), m, settled)
    assert explicit.status == Status.FINDING
    m.split_brain_roles_s = 3.0  # the split brain that scenario expects
    documented = judge(Expect(max_lost_writes=None, lost_writes_are_finding=True,
                              split_brain_expected=True), m, settled)
    assert documented.status == Status.FINDING and not any(
        "stale reads (replica port)" in f for f in documented.findings)  # by design
    quiet = judge(Expect(), ShardMeasures(1, lost_writes=0, anomalies=dict.fromkeys(CLASSES, 0)
                                          | {"non-monotonic-read": 3}), settled)
    assert quiet.status == Status.PASS
