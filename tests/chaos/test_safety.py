"""Faults never outlive the run: Ctrl-C heals, status sees leftovers, --heal clears them."""

import json
import signal
import subprocess
import sys
import time
import uuid

from lab.paths import PROJECT_ROOT, REPORTS
from lab.report import command
from tests.labs import run_lab, status_once_settled


def test_ctrl_c_in_the_middle_of_a_fault_leaves_the_lab_healed(chaos_lab):
    """Interrupted half-way (the second scenario's fault is in): healed, and the report
    shows the finished scenario, marked incomplete."""
    run_id = f"test-ctrl-c-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", "--config", str(chaos_lab.config_path), "chaos",
         "-k", "kill-haproxy", "-k", "stop-master", "--no-hypothesis", "--run-id", run_id],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    history_file = None
    candidate = REPORTS / run_id / "stop-master.jsonl"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and history_file is None:
        if candidate.exists() and '"phase": "inject"' in candidate.read_text():
            history_file = candidate
        time.sleep(0.2)
    assert history_file is not None, "the second scenario's fault was never injected"
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    assert "interrupted: healing the lab" in output
    results = json.loads((history_file.parent / "results.json").read_text())
    assert results["complete"] is False and results.get("interrupted") is True
    assert [s["scenario"] for s in results["scenarios"]] == ["kill-haproxy"]
    assert any('"phase": "heal"' in line for line in history_file.read_text().splitlines())

    page = history_file.parent / "index.html"
    assert f"report: {page}" in output
    problems, check = command.verify(page)
    assert problems == []
    assert check.answers["incomplete_banner"] is True
    assert check.answers["verdict_rows"] == 1
    assert 'href="stop-master.jsonl"' in page.read_text()  # the scenario cut short

    status = status_once_settled(chaos_lab.config_path)
    assert status.returncode == 0, status.stdout
    assert "Fault leftovers: none" in status.stdout


def test_ctrl_c_while_lanes_hold_their_faults_heals_every_lane(chaos_lab):
    """Two shard-local scenarios run at once in two lanes; SIGINT reaches only the main
    thread while both faults are held: every lane's hold ends, each heals its own fault,
    the run says it was interrupted and leaves nothing behind."""
    run_id = f"test-ctrl-c-lanes-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", "--config", str(chaos_lab.config_path), "chaos",
         "-k", "pause-master", "-k", "stop-master", "--no-hypothesis", "--run-id", run_id],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    histories = [REPORTS / run_id / f"{name}.jsonl" for name in ("pause-master",
                                                                  "stop-master")]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not all(
            h.exists() and '"phase": "inject"' in h.read_text() for h in histories):
        time.sleep(0.2)
    assert all(h.exists() and '"phase": "inject"' in h.read_text() for h in histories), \
        "the two lanes' faults were never in at the same time"
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    assert "schedule: 2 lanes at once" in output
    assert "interrupted: every lane heals its faults" in output
    for history_file in histories:
        lines = history_file.read_text().splitlines()
        assert any('"phase": "heal"' in line for line in lines), history_file.name
    results = json.loads((REPORTS / run_id / "results.json").read_text())
    assert results["complete"] is False and results.get("interrupted") is True
    # Cut short, not held to their end and judged (lanes that never heard the Ctrl-C
    # would have finished and recorded both).
    assert results["scenarios"] == []
    status = status_once_settled(chaos_lab.config_path)
    assert status.returncode == 0, status.stdout
    assert "Fault leftovers: none" in status.stdout


def test_status_reports_leftovers_and_heal_removes_them(chaos_lab):
    lab = chaos_lab.lab
    machines = lab.connect_all()
    try:
        from lab.chaos import faults
        from lab.chaos.nemesis import Nemesis

        nemesis = Nemesis(lab.topology, machines, chaos_lab.access, lab.config.machines.network)
        faults.inject(nemesis, "kill-haproxy", server="redis2")
        faults.inject(nemesis, "packet-loss", server="redis3", percent=1)
        # A changed setting, never healed by this (as if the controller had crashed).
        changed = faults.inject(nemesis, "replica-priority-zero", shard=1)
        # A changed limit and a background writer (resources), gentle enough to leave the
        # replicas linked.
        loop = faults.inject(nemesis, "replica-buffer-loop", shard=2, limit_kb=4096,
                             value_kb=1, rate=20)
        loop_host = nemesis.machines[loop.target["server"]]
        writer = f"pgrep -f 'lab:buffer-loop:{loop.id[:-1]}[{loop.id[-1]}]'"
        assert loop_host.ok(writer)
        # Files made read-only (resources): shard 3's Sentinels, on every server.
        readonly = faults.inject(nemesis, "sentinel-conf-readonly", shard=3)
        sentinel = lab.topology.sentinels_of(lab.topology.shard(3))[0]
        conf = f"/opt/redis-ha-lab/data/{sentinel.service}/{sentinel.service}.conf"
        assert not nemesis.machines[sentinel.server.name].ok(
            f"setpriv --reuid={sentinel.port} test -w {conf}")
    finally:
        for machine in machines:
            machine.close()
    # The shard's replicas of this moment (earlier tests failed its master over).
    replicas = [i for i in lab.topology.shard(1).instances
                if i.label in changed.target["replicas"]]
    assert len(replicas) == 2
    assert priorities(replicas, chaos_lab.access) == {"0"}
    status = run_lab("status", config=chaos_lab.config_path)
    assert status.returncode == 1
    assert "redis2: 1 stopped lab container(s)" in status.stdout
    assert "redis3: 3 tagged iptables rule(s)" in status.stdout  # 2 jumps + the rule
    assert "redis1: 2 change(s) fault replica-priority-zero made, not yet put back" \
        in status.stdout
    assert f"{loop_host.server.name}: 2 change(s) fault replica-buffer-loop made, not yet " \
        "put back" in status.stdout
    assert len(readonly.undo) == 3
    for server in {s.server.name for s in lab.topology.sentinels_of(lab.topology.shard(3))}:
        assert f"{server}: " in status.stdout and "fault sentinel-conf-readonly made" \
            in status.stdout
    healed = run_lab("chaos", "--heal", config=chaos_lab.config_path)
    assert healed.returncode == 0, healed.stdout
    assert "no fault leftovers" in healed.stdout
    assert priorities(replicas, chaos_lab.access) == {"100"}  # put back from the file
    from lab.probe import client

    master = next(i for i in lab.topology.instances if i.label == loop.target["master"])
    with client(*master.address, chaos_lab.access) as r:
        limits = r.config_get("client-output-buffer-limit")["client-output-buffer-limit"]
        assert r.exists(f"lab:buffer-loop:{loop.id}") == 0
    assert "268435456 67108864 60" in limits  # the default, put back
    checker = lab.connect_all()
    try:
        host = next(m for m in checker if m.server.name == loop_host.server.name)
        assert not host.ok(writer)  # the writer stopped
        sentinel_host = next(m for m in checker if m.server.name == sentinel.server.name)
        assert sentinel_host.ok(f"setpriv --reuid={sentinel.port} test -w {conf}")
    finally:
        for machine in checker:
            machine.close()
    status = status_once_settled(chaos_lab.config_path, bound_s=30)
    assert status.returncode == 0, status.stdout


def priorities(instances, access) -> set[str]:
    from lab.probe import client

    found = set()
    for instance in instances:
        with client(*instance.address, access) as r:
            found.add(str(r.config_get("replica-priority")["replica-priority"]))
    return found


def test_chaos_on_a_lab_that_is_not_up_and_unknown_scenarios(tmp_path, chaos_lab):
    from tests.labs import write_config

    other = write_config(tmp_path, name="rhl-never-up", subnet=61)
    result = run_lab("chaos", config=other)
    assert result.returncode == 2
    assert "lab rhl-never-up is not up" in result.stderr
    unknown = run_lab("chaos", "-k", "no-such-fault", config=chaos_lab.config_path)
    assert unknown.returncode == 2
    assert "no scenario matches no-such-fault" in unknown.stderr


def test_plan_is_a_dry_run_on_any_lab(chaos_lab):
    before = set(REPORTS.glob("*"))
    planned = run_lab("chaos", "-k", "isolate-server", "-k", "crash-master", "--plan",
                      config=chaos_lab.config_path)
    assert planned.returncode == 0, planned.stderr
    assert "isolate-server: iptables: cut redis1 off from the other servers; touches redis1" \
        in planned.stdout
    assert "crash-master: SIGKILL the master of shard 1; touches redis1" in planned.stdout
    assert set(REPORTS.glob("*")) == before  # nothing ran
