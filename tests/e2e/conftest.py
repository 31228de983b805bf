"""One real lab per layout, brought up once for every test in this package."""

import pytest

from lab.context import Lab
from tests.labs import RunningLab, run_lab, write_config

SUBNET = 57  # 192.168.57.0/24: not the default lab's range


@pytest.fixture(scope="package", params=["article", "spread"])
def running_lab(request, tmp_path_factory):
    config = write_config(tmp_path_factory.mktemp(request.param), name="rhl-e2e",
                          subnet=SUBNET, layout=request.param)
    up = run_lab("up", config=config)
    try:
        assert up.returncode == 0, f"lab_up failed:\n{up.stdout}\n{up.stderr}"
        yield RunningLab(config, Lab.load(config), up.stdout)
    finally:
        down = run_lab("down", config=config)
        assert down.returncode == 0, down.stderr
