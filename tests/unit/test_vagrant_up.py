"""``lab_up`` starts every stopped machine in one ``vagrant up``: Vagrant then starts them
in parallel where the provider can (the docker provider can: 12 s for three machines,
20 s one after another). Vagrant stands in as a fake here; every lab test runs the real
one."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from lab import config as config_module
from lab.errors import LabError
from lab.machines.vagrant import VagrantMachines
from lab.paths import LabPaths
from lab.secrets import load_or_create


@pytest.fixture
def vagrant(tmp_path, monkeypatch):
    config = config_module.from_dict({"lab": {"name": "rhl-vagrant-up"}})
    paths = LabPaths(tmp_path / "lab", tmp_path / "images")
    machines = VagrantMachines(config, paths, load_or_create(paths))
    fake = SimpleNamespace(states={}, calls=[], fails=False, machines=machines)

    def up(vm_name=None, provider=None, stream_output=False):
        fake.calls.append(vm_name)
        if fake.fails:
            raise subprocess.CalledProcessError(1, ["vagrant", "up"])
        return iter([f"==> {vm_name or 'all'}: Machine booted and ready!\n"])

    def status():
        return [SimpleNamespace(name=n, state=s) for n, s in fake.states.items()]

    monkeypatch.setattr(machines, "_vagrant", lambda quiet=True: SimpleNamespace(
        up=up, status=status))
    monkeypatch.setattr(machines, "write_machine_list", lambda target=None: None)
    paths.machines_json.parent.mkdir(parents=True, exist_ok=True)
    paths.machines_json.write_text("[]")  # Vagrant knows the machines: it is asked
    return fake


def test_three_stopped_machines_start_in_one_vagrant_up(vagrant):
    vagrant.states = {"redis1": "not_created", "redis2": "not_created",
                      "redis3": "stopped"}
    assert vagrant.machines.up() == ["redis1", "redis2", "redis3"]
    assert vagrant.calls == [None]  # none named: the whole list, at once


def test_one_stopped_machine_is_named(vagrant):
    vagrant.states = {"redis1": "running", "redis2": "stopped", "redis3": "running"}
    assert vagrant.machines.up() == ["redis2"]
    assert vagrant.calls == ["redis2"]


def test_running_machines_are_not_started_again(vagrant):
    vagrant.states = dict.fromkeys(("redis1", "redis2", "redis3"), "running")
    assert vagrant.machines.up() == []
    assert vagrant.calls == []


def test_a_failed_vagrant_up_names_the_machines_and_the_way_out(vagrant):
    vagrant.states = {"redis1": "running", "redis2": "stopped", "redis3": "not_created"}
    vagrant.fails = True
    with pytest.raises(LabError, match=r"`vagrant up` of redis2 redis3 failed .*lab_down"):
        vagrant.machines.up()
    assert vagrant.calls == [None, None]  # the docker provider's start is tried twice


def test_a_racy_parallel_start_is_tried_once_more_for_the_machines_not_running(vagrant,
                                                                               monkeypatch):
    vagrant.states = dict.fromkeys(("redis1", "redis2", "redis3"), "not_created")

    def first_fails_after_two_started(vm_name=None, provider=None, stream_output=False):
        vagrant.calls.append(vm_name)
        if len(vagrant.calls) == 1:
            vagrant.states.update(redis2="running", redis3="running")
            raise subprocess.CalledProcessError(1, ["vagrant", "up"])
        return iter(["==> redis1: Machine booted and ready!\n"])

    monkeypatch.setattr(vagrant.machines, "_vagrant", lambda quiet=True: SimpleNamespace(
        up=first_fails_after_two_started, status=lambda: [
            SimpleNamespace(name=n, state=s) for n, s in vagrant.states.items()]))
    assert vagrant.machines.up() == ["redis1", "redis2", "redis3"]
    assert vagrant.calls == [None, "redis1"]  # the retry names the one left
