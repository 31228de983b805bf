"""Provisioning's commands on a fake machine: every step looks before it acts, so a
healthy machine is left alone and a changed bundle is uploaded once."""

from __future__ import annotations

import re

from lab import config, provision, render, topology
from lab.provision import ImagePlan
from lab.render import COMPOSE_PROJECT, REMOTE_ROOT, Images
from tests.fakes import FakeMachine

OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


def bundle():
    cfg = config.from_dict({})
    topo = topology.build(cfg)
    return render.render(cfg, topo, "pw" * 16, Images("rhl-base:1", "rhl-base:1"))[0]


def healthy_machine(b) -> FakeMachine:
    services = provision._service_count(b)
    return (FakeMachine(b.server)
            .answer(r"^cat /etc/os-release", OS_RELEASE)
            .answer(r"^docker compose version", "", 1)  # compose v1 only, as on Debian 12
            .answer(r"\.bundle-digest 2>/dev/null", b.digest + "\n")
            .answer(r"docker ps .*--filter status=running", "x\n" * services))


def test_a_healthy_machine_gets_no_change():
    b = bundle()
    machine = healthy_machine(b)
    report = provision.provision(machine, b, ImagePlan("offline", ("rhl-base:1",)))
    assert report.changes == []
    assert not machine.ran(r"up -d|docker load|tar -C|apt-get|dockerd")
    assert machine.uploads == []


def test_a_changed_bundle_is_uploaded_and_composed_up_once():
    b = bundle()
    machine = healthy_machine(b)
    machine.answers.insert(0, (r"\.bundle-digest 2>/dev/null", "an-older-digest\n", 0))
    report = provision.provision(machine, b, ImagePlan("offline", ("rhl-base:1",)))
    assert report.changes == ["bundle updated", f"compose up ({provision._service_count(b)} "
                                                "services)"]
    assert machine.uploads == [("<bytes>", "/tmp/redis-ha-lab-bundle.tar")]
    [up] = machine.ran(r"up -d")
    assert up == (f"docker-compose -f {REMOTE_ROOT}/docker-compose.yml -p {COMPOSE_PROJECT} "
                  "up -d --build --remove-orphans")


def test_compose_v2_is_preferred_when_present():
    machine = FakeMachine(bundle().server)
    assert provision.compose_command(machine) == "docker compose"


def test_removing_a_stack_leaves_the_engine_and_names_the_images_it_removed():
    machine = FakeMachine(bundle().server).answer(r"docker image inspect other:1", "", 1)
    done = provision.remove_stack(machine, ("rhl-base:1", "other:1"))
    assert done == "stack removed, images rhl-base:1 removed"
    assert machine.ran(r"down -v --remove-orphans")
    # The instances' own data disks ([redis] data_disk_mb) unmounted first: a mount point
    # cannot be removed.
    assert machine.ran(rf"^{re.escape(provision.UNMOUNT_DATA_DISKS)} && rm -rf {REMOTE_ROOT}$")
    assert machine.commands[-1] == "docker image rm rhl-base:1"
    assert not machine.ran(r"apt-get|systemctl|dockerd")


def test_data_disks_are_mounted_after_the_bundle_lands_and_before_compose_up():
    cfg = config.from_dict({"redis": {"data_disk_mb": 64}})
    b = render.render(cfg, topology.build(cfg), "pw" * 16, Images("rhl-base:1", "rhl-base:1"))[0]
    machine = healthy_machine(b)
    machine.answers.insert(0, (r"\.bundle-digest 2>/dev/null", "an-older-digest\n", 0))
    report = provision.provision(machine, b, ImagePlan("offline", ("rhl-base:1",)))
    assert report.changes[0] == "bundle updated, data disks mounted"
    commands = machine.commands
    extract = next(i for i, c in enumerate(commands) if "tar -C" in c)
    mount = commands.index(f"{REMOTE_ROOT}/data-disks.sh")
    up = next(i for i, c in enumerate(commands) if "up -d" in c)
    assert extract < mount < up


def test_retiring_a_deployment_unmounts_its_data_disks_before_removing_its_data():
    machine = FakeMachine(bundle().server)
    provision.retire_stack(machine)
    assert machine.commands[-1] == (f"{provision.UNMOUNT_DATA_DISKS} && "
                                    f"rm -rf {REMOTE_ROOT}/data")
    assert "findmnt -rn -S redis-ha-lab-data" in provision.UNMOUNT_DATA_DISKS


def test_moving_data_onto_disks_of_their_own_is_a_new_deployment(tmp_path):
    from types import SimpleNamespace

    from lab import up

    applied = tmp_path / "applied.toml"
    applied.write_text("[redis]\npersistence = \"aof\"\n")
    lab = SimpleNamespace(paths=SimpleNamespace(applied_config=applied),
                          config=config.from_dict({"redis": {"persistence": "aof",
                                                             "data_disk_mb": 64}}))
    assert up._replaced_deployment(lab) == "data_disk_mb 0 -> 64"
    lab.config = config.from_dict({"redis": {"persistence": "rdb"}})
    assert up._replaced_deployment(lab) == ""  # a setting of the same deployment
