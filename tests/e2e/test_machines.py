"""What is particular to the opt-in machine labs (``LAB_MACHINES_ALL=1``, see conftest):
bare machines get the engine from lab_up, once; on Debian 13 that is docker-cli beside
docker.io, and Compose v2. The
routing checks of test_routing.py run on both labs too; the bare lab's lab_down is checked
to leave the host as it found it (conftest's bare_lab)."""

import os
import re
import subprocess

import pytest

from tests.e2e.conftest import MACHINES_OPT_IN
from tests.labs import host_footprint, run_lab, write_config

pytestmark = pytest.mark.skipif(
    os.environ.get(MACHINES_OPT_IN) != "1",
    reason=f"opt-in: {MACHINES_OPT_IN}=1 brings up a bare Debian 12 lab (the engine "
           "installed over SSH), a bare Debian 13 lab and a Debian 13 lab with the engine, "
           "about two minutes each")
SERVERS = ("redis1", "redis2", "redis3")


def test_lab_up_installed_the_engine_on_every_bare_machine(bare_lab):
    for server in SERVERS:
        assert re.search(rf"^  {server}: engine installed: Docker \S+, docker-compose \S+ on "
                         r"debian-12 \(\d+\.\d s\)$", bare_lab.up_output, re.M), server


def test_a_second_lab_up_on_bare_machines_installs_nothing_and_says_so(bare_lab):
    again = run_lab("up", config=bare_lab.config_path)
    assert again.returncode == 0, again.stderr
    for server in SERVERS:
        assert re.search(rf"^  {server}: Docker \S+, docker-compose \S+ on debian-12: "
                         "nothing to install$", again.stdout, re.M), server
    assert "engine installed" not in again.stdout
    assert "lab_up: nothing to change" in again.stdout


def test_debian_13_machines_with_the_engine_in_their_image_use_compose_v2(
        debian13_engine_lab):
    for server in SERVERS:
        assert re.search(rf"^  {server}: Docker 26\.\S+, docker compose 2\.\S+ on debian-13: "
                         "nothing to install$", debian13_engine_lab.up_output, re.M), server


def test_another_machine_image_on_a_running_bare_lab_is_refused(bare_lab, tmp_path):
    config = tmp_path / "with-engine.toml"
    config.write_text(bare_lab.config_path.read_text().replace('image = "bare"\n', ""))
    refused = run_lab("up", config=config)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert re.search(r"machine redis1 of lab rhl-bare runs redis-ha-lab/machine-bare:\S+, but "
                     r"lab\.toml now asks for redis-ha-lab/machine:\S+ .*run `nox -s lab_down` "
                     "first", refused.stderr)
    assert run_lab("status", config=bare_lab.config_path).returncode == 0  # left as it was


def test_debian_13_machines_got_the_engine_with_compose_v2(debian13_lab):
    """The line names the compose command provisioning then uses (``docker compose``)."""
    assert "article layout, vagrant, provider docker, bare machines, Debian 13" in \
        debian13_lab.up_output
    for server in SERVERS:
        assert re.search(rf"^  {server}: engine installed: Docker 26\.\S+, docker compose 2\."
                         r"\S+ on debian-13 \(\d+\.\d s\)$", debian13_lab.up_output, re.M), server


def test_a_bare_host_without_sudo_or_with_a_failing_package_manager(tmp_path):
    """Bad input on real bare machines: exit 2, one line naming the host and the step, and
    no engine left running on the machine whose install failed."""
    config = write_config(tmp_path, name="rhl-bare-bad", subnet=66,
                          machines='image = "bare"\n')
    before = host_footprint("rhl-bare-bad", 66)
    try:
        assert run_lab("up", "--machines-only", config=config).returncode == 0

        def on(server, command):
            return subprocess.run(["docker", "exec", f"rhl-bare-bad-{server}", "sh", "-c",
                                   command], capture_output=True, text=True)

        on("redis2", "rm /etc/sudoers.d/vagrant")
        on("redis3", "echo 'deb http://127.0.0.1:9/debian bookworm main' "
                     "> /etc/apt/sources.list")
        failed = run_lab("up", config=config)
        assert failed.returncode == 2, failed.stdout + failed.stderr
        [line] = failed.stderr.strip().splitlines()
        assert re.match(r"redis-ha-lab: error: redis[23]: step '(sudo|apt-get update)'", line)
        assert ("redis2: step 'sudo': vagrant cannot run commands as root without a password"
                in line) or ("redis3: step 'apt-get update' failed on debian-12: W: Failed to "
                             "fetch http://127.0.0.1:9/debian" in line), line

        on("redis2", "echo 'vagrant ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/vagrant")
        failed = run_lab("up", config=config)
        [line] = failed.stderr.strip().splitlines()
        assert failed.returncode == 2 and "redis3: step 'apt-get update' failed on debian-12: " \
            "W: Failed to fetch http://127.0.0.1:9/debian" in line, line
        assert on("redis3", "pgrep -x dockerd").returncode == 1  # nothing left running
        assert on("redis3", "command -v dockerd").returncode != 0  # nor installed
    finally:
        assert run_lab("down", config=config).returncode == 0
    assert host_footprint("rhl-bare-bad", 66) == before
