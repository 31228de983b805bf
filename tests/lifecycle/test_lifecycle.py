"""lab_up / lab_down as a user runs them: idempotent, clean, and strict about bad input."""

import os
import subprocess

import pytest

from lab.host import lab_containers
from lab.paths import LabPaths
from tests.labs import host_footprint, machine_list_written, run_lab, write_config

NAME = "rhl-lifecycle"
SUBNET = 58


@pytest.fixture
def config(tmp_path):
    """With TLS: its certificates and keys are made by lab_up and must go with lab_down."""
    return write_config(tmp_path, name=NAME, subnet=SUBNET, extra="[security]\ntls = true\n")


def assert_nothing_created():
    assert lab_containers(NAME) == []
    assert not machine_list_written(NAME)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_invalid_lab_toml(config):
    config.write_text(config.read_text().replace('layout = "article"', 'layout = "ring"'))
    assert_one_line_error(run_lab("up", config=config), "layout = 'ring'", "article, spread")
    assert_nothing_created()


def test_an_engine_the_mirror_cannot_provide(config, tmp_path):
    """A mirror with the machines' release but not the engine's: refused before anything
    is built (the machine image's release is there; the engine's backports are not)."""
    mirror = tmp_path / "mirror"
    (mirror / "dists/bookworm").mkdir(parents=True)
    (mirror / "dists/bookworm/Release").write_text("Suite: bookworm\n")
    config.write_text(config.read_text() + f'[images]\nengine = "valkey-8.0"\n'
                      f'mirror = "file://{mirror}"\nsuite = "bookworm"\n')
    assert_one_line_error(run_lab("up", config=config), "engine valkey-8.0 cannot be built "
                          "here", "has no release bookworm-backports", "[images] mirror")
    assert_nothing_created()


def test_missing_vagrant(config, tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # no vagrant (nor anything else) on PATH
    assert_one_line_error(run_lab("up", config=config, env=env), "`vagrant` is not installed",
                          "setup-host")
    assert_nothing_created()


def test_missing_docker_engine(config, tmp_path):
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")
    assert_one_line_error(run_lab("up", config=config, env=env),
                          "no Docker engine answers", "dockerd")
    assert_nothing_created()


def test_address_range_already_in_use(config):
    subprocess.run(["docker", "network", "create", "--subnet", f"192.168.{SUBNET}.0/24",
                    "rhl-squatter"], check=True, capture_output=True)
    try:
        assert_one_line_error(run_lab("up", config=config),
                              f"192.168.{SUBNET}.0/24 is already used by Docker network "
                              "'rhl-squatter'")
        assert_nothing_created()
    finally:
        subprocess.run(["docker", "network", "rm", "rhl-squatter"], check=True)


def test_status_of_a_lab_that_is_not_up(config):
    assert_one_line_error(run_lab("status", config=config), f"lab {NAME} is not up")


def test_up_twice_changes_nothing_the_second_time_and_down_leaves_no_trace(config):
    before = host_footprint(NAME, SUBNET)
    tls = LabPaths.for_lab(NAME).tls
    try:
        first = run_lab("up", config=config)
        assert first.returncode == 0, first.stderr
        assert "nothing to change" not in first.stdout
        assert len(lab_containers(NAME)) == 3
        made = sorted(p.name for p in tls.iterdir())
        assert made == ["ca.pem", "covers.json", "redis1.key", "redis1.pem", "redis2.key",
                        "redis2.pem", "redis3.key", "redis3.pem"]

        second = run_lab("up", config=config)
        assert second.returncode == 0, second.stderr
        assert "lab_up: nothing to change" in second.stdout  # the same certificates too
        assert "every machine is up to date" in second.stdout
    finally:
        down = run_lab("down", config=config)
    assert down.returncode == 0, down.stderr
    assert host_footprint(NAME, SUBNET) == before
    assert not tls.exists()  # the CA and every key went with the lab


def test_down_after_a_half_finished_up(config):
    """Machines created, provisioning never ran: lab_down still removes everything."""
    before = host_footprint(NAME, SUBNET)
    from lab.context import Lab

    lab = Lab.load(config)
    base, machine_image = lab.recipes()
    from lab import images

    images.ensure((machine_image,), lab.paths)
    lab.record_applied(config)
    lab.machines(machine_image.image).up()  # machines only: no provisioning, no settle
    assert len(lab_containers(NAME)) == 3
    down = run_lab("down", config=config)
    assert down.returncode == 0, down.stderr
    assert host_footprint(NAME, SUBNET) == before
