"""The settle verdict on hand-made snapshots: settled, and each way of not being so."""

import copy

from lab import config, settle, topology
from lab.probe import HAProxyView, InstanceView, MonitorView, SentinelView, Snapshot

CFG = config.from_dict({})
TOPO = topology.build(CFG)


def healthy() -> Snapshot:
    instances = []
    for inst in TOPO.instances:
        master = TOPO.shard(inst.shard).initial_master
        if inst is master:
            instances.append(InstanceView(inst, role="master", link_up=True, offset=100))
        else:
            instances.append(InstanceView(inst, role="slave", master_address=master.address,
                                          link_up=True, offset=100))
    sentinels = [
        SentinelView(s, monitors={n: MonitorView(TOPO.shard(n).initial_master.address, 2, 2,
                                                 "OK 3 usable Sentinels", "master")
                                  for n in s.shards})
        for s in TOPO.sentinels
    ]
    up = {}
    for shard in TOPO.shards:
        names = [f"{i.server.name}_{i.port}" for i in shard.instances]
        up[f"shard{shard.number}_master"] = names[:1]
        up[f"shard{shard.number}_replicas"] = names[1:]
        # The Sentinel-checked master is UP once per majority of Sentinels naming it.
        up[f"shard{shard.number}_master_checked"] = [f"{names[0]}_by_1_2", f"{names[0]}_by_1_3",
                                                     f"{names[0]}_by_2_3"]
    haproxies = [HAProxyView(s.name, s.address, up=copy.deepcopy(up)) for s in TOPO.servers]
    return Snapshot(instances, sentinels, haproxies, 0.0)


def test_a_healthy_lab_is_settled():
    assert settle.problems(healthy(), CFG, TOPO) == []


def test_two_masters_in_a_shard():
    snap = healthy()
    snap.instances[1].role = "master"
    found = settle.problems(snap, CFG, TOPO)
    assert found == ["shard 1: 2 instances report role:master (redis1:6379, redis1:6380), "
                     "expected exactly 1"]


def test_replica_behind_or_unlinked():
    snap = healthy()
    snap.instances[1].offset = 90
    snap.instances[2].link_up = False
    found = settle.problems(snap, CFG, TOPO)
    assert "shard 1: redis1:6380 offset 90 behind master offset 100" in found
    assert "shard 1: redis1:6381 master_link_status is not up" in found


def test_unreachable_instance_and_sentinel():
    snap = healthy()
    snap.instances[4].error = "ConnectionError: refused"
    snap.sentinels[0].error = "TimeoutError: timed out"
    found = settle.problems(snap, CFG, TOPO)
    assert any("redis2:6380 unreachable" in p for p in found)
    assert "sentinel redis1:26379 unreachable (TimeoutError: timed out)" in found


def test_sentinel_disagreement_and_quorum():
    snap = healthy()
    monitor = snap.sentinels[3].monitors[2]
    monitor.master_address = ("192.168.56.12", 6380)
    monitor.other_sentinels = 1
    monitor.ckquorum = "NOQUORUM 1 usable Sentinels"
    found = settle.problems(snap, CFG, TOPO)
    assert ("sentinel redis2:26379, shard 2: names master 192.168.56.12:6380, "
            "instances say 192.168.56.12:6379") in found
    assert "sentinel redis2:26379, shard 2: sees 1 other Sentinels, expected 2" in found
    assert any("CKQUORUM says 'NOQUORUM" in p for p in found)


def test_a_sentinel_checked_backend_must_hold_the_master_alone():
    snap = healthy()
    snap.haproxies[0].up["shard1_master_checked"] = []
    snap.haproxies[1].up["shard2_master_checked"] += ["redis2_6380_by_1_2"]
    found = settle.problems(snap, CFG, TOPO)
    assert ("haproxy on redis1: shard1_master_checked has UP nothing, expected [redis1_6379] "
            "named by a majority of Sentinels") in found
    assert ("haproxy on redis2: shard2_master_checked has UP ['redis2_6379', 'redis2_6380'], "
            "expected [redis2_6379] named by a majority of Sentinels") in found
    assert len(found) == 2


def test_haproxy_with_two_up_masters_or_missing_replicas():
    snap = healthy()
    snap.haproxies[0].up["shard1_master"] = ["redis1_6379", "redis1_6380"]
    snap.haproxies[2].up["shard3_replicas"] = ["redis3_6380"]
    snap.haproxies[1].error = "URLError: refused"
    found = settle.problems(snap, CFG, TOPO)
    assert ("haproxy on redis1: shard1_master has UP ['redis1_6379', 'redis1_6380'], "
            "expected [redis1_6379]") in found
    assert "haproxy on redis3: shard3_replicas has 1 UP, expected 2" in found
    assert "haproxy on redis2 unreachable (URLError: refused)" in found


def test_after_a_failover_the_new_master_is_expected_everywhere():
    snap = healthy()
    old, new = snap.instances[0], snap.instances[1]
    old.role, old.master_address = "slave", new.instance.address
    new.role, new.master_address = "master", None
    snap.instances[2].master_address = new.instance.address
    assert any("names master 192.168.56.11:6379" in p
               for p in settle.problems(snap, CFG, TOPO)), "sentinels still name the old one"
    for s in snap.sentinels[:3]:
        s.monitors[1].master_address = new.instance.address
    for h in snap.haproxies:
        h.up["shard1_master"] = ["redis1_6380"]
        h.up["shard1_replicas"] = ["redis1_6379", "redis1_6381"]
    assert all("shard1_master_checked has UP ['redis1_6379']" in p
               for p in settle.problems(snap, CFG, TOPO)), "the checked route lags"
    for h in snap.haproxies:
        h.up["shard1_master_checked"] = ["redis1_6380_by_2_3"]
    assert settle.problems(snap, CFG, TOPO) == []


def test_a_sentinel_in_tilt_is_not_settled():
    """A Sentinel in TILT acts on nothing (a manual failover asked of it waits until TILT
    ends): the catalogue's manual failover after a clock jump took 8.4 s instead of 1.2
    until a reset waited for it."""
    snap = healthy()
    snap.sentinels[2].tilt = True
    assert settle.problems(snap, CFG, TOPO) == [
        "sentinel redis1:26381 in TILT mode (it acts on nothing until 30 s after its clock "
        "last jumped)"]
