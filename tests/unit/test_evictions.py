"""Keys maxmemory evicted, counted from the instances' INFO read before and after a
recording (lab.chaos.sync_stats): the checker, the two measures, the verdict, and the
maxmemory-evict fault on fake machines (tests/chaos runs it on a real lab)."""

from __future__ import annotations

import pytest

from lab import measures
from lab.chaos import checkers, faults
from lab.chaos.checkers import ShardMeasures
from lab.chaos.scenarios import Expect, judge
from lab.leftovers import PENDING
from tests.unit.test_syncs import SETTLED


def read(phase, instance, evicted=0, role="master", run="r1", shard=1, counted=True):
    counters = {"sync_full": 0, "evicted_keys": evicted} if counted else {"sync_full": 0}
    return {"type": "sync-stats", "t": 0.0, "phase": phase, "instance": instance,
            "shard": shard, "run_id": run, "role": role, "counters": counters,
            "error": None}


def test_each_instance_counts_its_own_evictions_and_a_replica_is_named_one():
    events = [read("before", "a:6379", evicted=5), read("before", "a:6380", role="slave"),
              read("before", "a:6381", evicted=3, role="slave"),
              read("after", "a:6379", evicted=2305), read("after", "a:6380", 656, "slave"),
              read("after", "a:6381", evicted=3, role="slave"),  # none during the recording
              read("after", "z:6379", evicted=9, shard=2)]
    assert checkers.evictions(events, 1) == ({"a:6379": 2300, "a:6380": 656},
                                             {"a:6380": 656})
    m = checkers.measure(events, [1, 2], {1: "shard1", 2: "shard2"})
    assert m[1].evicted == {"a:6379": 2300, "a:6380": 656}
    assert m[1].replica_evicted == {"a:6380": 656}
    assert measures.get("evicted_keys").value([m[1]], SETTLED) == 2956
    assert measures.get("replica_evicted_keys").value([m[1]], SETTLED) == 656
    # shard 2's instance was not read before: what it evicted is unknown, not 9
    assert m[2].evicted is None and m[2].replica_evicted is None
    assert measures.get("evicted_keys").value(list(m.values()), SETTLED) is measures.UNKNOWN


def test_a_restarted_instance_counts_everything_since_its_restart_and_old_histories_none():
    restarted = [read("before", "a", evicted=500), read("after", "a", evicted=40, run="r2")]
    assert checkers.evictions(restarted, 1) == ({"a": 40}, {})
    old_engine = [read("before", "a", counted=False), read("after", "a", counted=False)]
    assert checkers.evictions(old_engine, 1) is None
    assert checkers.evictions([], 1) is None  # recorded before the counters were read
    assert measures.get("evicted_keys").value([ShardMeasures(1)], SETTLED) is None


def test_replicas_evicting_on_their_own_are_asserted_and_reported():
    expect = Expect(failover=False, max_lost_writes=None, replica_evictions=True, finding="x")
    diverged = judge(expect, ShardMeasures(1, evicted={"a:6379": 2300, "a:6380": 656},
                                           replica_evicted={"a:6380": 656}), SETTLED)
    assert diverged.status == "finding"
    assert "2956 keys evicted (maxmemory; a:6379: 2300, a:6380 (replica): 656): the " \
        "replicas dropped 656 keys their master kept, their datasets diverged" \
        in diverged.findings
    followed = judge(expect, ShardMeasures(1, evicted={"a:6379": 2300},
                                           replica_evicted={}), SETTLED)
    assert [c.check for c in followed.checks if not c.ok] == [
        "replicas evicted keys on their own"]
    assert "2300 keys evicted (maxmemory; a:6379: 2300)" in followed.findings
    unread = judge(expect, ShardMeasures(1, evicted=None), SETTLED)
    assert [c.detail for c in unread.checks if not c.ok] == ["INFO not read: unknown"]
    ignoring = Expect(max_lost_writes=None, replica_evictions=False)
    assert judge(ignoring, ShardMeasures(1, evicted={"a:6379": 10}, replica_evicted={}),
                 SETTLED).status != "fail"
    assert judge(ignoring, ShardMeasures(1, evicted={"a:6380": 1},
                                         replica_evicted={"a:6380": 1}),
                 SETTLED).status == "fail"


class _Instance:
    def __init__(self, settings):
        self.settings = settings

    def info(self, section):
        return {"used_memory": 10 << 20}

    def config_get(self, name):
        return {name: self.settings[name]}


@pytest.mark.parametrize("replicas", ["evict", "ignore"])
def test_maxmemory_is_set_on_every_instance_after_the_undos_and_healed_by_a_resync(
        monkeypatch, replicas):
    import contextlib

    from lab.chaos.faults import resources
    from tests.unit.test_catalogue import fake_nemesis

    was = {"maxmemory": "0", "maxmemory-policy": "noeviction",
           "replica-ignore-maxmemory": "yes"}
    monkeypatch.setattr(resources, "client",
                        lambda *a, **k: contextlib.nullcontext(_Instance(was)))
    nemesis, machines, topo = fake_nemesis()
    applied = faults.inject(nemesis, "maxmemory-evict", shard=1, headroom_mb=8,
                            policy="allkeys-random", replicas=replicas, keys=10, value_kb=4)
    commands = machines["redis1"].commands
    pending = [i for i, c in enumerate(commands) if c.endswith(f">> {PENDING}")]
    changes = [i for i, c in enumerate(commands) if "CONFIG SET maxmemory" in c
               and "answer=" in c]
    burst = next(i for i, c in enumerate(commands) if "EVAL" in c and ">>" not in c)
    instances = topo.shard(1).instances
    assert len(changes) == len(instances) and max(changes) < burst
    # The resyncs and the values' deletion written down before any change; each
    # instance's put-back before its own change.
    before = [i for i in pending if i < min(changes)]
    assert len(before) == (len(instances) - 1) + 1 + 1  # resyncs, values, 1st put-back
    for i, instance in zip(changes, instances, strict=True):
        assert any(p < i and f"-p {instance.port} CONFIG SET maxmemory 0 " in commands[p]
                   for p in pending)
    ignore = "no" if replicas == "evict" else "yes"
    for i, instance in zip(changes, instances, strict=True):
        assert f"-p {instance.port} CONFIG SET maxmemory {(10 + 8) << 20} maxmemory-policy " \
            f"allkeys-random replica-ignore-maxmemory {ignore}" in commands[i]
    # The heal (undos last to first): settings put back, values deleted, replicas resynced.
    undo = [u for _, u in reversed(applied.undo)]
    put_back = [n for n, u in enumerate(undo) if "CONFIG SET maxmemory 0 maxmemory-policy "
                "noeviction replica-ignore-maxmemory yes" in u]
    deleted = next(n for n, u in enumerate(undo) if "pkill" in u)
    resyncs = [n for n, u in enumerate(undo) if "REPLICAOF NO ONE" in u]
    assert len(put_back) == len(instances) and len(resyncs) == len(instances) - 1
    assert max(put_back) < deleted < min(resyncs)


def test_maxmemory_refuses_what_it_cannot_do():
    from tests.unit.test_catalogue import fake_nemesis

    nemesis, _, _ = fake_nemesis()
    for bad in ({"headroom_mb": 0}, {"policy": "noeviction"}, {"replicas": "sometimes"}):
        with pytest.raises(ValueError):
            faults.inject(nemesis, "maxmemory-evict", **bad)
