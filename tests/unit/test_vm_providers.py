"""The VirtualBox and libvirt providers checked without VMs: the real ``vagrant validate``
and ``vagrant status`` on the machine list lab_up renders, so a Vagrantfile or machine
list broken for VMs is caught here though no VM can run on these machines.

VirtualBox is not packaged for Debian: Vagrant's "is the provider usable" check only asks
``VBoxManage --version``, so a stand-in that answers that (and records what it was asked)
lets Vagrant run the VirtualBox provider's own config checks. The libvirt provider is
Debian's ``vagrant-libvirt`` package (scripts/setup-host installs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from lab import config as config_module
from lab.errors import PreflightError
from lab.machines import vagrant as vagrant_backend
from lab.machines.vagrant import VagrantMachines
from lab.paths import VAGRANTFILE_DIR, LabPaths
from lab.secrets import load_or_create

UNAVAILABLE = None if shutil.which("vagrant") else "vagrant is not installed (scripts/setup-host)"
if os.environ.get("CI") == "true":
    UNAVAILABLE = None  # CI has every part: a missing one must fail, not skip
pytestmark = pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or "")


def libvirt_plugin_installed() -> bool:
    listed = subprocess.run(["vagrant", "plugin", "list"], capture_output=True, text=True)
    return "vagrant-libvirt" in listed.stdout


@pytest.fixture
def fake_vboxmanage(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "vboxmanage.calls"
    stand_in = bin_dir / "VBoxManage"
    stand_in.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n'
                        '[ "$1" = --version ] && echo 7.0.20r163906\nexit 0\n')
    stand_in.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return calls


@pytest.fixture(params=["virtualbox", "libvirt"])
def provider(request):
    if request.param == "virtualbox":
        request.getfixturevalue("fake_vboxmanage")
    elif not libvirt_plugin_installed() and os.environ.get("CI") != "true":
        pytest.skip("the vagrant-libvirt plugin is not installed (scripts/setup-host, or "
                    "apt-get install vagrant-libvirt)")
    return request.param


def machines(tmp_path, provider: str, **machine_keys) -> VagrantMachines:
    raw = {"lab": {"name": "rhl-vms"},
           "machines": {"provider": provider, "box": "centos/7", **machine_keys}}
    config = config_module.from_dict(raw)
    paths = LabPaths(tmp_path / "lab", tmp_path / "images")
    return VagrantMachines(config, paths, load_or_create(paths))


def test_the_rendered_machine_list_validates_and_has_a_status(tmp_path, provider):
    vms = machines(tmp_path, provider)
    vms.validate()
    vms.write_machine_list()
    assert vms.status() == {"redis1": "not_created", "redis2": "not_created",
                            "redis3": "not_created"}


def test_preflight_runs_the_validation_for_vms(tmp_path, provider):
    vms = machines(tmp_path, provider, box="")
    with pytest.raises(PreflightError, match=rf"^`vagrant validate` failed for provider "
                                             rf"{provider}: Box value for guest 'redis1' is "
                                             "an empty string"):
        vms.sanity_checks()
    assert not vms.paths.machines_json.exists()  # nothing of the lab was created


def test_a_setting_the_provider_does_not_have_fails(tmp_path, provider, monkeypatch):
    """A typo inside the provider's own block: only that provider's config checks see it,
    so this fails only when the provider's validation really ran."""
    broken = tmp_path / "vagrantfile"
    broken.mkdir()
    text = (VAGRANTFILE_DIR / "Vagrantfile").read_text()
    block = {"virtualbox": "vb.memory = ", "libvirt": "lv.memory = "}[provider]
    assert block in text
    (broken / "Vagrantfile").write_text(text.replace(block, block.replace("memory", "memroy")))
    monkeypatch.setattr(vagrant_backend, "VAGRANTFILE_DIR", broken)
    with pytest.raises(PreflightError, match=r"The following settings shouldn't exist: "
                                             r"memroy"):
        machines(tmp_path, provider).validate()


def test_the_virtualbox_stand_in_was_only_asked_its_version(tmp_path, fake_vboxmanage):
    machines(tmp_path, "virtualbox").validate()
    assert set(fake_vboxmanage.read_text().split("\n")) <= {"--version", ""}
