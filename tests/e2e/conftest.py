"""A real lab per layout and engine: the shared article lab (Redis 7.0, the default), and a
spread lab of this package's own on Valkey 8.1.

``LAB_ENGINES_ALL=1`` (opt-in: a switch per engine, about half a minute each, plus a cold
image build per engine the first time) also brings the spread lab to every other engine
in turn and runs the same routing checks on each.

``LAB_MACHINES_ALL=1`` (opt-in: two more labs of their own, about two minutes each, plus
a machine image build each the first time) runs the same checks on a lab of bare Debian 12
machines (lab_up installs the engine over SSH), on one of bare Debian 13 machines
(Debian 13's engine and Compose v2) and on one of Debian 13 machines with the engine in
their image; test_machines.py checks what is particular to them.
"""

import os
import subprocess
import uuid
from dataclasses import dataclass

import pytest

from lab import engines
from lab.context import Lab
from lab.probe import client
from tests.labs import (
    SPREAD_ENGINE,
    RunningLab,
    host_footprint,
    run_lab,
    running,
    spread_config,
    write_config,
)

OPT_IN_ENGINES = [e for e in engines.names() if e not in ("redis-7.0", SPREAD_ENGINE)] \
    if os.environ.get("LAB_ENGINES_ALL") == "1" else []
MACHINES_OPT_IN = "LAB_MACHINES_ALL"
MACHINE_LABS = {"bare-debian-12": "bare_lab", "debian-13": "debian13_lab",
                "debian-13-with-engine": "debian13_engine_lab"}
OPT_IN_MACHINES = list(MACHINE_LABS) if os.environ.get(MACHINES_OPT_IN) == "1" else []


@pytest.fixture(scope="package")
def bare_lab(tmp_path_factory):
    """Bare Debian 12 machines; lab_down must leave the host as it found it."""
    config = write_config(tmp_path_factory.mktemp("bare"), name="rhl-bare", subnet=64,
                          machines='image = "bare"\n')
    before = host_footprint("rhl-bare", 64)
    with running(config) as lab:
        yield lab
    assert host_footprint("rhl-bare", 64) == before


@pytest.fixture(scope="package")
def debian13_lab(tmp_path_factory):
    """Bare Debian 13 machines: lab_up installs Debian 13's engine (docker.io, docker-cli)
    and Compose v2, which the lab then uses."""
    config = write_config(tmp_path_factory.mktemp("trixie"), name="rhl-trixie", subnet=65,
                          machines='image = "bare"\n', extra='[images]\nsuite = "trixie"\n')
    with running(config) as lab:
        yield lab


@pytest.fixture(scope="package")
def debian13_engine_lab(tmp_path_factory):
    """Debian 13 machines from the image with the engine in it (docker-cli named there too)."""
    config = write_config(tmp_path_factory.mktemp("trixie-engine"), name="rhl-trixie-engine",
                          subnet=67, extra='[images]\nsuite = "trixie"\n')
    with running(config) as lab:
        yield lab


@pytest.fixture(scope="package")
def spread_lab(tmp_path_factory):
    with running(spread_config(tmp_path_factory.mktemp("spread"))) as lab:
        yield lab


@dataclass
class SpreadMatrix:
    """The matrix the spread lab (TLS and ACL users) ran once for this package: two
    engines x two routes, pause-master; and each instance's ACL LOG right after it."""

    matrix_id: str
    process: subprocess.CompletedProcess
    acl_log: dict[str, list[dict]]


@pytest.fixture(scope="package")
def spread_matrix(spread_lab):
    """Run once, read by test_matrix.py (the matrix itself) and test_security.py (a
    failover over TLS with least-privilege users refused nothing, no secret kept)."""
    lab = spread_lab.lab
    for instance in lab.topology.instances:  # the switches restart them too
        with client(*instance.address, lab.access, timeout=3) as admin:
            admin.acl_log_reset()
    matrix_id = f"test-matrix-{uuid.uuid4().hex[:8]}"
    process = run_lab("matrix", "--engines", "redis-7.0,valkey-8.1", "--routes",
                      "haproxy,haproxy-sentinel", "-k", "pause-master", "--run-id", matrix_id,
                      config=spread_lab.config_path, timeout=1500)
    acl_log = {}
    for instance in lab.topology.instances:
        with client(*instance.address, lab.access, timeout=3) as admin:
            acl_log[instance.label] = admin.acl_log()
    return SpreadMatrix(matrix_id, process, acl_log)


@pytest.hookimpl(trylast=True)  # after pytest has grouped the items by parameter
def pytest_collection_modifyitems(items):
    """The opt-in engines switch the spread lab to another engine until their parameter is
    torn down: their tests run last, so that every other test of the package finds the
    spread lab as it is (in any order they are selected in)."""
    def switched(item) -> bool:
        callspec = getattr(item, "callspec", None)
        param = callspec.params.get("running_lab") if callspec else None
        return param in OPT_IN_ENGINES or param in OPT_IN_MACHINES

    items[:] = [i for i in items if not switched(i)] + [i for i in items if switched(i)]


# Package scope: pytest runs every test on one lab before it switches to the next.
@pytest.fixture(scope="package", params=["article", "spread", *OPT_IN_ENGINES,
                                         *OPT_IN_MACHINES])
def running_lab(request, tmp_path_factory):
    if request.param in ("article", "spread"):
        return request.getfixturevalue(f"{request.param}_lab")
    if request.param in OPT_IN_MACHINES:
        return request.getfixturevalue(MACHINE_LABS[request.param])
    spread = request.getfixturevalue("spread_lab")  # brought to this engine, then back
    config = spread_config(tmp_path_factory.mktemp(request.param), request.param)
    up = run_lab("up", config=config)
    assert up.returncode == 0, f"switching to {request.param} failed:\n{up.stdout}\n{up.stderr}"

    def back_to_the_spread_engine():
        assert run_lab("up", config=spread.config_path).returncode == 0

    request.addfinalizer(back_to_the_spread_engine)
    return RunningLab(config, Lab.load(config), up.stdout)
