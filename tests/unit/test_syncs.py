"""Resynchronisations counted from the instances' INFO read before and after a recording
(lab.chaos.sync_stats): the checker, the three measures, the planned-failover finding,
on hand-made histories (tests/e2e and the CI campaign read them from a real lab)."""

from __future__ import annotations

from lab import measures
from lab.chaos import checkers
from lab.chaos.checkers import ShardMeasures
from lab.chaos.record import Convergence
from lab.chaos.scenarios import Expect, judge

SETTLED = Convergence(settled=True, seconds=3.0, datasets_equal=True)


def read(phase, instance, full=0, partial=0, refused=0, sent=0, run="r1", shard=1,
         counters=True):
    values = {"sync_full": full, "sync_partial_ok": partial, "sync_partial_err": refused,
              "total_net_repl_output_bytes": sent}
    return {"type": "sync-stats", "t": 0.0, "phase": phase, "instance": instance,
            "shard": shard, "run_id": run if counters else None,
            "counters": values if counters else None, "error": None if counters else "down"}


def test_each_instance_counts_what_it_served_during_the_recording():
    events = [
        read("before", "a", full=2, partial=1, sent=1_000),
        read("before", "b", full=0, partial=0, sent=0),
        # a served one more full sync and a partial one; b, promoted, two partial ones
        read("after", "a", full=3, partial=2, refused=1, sent=5_000_000),
        read("after", "b", full=0, partial=2, sent=2_000),
        read("after", "z", full=7, shard=2),  # another shard's instance
    ]
    assert checkers.syncs(events, 1) == {"full": 1, "partial": 3, "partial_refused": 1,
                                         "repl_bytes": 5_001_000}


def test_a_restarted_instance_counts_everything_since_its_restart():
    events = [read("before", "a", full=5, partial=9, sent=10**7),
              read("after", "a", full=1, partial=0, sent=300, run="r2")]
    assert checkers.syncs(events, 1) == {"full": 1, "partial": 0, "partial_refused": 0,
                                         "repl_bytes": 300}


def test_an_unread_instance_or_an_uncounted_field_is_unknown_not_zero():
    unread = [read("before", "a"), read("after", "a", full=1),
              read("before", "b"), read("after", "b", counters=False)]
    assert checkers.syncs(unread, 1) is None
    never_before = [read("before", "a", counters=False), read("after", "a", full=1)]
    assert checkers.syncs(never_before, 1) is None
    old_engine = [read("before", "a"), read("after", "a", full=1)]
    for event in old_engine:
        del event["counters"]["total_net_repl_output_bytes"]
    assert checkers.syncs(old_engine, 1) == {"full": 1, "partial": 0, "partial_refused": 0,
                                             "repl_bytes": None}
    assert checkers.syncs([], 1) is None  # recorded before the counters were read


def test_the_measures_sum_the_shards_and_say_unknown_where_one_was_not_read():
    one = {"full": 1, "partial": 2, "partial_refused": 0, "repl_bytes": 2_500_000}
    two = {"full": 0, "partial": 1, "partial_refused": 0, "repl_bytes": 500_000}
    shards = [ShardMeasures(1, syncs=one), ShardMeasures(2, syncs=two)]
    assert measures.get("full_syncs").value(shards, SETTLED) == 1
    assert measures.get("partial_syncs").value(shards, SETTLED) == 3
    assert measures.get("repl_mb").value(shards, SETTLED) == 3.0
    unread = [ShardMeasures(1, syncs=one), ShardMeasures(2, syncs=None)]
    assert measures.get("full_syncs").value(unread, SETTLED) is measures.UNKNOWN
    assert measures.get("repl_mb").value(
        [ShardMeasures(1, syncs={**one, "repl_bytes": None})], SETTLED) is measures.UNKNOWN
    assert measures.get("full_syncs").value([ShardMeasures(1)], SETTLED) is None


def test_a_planned_failover_followed_by_a_full_sync_is_a_finding():
    expect = Expect(failover=True, max_lost_writes=None, planned_failover=True)
    full = {"full": 1, "partial": 1, "partial_refused": 1, "repl_bytes": 3_000_000}
    shown = judge(expect, ShardMeasures(1, failover_s=1.0, syncs=full), SETTLED)
    assert shown.status == "finding"
    assert shown.findings == ["the planned failover was followed by 1 full sync(s) and 1 "
                              "partial one(s) (1 PSYNC refused, 3.0 MB sent to replicas): a "
                              "replica was sent the whole dataset again"]
    partial = {**full, "full": 0, "partial_refused": 0}
    assert judge(expect, ShardMeasures(1, failover_s=1.0, syncs=partial),
                 SETTLED).status == "pass"
    # The same full sync after an unplanned failover is what it costs, not a finding.
    unplanned = Expect(failover=True, max_lost_writes=None)
    assert judge(unplanned, ShardMeasures(1, failover_s=1.0, syncs=full),
                 SETTLED).status == "pass"
