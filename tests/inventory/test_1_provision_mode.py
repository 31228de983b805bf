"""The lab, chaos, load and report on an SSH inventory; the opt-in; heal after a crash.

Tests run in file order: up, the refused chaos, chaos, load, the killed controller, down.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

from lab import leftovers
from lab.paths import PROJECT_ROOT, REPORTS
from lab.render import COMPOSE_PROJECT, REMOTE_ROOT
from tests.labs import recorded


def host_state(inventory) -> dict[str, str]:
    """Per host: every lab container with its state and start time, and the tagged rules."""
    state = {}
    for machine in inventory.hosts():
        try:
            containers = machine.run(
                f"docker ps -aq --filter label=com.docker.compose.project={COMPOSE_PROJECT} "
                "| xargs -r docker inspect -f '{{.Name}} {{.State.Status}} {{.State.StartedAt}}'")
            rules = machine.run(f"iptables-save | grep -c {leftovers.TAG}", check=False)
            state[machine.server.name] = containers + "rules:" + rules
        finally:
            machine.close()
    return state


def test_lab_up_provisions_the_inventory_without_vagrant(inventory):
    up = inventory.run("up")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "ssh inventory" in up.stdout and "compose up" in up.stdout
    for host in ("redis1", "redis2", "redis3"):  # bare hosts: the engine installed over SSH
        assert re.search(rf"^  {host}: engine installed: Docker \S+, docker-compose \S+ on "
                         r"debian-12 \(", up.stdout, re.M), up.stdout
    again = inventory.run("up")
    assert again.returncode == 0 and "nothing to change" in again.stdout
    assert again.stdout.count("nothing to install") == 3, again.stdout
    status = inventory.run("status")
    assert status.returncode == 0, status.stdout
    assert not inventory.vagrant_calls.exists(), inventory.vagrant_calls.read_text()


def test_chaos_without_the_opt_in_prints_the_plan_and_touches_nothing(inventory):
    before_runs = set(REPORTS.glob("*"))
    before = host_state(inventory)
    refused = inventory.run("chaos", "-k", "crash-master", "-k", "kill-haproxy", "--profile", "ci")
    assert refused.returncode == 2
    assert "chaos plan (dry run: nothing has been touched)" in refused.stdout
    assert "crash-master: SIGKILL the master of shard 1; touches redis1 (192.168.63.11)" \
        in refused.stdout
    assert "kill-haproxy: stop HAProxy on redis1" in refused.stdout
    assert "hypothesis (ci)" in refused.stdout
    assert refused.stderr.strip().count("\n") == 0
    assert "--i-accept-disruption" in refused.stderr
    assert set(REPORTS.glob("*")) == before_runs  # no run was even started
    assert host_state(inventory) == before  # same containers, same start times, no rules
    replay = inventory.run("chaos", "--replay", "0123456789")
    assert replay.returncode == 2 and "replay 0123456789: its saved fault sequence" \
        in replay.stdout and "--i-accept-disruption" in replay.stderr


def test_chaos_with_the_opt_in_runs_and_the_report_names_the_inventory(inventory):
    result = recorded("chaos", "-k", "crash-master", "--no-hypothesis",
                      "--i-accept-disruption", run=inventory.run)
    results = result.results
    assert result.returncode == 0, result.stdout
    assert results["lab"]["backend"] == "ssh"
    assert results["scenarios"][0]["status"] in ("pass", "finding")
    page = result.page.read_text()
    assert "ssh inventory (vagrant@, port 22)" in page
    assert not inventory.vagrant_calls.exists()


def test_a_short_load_through_every_port(inventory):
    load = inventory.run("load", "--users", "6", "--run-time", "5s")
    assert load.returncode == 0, load.stdout + load.stderr
    assert "ports without traffic" not in load.stdout


def test_distributed_load_with_workers_on_two_hosts(inventory):
    load = recorded("load", "--users", "6", "--run-time", "8s", "--workers", "redis2,redis3",
                    run=inventory.run)
    assert load.returncode == 0, load.stdout + load.process.stderr
    assert "workers on redis2, redis3" in load.stdout
    run_dir = load.run_dir
    for host in ("redis2", "redis3"):
        log = (run_dir / f"worker-{host}.log").read_text()
        assert "Starting Locust" in log, log
    master_log = (run_dir / "locust.log").read_text()
    assert "reported as ready. 2 workers connected" in master_log, master_log
    assert "to 2 ready workers" in master_log  # the users were spread over both
    for machine in inventory.hosts():  # no worker and no password left behind
        try:
            assert not machine.ok("pgrep -f '[l]ocust.*--worker'")
            assert not machine.ok("test -e /opt/redis-ha-lab-load/password")
        finally:
            machine.close()


def kill_mid_fault(inventory, scenario: str, wait_s: float = 120):
    """Start a chaos run, SIGKILL it once its fault is in: nothing of it heals anything."""
    before = set(REPORTS.glob("*-chaos"))
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", "--config", str(inventory.config_path), "chaos",
         "-k", scenario, "--no-hypothesis", "--i-accept-disruption"],
        cwd=PROJECT_ROOT, env=inventory.env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + wait_s
    injected = False
    while time.monotonic() < deadline and not injected:
        for run_dir in set(REPORTS.glob("*-chaos")) - before:
            history = run_dir / f"{scenario}.jsonl"
            injected = history.exists() and '"phase": "inject"' in history.read_text()
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert injected, f"{scenario} was never injected"


def wait_settled(inventory, bound_s: float = 90):
    status = inventory.run("status")
    deadline = time.monotonic() + bound_s
    while status.returncode != 0 and time.monotonic() < deadline:
        time.sleep(2)  # a resumed master rejoins as a replica: Sentinel takes ~10 s
        status = inventory.run("status")
    return status


def test_heal_after_a_killed_controller(inventory):
    kill_mid_fault(inventory, "pause-master")
    status = inventory.run("status")
    assert "redis1: 1 paused lab container(s)" in status.stdout, status.stdout
    healed = inventory.run("heal")
    assert healed.returncode == 0 and "no fault leftovers" in healed.stdout
    assert wait_settled(inventory).returncode == 0

    kill_mid_fault(inventory, "partition-sentinels")
    status = inventory.run("status")
    assert "tagged iptables rule(s)" in status.stdout, status.stdout
    healed = inventory.run("heal")
    assert healed.returncode == 0 and "no fault leftovers" in healed.stdout
    settled = wait_settled(inventory)
    assert settled.returncode == 0, settled.stdout
    assert "Fault leftovers: none" in settled.stdout
    assert all("rules:0" in s for s in host_state(inventory).values())


def test_lab_down_leaves_the_hosts_and_removes_the_stack(inventory):
    down = inventory.run("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert "stack removed" in down.stdout
    for name, state in host_state(inventory).items():
        assert state == "rules:0\n", (name, state)
    for machine in inventory.hosts():
        try:
            assert machine.ok("true")  # the host is still there
            assert not machine.ok(f"test -e {REMOTE_ROOT}")
        finally:
            machine.close()
    assert not inventory.vagrant_calls.exists()
