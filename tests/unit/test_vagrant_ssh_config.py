"""``vagrant ssh-config`` is asked once per machine container, not once per command: about
3 s a machine that every ``chaos``, ``status`` or ``heal`` used to pay. Vagrant and Docker
stand in as fakes here; the real ones answer in every lab test."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from lab import config as config_module
from lab.machines import vagrant as vagrant_module
from lab.machines.vagrant import VagrantMachines
from lab.paths import LabPaths
from lab.secrets import load_or_create


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A docker-provider lab whose redis1 container is ``containers["redis1"]`` and runs
    while ``running`` holds it; Vagrant's answers are counted."""
    config = config_module.from_dict({"lab": {"name": "rhl-ssh-config"}})
    paths = LabPaths(tmp_path / "lab", tmp_path / "images")
    machines = VagrantMachines(config, paths, load_or_create(paths))
    state = SimpleNamespace(asked=[], running=set())

    def set_container(name: str, container: str) -> None:
        id_file = paths.vagrant_dotfile / "machines" / name / "docker" / "id"
        id_file.parent.mkdir(parents=True, exist_ok=True)
        id_file.write_text(container)

    def docker(args, **kwargs):
        assert args[:2] == ["docker", "inspect"]
        return subprocess.CompletedProcess(args, 0, "true\n" if args[-1] in state.running
                                           else "false\n", "")

    def ssh_config(vm_name):
        state.asked.append(vm_name)
        return f"Host {vm_name}\n  Port {2221 + len(state.asked)}\n"

    monkeypatch.setattr(vagrant_module.subprocess, "run", docker)
    monkeypatch.setattr(machines, "_vagrant", lambda: SimpleNamespace(ssh_config=ssh_config))
    state.machines, state.set_container = machines, set_container
    return state


def test_vagrant_is_asked_once_per_running_container(lab):
    lab.set_container("redis1", "c1")
    lab.running.add("c1")
    first = lab.machines.ssh_config("redis1")
    assert lab.machines.ssh_config("redis1") == first == "Host redis1\n  Port 2222\n"
    assert lab.asked == ["redis1"]


def test_a_new_container_or_a_stopped_one_asks_vagrant_again(lab):
    lab.set_container("redis1", "c1")
    lab.running.add("c1")
    lab.machines.ssh_config("redis1")
    lab.set_container("redis1", "c2")  # recreated: its port may be another
    lab.running.add("c2")
    assert lab.machines.ssh_config("redis1") == "Host redis1\n  Port 2223\n"
    lab.running.clear()  # not running: whatever Vagrant says (it names the problem)
    lab.machines.ssh_config("redis1")
    assert lab.asked == ["redis1", "redis1", "redis1"]
