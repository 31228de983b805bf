"""The ssh backend's pure parts: Fabric's view of the inventory, the dry-run plan, and
faults that name servers by position."""

import pytest

from lab import config, topology
from lab.chaos import faults, plan, scenarios
from lab.machines import SshInventory

INVENTORY = {
    "machines": {"backend": "ssh", "network": "10.9.0.0/24"},
    "ssh": {"user": "deploy", "port": 2222, "key": "~/.ssh/staging", "jump": "ops@bastion"},
    "servers": [{"name": "stg-a", "address": "10.9.0.21", "ssh_host": "stg-a.internal"},
                {"name": "stg-b", "address": "10.9.0.22"},
                {"name": "stg-c", "address": "10.9.0.23"}],
}


def test_ssh_config_carries_user_port_key_and_jump_host():
    text = SshInventory(config.from_dict(INVENTORY)).ssh_config("stg-a")
    lines = [line.strip() for line in text.splitlines()]
    assert lines[:4] == ["Host stg-a", "HostName stg-a.internal", "User deploy", "Port 2222"]
    assert any(line.startswith("IdentityFile /") and line.endswith("/.ssh/staging")
               for line in lines)
    assert "ProxyJump ops@bastion" in lines
    other = SshInventory(config.from_dict(INVENTORY)).ssh_config("stg-b")
    assert "HostName 10.9.0.22" in other  # no ssh_host: the service address


def test_an_inventory_without_a_key_uses_the_agent():
    raw = {**INVENTORY, "ssh": {"user": "deploy"}}
    inventory = SshInventory(config.from_dict(raw))
    assert inventory.uses_agent and "IdentityFile" not in inventory.ssh_config("stg-b")


def test_faults_name_servers_by_position_or_name():
    topo = topology.build(config.from_dict(INVENTORY))
    assert topo.server_at(1).name == "stg-a" and topo.server_at("stg-c").name == "stg-c"
    with pytest.raises(ValueError, match="no server 'redis1'; the servers are stg-a"):
        topo.server_at("redis1")
    with pytest.raises(ValueError):
        topo.server_at(4)


def test_the_plan_names_every_fault_and_the_hosts_it_touches():
    topo = topology.build(config.from_dict(INVENTORY))
    available = scenarios.load_all()
    chosen = [available[n] for n in ("crash-master", "kill-haproxy", "partition-sentinels")]
    asked = []

    def master_of(shard):
        asked.append(shard)
        return topo.shard(shard).instances[1]  # as if a failover had happened

    lines = plan.describe(topo, chosen, "ci", master_of, faults.searched())
    assert lines[0] == ("crash-master: SIGKILL the master of shard 1; "
                        "touches stg-a (10.9.0.21)")
    assert lines[1] == "kill-haproxy: stop HAProxy on stg-a, start it again; touches stg-a " \
                       "(10.9.0.21)"
    assert lines[2].startswith("partition-sentinels: iptables:")
    assert lines[3].startswith("hypothesis (ci): sequences of crash-master, stop-master")
    assert "stg-c (10.9.0.23)" in lines[3]
    assert asked == [1]


def test_every_fault_a_scenario_uses_is_registered():
    used = {step.fault for s in scenarios.load_all().values() for step in s.faults}
    assert used <= set(faults.registered())


def test_workers_and_processes_exclude_each_other():
    from lab.errors import LabError
    from lab.load import LoadOptions

    with pytest.raises(LabError, match="--workers and --processes exclude each other"):
        LoadOptions(processes=2, workers=("redis2",)).validate()
    LoadOptions(workers=("redis2", "redis3")).validate()


@pytest.mark.parametrize(("raw", "accepted", "refused"), [
    (INVENTORY, False, True),  # real hosts, no opt-in: refused
    (INVENTORY, True, False),
    ({}, False, False),  # the lab's own machines: no opt-in needed
])
def test_one_consent_rule_for_faults_on_real_hosts(tmp_path, raw, accepted, refused):
    from lab.context import Lab
    from lab.errors import LabError
    from lab.paths import LabPaths
    from lab.secrets import LabSecrets

    cfg = config.from_dict(raw)
    lab = Lab(cfg, topology.build(cfg), LabPaths(tmp_path / "lab", tmp_path / "images"),
              LabSecrets("pw", tmp_path / "key", "ssh-ed25519 AAAA"))
    assert lab.needs_consent(accepted) is refused
    if refused:
        with pytest.raises(LabError, match=r"^a matrix injects faults: on an SSH inventory "
                                           r"\(real hosts\) rerun with --i-accept-disruption$"):
            lab.require_consent(accepted, "a matrix")
    else:
        lab.require_consent(accepted, "a matrix")
