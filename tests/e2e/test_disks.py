"""Disks on a real lab, full and slow: CI's spread lab keeps its data with AOF, each
instance on a data disk of its own ([redis] data_disk_mb, tests/labs.py), with TLS and ACL
users. The disk-full and slow-fsync scenarios on every engine are in docs/measured.md (the
engine matrix); here CI's engine, AOF."""

from __future__ import annotations

from lab import leftovers
from lab.chaos.faults.resources import DISK_FILLER, FSYNC_DELAY_FILE
from lab.probe import client
from lab.render import REMOTE_ROOT
from tests.labs import recorded, status_once_settled


def test_each_instance_has_a_data_disk_of_its_own_and_sentinels_do_not(spread_lab):
    lab = spread_lab.lab
    machines = lab.connect_all()
    try:
        for machine in machines:
            mounted = machine.run("findmnt -rn -S redis-ha-lab-data -o TARGET,FSTYPE,SIZE")
            found = sorted(line.split() for line in mounted.splitlines())
            instances = lab.topology.instances_on(machine.server)
            assert found == sorted([f"{REMOTE_ROOT}/data/{i.service}", "tmpfs", "64M"]
                                   for i in instances), (machine.server.name, mounted)
    finally:
        for machine in machines:
            machine.close()


def test_a_full_data_disk_fails_the_master_over_and_the_history_says_why(spread_lab):
    """The master's disk filled (AOF): it refuses writes and PING with MISCONF, Sentinel
    takes it for down and fails it over; the report counts the MISCONF replies per
    instance; the heal empties the disk and leaves nothing behind."""
    scenario, shard = _failed_over("disk-full", spread_lab)
    assert shard["misconf_s"] >= 2 and shard["errors"].get("MISCONF", 0) > 0, shard
    [filled] = scenario["faults"]
    master = next(i for i in spread_lab.lab.topology.instances
                  if i.label == filled["target"]["master"])
    refused_by = {served.rsplit(":", 1)[1] for served in shard["misconf_writes"]}
    assert refused_by == {str(master.port)}, shard["misconf_writes"]
    assert any("could not persist and answered PING with MISCONF" in f
               for f in scenario["findings"]), scenario["findings"]
    machines = spread_lab.lab.connect_all()
    try:
        assert leftovers.find(machines) == []
        assert not any(machine.run(f"ls {REMOTE_ROOT}/data/*/{DISK_FILLER} 2>/dev/null",
                                   check=False).strip() for machine in machines)
    finally:
        for machine in machines:
            machine.close()
    assert status_once_settled(spread_lab.config_path).returncode == 0


def test_a_slow_fsync_under_always_fails_a_running_master_over(spread_lab):
    """Every fsync of the master 3 s slower (the lab's fsync shim, preloaded in the real
    image) under appendfsync always: PING waits with the writes, Sentinel sees the master
    down and fails it over; the heal puts the delay and the policy back."""
    scenario, shard = _failed_over("slow-fsync", spread_lab)
    assert shard["sentinel_events"].get("+sdown", 0) >= 1, shard
    # Failed over while it ran: a fault that killed or restarted the master would pass
    # the lines above too, not this one (the same run_id before and after).
    assert shard["restarted"] == [], shard
    lab = spread_lab.lab
    machines = lab.connect_all()
    try:
        assert leftovers.find(machines) == []
        delays = {machine.run(f"cat {REMOTE_ROOT}/data/{i.service}/{FSYNC_DELAY_FILE}").strip()
                  for machine in machines for i in lab.topology.instances_on(machine.server)}
        assert delays == {"0"}, delays
    finally:
        for machine in machines:
            machine.close()
    for instance in lab.topology.shard(scenario["target_shard"]).instances:
        with client(*instance.address, lab.access, timeout=3) as admin:
            assert admin.config_get("appendfsync")["appendfsync"] == "everysec", instance.label
    assert status_once_settled(spread_lab.config_path).returncode == 0


def _failed_over(name: str, spread_lab) -> tuple[dict, dict]:
    """Run the scenario ``name`` on the lab: it reports a finding, its shard failed over
    and lost nothing; (the scenario's results, its shard's measures)."""
    run = recorded("chaos", "-k", name, "--no-hypothesis", config=spread_lab.config_path)
    assert run.returncode == 0, run.stdout + run.process.stderr
    [scenario] = run.results["scenarios"]
    assert scenario["status"] == "finding", scenario["checks"]
    shard = scenario["measures"][str(scenario["target_shard"])]
    assert shard["failover_s"] is not None and shard["lost_writes"] == 0, shard
    return scenario, shard
