"""Docker-provider machines addressed as a plain SSH inventory: Vagrant creates bare
machines (no Docker engine, unprovisioned), then a second lab with ``backend = "ssh"``
takes them over, installing the engine as on fresh servers, and a fake ``vagrant`` on
PATH proves the inventory lab never calls Vagrant."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.context import Lab
from lab.paths import LabPaths
from tests.labs import (
    INVENTORY_SUBNET,
    QUICK_RESYNC,
    inventory_machines_config,
    run_lab,
    write_config,
)


@dataclass
class Inventory:
    config_path: Path  # the ssh-backend lab
    lab: Lab
    vm_lab: Lab  # the Vagrant lab whose machines are the inventory's hosts
    env: dict  # PATH with a vagrant that records any call
    vagrant_calls: Path

    def run(self, *args: str, **kwargs):
        return run_lab(*args, config=self.config_path, env=self.env, **kwargs)

    def hosts(self):
        """Fabric connections to the hosts, as the inventory lab makes them."""
        return self.lab.connect_all()


def ssh_lab_toml(directory: Path, name: str, key: Path, mode: str = "provision",
                 extra: str = "") -> Path:
    """A lab.toml whose hosts are the Vagrant lab's machines, reached as an inventory
    (provisioned: with QUICK_RESYNC; an adopted stack has the settings it was given)."""
    quick = QUICK_RESYNC if mode == "provision" else ""
    return write_config(directory, name=name, subnet=INVENTORY_SUBNET,
                        machines=f'backend = "ssh"\nmode = "{mode}"\n',
                        extra=f'[ssh]\nuser = "vagrant"\nkey = "{key}"\nsudo = true\n'
                              f'{quick}{extra}')


@pytest.fixture(scope="package")
def inventory(tmp_path_factory):
    directory = tmp_path_factory.mktemp("inventory")
    vm_config = inventory_machines_config(directory)
    up = run_lab("up", "--machines-only", config=vm_config)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        vm_lab = Lab.load(vm_config)
        config = ssh_lab_toml(directory, "rhl-inventory", vm_lab.secrets.ssh_private_key)
        fake = directory / "bin"
        fake.mkdir()
        calls = directory / "vagrant-calls"
        (fake / "vagrant").write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexit 97\n')
        (fake / "vagrant").chmod(0o755)
        env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}")
        yield Inventory(config, Lab.load(config), vm_lab, env, calls)
    finally:
        if LabPaths.for_lab("rhl-inventory").applied_config.exists():
            run_lab("down", config=directory / "rhl-inventory.toml")
        down = run_lab("down", config=vm_config)
        assert down.returncode == 0, down.stderr
