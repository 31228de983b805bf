"""A real lab per layout and engine: the shared article lab (Redis 7.0, the default), and a
spread lab of this package's own on Valkey 8.1.

``LAB_ENGINES_ALL=1`` (opt-in: a switch per engine, about half a minute each, plus a cold
image build per engine the first time) also brings the spread lab to every other engine
in turn and runs the same routing checks on each.
"""

import os

import pytest

from lab import engines
from lab.context import Lab
from tests.labs import RunningLab, run_lab, running, write_config

SUBNET = 57  # 192.168.57.0/24: not the default lab's range
SPREAD_ENGINE = "valkey-8.1"
OPT_IN_ENGINES = [e for e in engines.names() if e not in ("redis-7.0", SPREAD_ENGINE)] \
    if os.environ.get("LAB_ENGINES_ALL") == "1" else []


def spread_config(directory, engine: str):
    return write_config(directory, name="rhl-e2e", subnet=SUBNET, layout="spread",
                        extra=f'[images]\nengine = "{engine}"\n')


@pytest.fixture(scope="package")
def spread_lab(tmp_path_factory):
    with running(spread_config(tmp_path_factory.mktemp("spread"), SPREAD_ENGINE)) as lab:
        yield lab


# Package scope: pytest runs every test on one lab before it switches to the next.
@pytest.fixture(scope="package", params=["article", "spread", *OPT_IN_ENGINES])
def running_lab(request, tmp_path_factory):
    if request.param in ("article", "spread"):
        return request.getfixturevalue(f"{request.param}_lab")
    spread = request.getfixturevalue("spread_lab")  # brought to this engine, then back
    config = spread_config(tmp_path_factory.mktemp(request.param), request.param)
    up = run_lab("up", config=config)
    assert up.returncode == 0, f"switching to {request.param} failed:\n{up.stdout}\n{up.stderr}"

    def back_to_the_spread_engine():
        assert run_lab("up", config=spread.config_path).returncode == 0

    request.addfinalizer(back_to_the_spread_engine)
    return RunningLab(config, Lab.load(config), up.stdout)
