"""The per-OS install sequences (lab.engine_install) run by provisioning on fake bare hosts
(tests/fake_hosts.py): each OS ends with an engine and compose that answer, every step of
each sequence is needed, and every failure is one line naming the host and the step, with
nothing left running."""

from __future__ import annotations

import pytest

from lab import engine_install, provision
from lab.config import Server
from lab.engine_install import OsRelease
from lab.errors import ProvisionError
from tests.fake_hosts import OSES, Package, debian_12, debian_13

HOST = Server("redis2", "192.168.56.12")


def install(host) -> str | None:
    return provision.ensure_engine(host, provision.detect_os(host))


@pytest.mark.parametrize("os_label", OSES)
def test_each_os_gets_an_engine_and_compose_that_answer(os_label):
    host = OSES[os_label](HOST)
    assert provision.detect_os(host).label == os_label
    change = install(host)
    versions = provision.engine_versions(host, provision.compose_command(host))
    assert change == f"engine installed: {versions} on {os_label}"
    assert host.engine_running
    assert provision.compose_command(host) in ("docker compose", "docker-compose")
    assert versions == (
        f"Docker {host.versions['engine']}, {provision.compose_command(host)} "
        f"{host.versions['compose']}")


@pytest.mark.parametrize("os_label", OSES)
def test_a_second_run_installs_nothing(os_label):
    host = OSES[os_label](HOST)
    install(host)
    host.commands.clear()
    assert install(host) is None
    assert not host.ran(r"install|update|--add-repo|dockerd|systemctl")


def test_debian_13_gets_the_separate_cli_and_compose_v2():
    host = debian_13(HOST)
    install(host)
    assert host.ran(r"apt-get install .*docker\.io docker-cli docker-compose")
    assert provision.compose_command(host) == "docker compose"
    assert provision.compose_command(debian_12_installed()) == "docker-compose"


def debian_12_installed():
    host = debian_12(HOST)
    install(host)
    return host


def _steps(os_label):
    steps = engine_install.install_plan(provision.detect_os(OSES[os_label](HOST)))
    return [(os_label, i, step.name) for i, step in enumerate(steps)]


@pytest.mark.parametrize("os_label,index,name",
                         [s for label in OSES for s in _steps(label)])
def test_every_step_of_every_sequence_is_needed(os_label, index, name, monkeypatch):
    """The sequence with one step removed fails on that OS's fake host: a step nobody
    needs would pass here, and be dropped."""
    full = engine_install.install_plan

    def without_the_step(os):
        steps = full(os)
        return steps[:index] + steps[index + 1:]

    monkeypatch.setattr(provision, "install_plan", without_the_step)
    host = OSES[os_label](HOST)
    with pytest.raises(ProvisionError, match=r"^redis2: step '") as failed:
        install(host)
    assert "\n" not in str(failed.value)
    assert not host.engine_running


def test_debian_13_without_docker_cli_names_the_missing_command(monkeypatch):
    monkeypatch.setattr(engine_install, "debian_engine_packages",
                        lambda version: ("docker.io", "docker-compose"))
    host = debian_13(HOST)
    with pytest.raises(ProvisionError) as failed:
        install(host)
    assert str(failed.value).startswith(
        "redis2: step 'engine answers': no `docker` command on debian-13 after the install")
    assert not host.engine_running and host.ran(r"pkill -x dockerd")


def test_no_network_names_the_host_the_step_and_the_mirror():
    host = debian_12(HOST, network=False)
    with pytest.raises(ProvisionError) as failed:
        install(host)
    assert str(failed.value).startswith(
        "redis2: step 'apt-get update' failed on debian-12: W: Failed to fetch "
        "http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving "
        "'deb.debian.org'; fix the host")
    assert not host.ran(r"apt-get install") and not host.engine_running


def test_a_missing_package_names_it():
    host = debian_13(HOST)
    del host.catalogue["docker-cli"]
    with pytest.raises(ProvisionError) as failed:
        install(host)
    assert ("redis2: step 'apt-get install docker.io docker-cli docker-compose iptables "
            "redis-tools' failed on debian-13: E: Unable to locate package docker-cli;"
            ) in str(failed.value)
    assert not host.engine_running


def test_centos_7_without_network_fails_at_its_first_download():
    host = OSES["centos-7"](HOST, network=False)
    with pytest.raises(ProvisionError, match=r"^redis2: step 'yum-utils' failed on centos-7: "
                                             r"Cannot find a valid baseurl for repo"):
        install(host)


def test_no_sudo_is_named_before_anything_runs():
    host = debian_12(HOST, sudo_ok=False)
    with pytest.raises(ProvisionError, match=r"^redis2: step 'sudo': .* cannot run commands "
                                             r"as root without a password"):
        provision.require_sudo(host)
    assert host.commands == ["true"]


def test_an_os_without_a_sequence_is_refused_in_one_line():
    host = debian_12(HOST)
    host.os_release = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\n'
    with pytest.raises(ProvisionError, match=r"^redis2: step 'install the engine': cannot "
                                             r"install Docker on alpine-3.20.3; supported"):
        install(host)


def test_an_engine_that_never_answers_is_stopped_again(monkeypatch):
    monkeypatch.setattr(provision, "ENGINE_WAIT_S", 0)
    host = debian_12(HOST)
    host._start_engine = lambda: ("", 0)  # starts, but the daemon never answers
    with pytest.raises(ProvisionError, match=r"^redis2: step 'engine answers': the Docker "
                                             r"engine on debian-12 did not answer within 0 s"):
        install(host)
    assert host.ran(r"pkill -x dockerd")


def test_a_running_engine_without_compose_gets_compose_and_is_never_stopped():
    host = debian_12(HOST)
    host.installed |= {"dockerd", "docker"}
    host.engine_running = True
    host.catalogue["docker-compose"] = Package(())  # installs, but no compose answers
    with pytest.raises(ProvisionError, match=r"^redis2: step 'compose': neither"):
        install(host)
    assert host.engine_running and not host.ran(r"pkill|systemctl disable")


def test_debian_testing_without_a_version_gets_the_newest_packages():
    steps = engine_install.install_plan(OsRelease.parse("ID=debian\nVERSION_CODENAME=forky\n"))
    assert "docker-cli" in steps[-1].command


@pytest.mark.parametrize("text,label,major,like", [
    ('ID=debian\nVERSION_ID="13"\n', "debian-13", 13, False),
    ('ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n', "rocky-9.4", 9, True),
    ('ID=arch\n', "arch", 0, False),
])
def test_os_release_parsing(text, label, major, like):
    os = OsRelease.parse(text)
    assert (os.label, os.major, os.is_like("rhel")) == (label, major, like)
