"""One real lab per layout, brought up once for every test in this package."""

import pytest

from tests.labs import running, write_config

SUBNET = 57  # 192.168.57.0/24: not the default lab's range


@pytest.fixture(scope="package", params=["article", "spread"])
def running_lab(request, tmp_path_factory):
    config = write_config(tmp_path_factory.mktemp(request.param), name="rhl-e2e",
                          subnet=SUBNET, layout=request.param)
    with running(config) as lab:
        yield lab
