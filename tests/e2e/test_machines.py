"""What is particular to the opt-in machine labs (``LAB_MACHINES_ALL=1``, see conftest):
bare machines get the engine from lab_up, once; Debian 13 machines run Compose v2. The
routing checks of test_routing.py run on both labs too; the bare lab's lab_down is checked
to leave the host as it found it (conftest's bare_lab)."""

import os
import re

import pytest

from tests.e2e.conftest import MACHINES_OPT_IN
from tests.labs import run_lab

pytestmark = pytest.mark.skipif(
    os.environ.get(MACHINES_OPT_IN) != "1",
    reason=f"opt-in: {MACHINES_OPT_IN}=1 brings up a bare Debian 12 lab (the engine "
           "installed over SSH) and a Debian 13 lab, about two minutes each")
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


def test_debian_13_machines_run_compose_v2(debian13_lab):
    for server in SERVERS:
        assert re.search(rf"^  {server}: Docker 26\.\S+, docker compose 2\.\S+ on debian-13: "
                         "nothing to install$", debian13_lab.up_output, re.M), server
