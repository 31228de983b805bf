"""A real lab per layout: the shared article lab, and a spread lab of this package's own."""

import pytest

from tests.labs import running, write_config

SUBNET = 57  # 192.168.57.0/24: not the default lab's range


@pytest.fixture(scope="package")
def spread_lab(tmp_path_factory):
    config = write_config(tmp_path_factory.mktemp("spread"), name="rhl-e2e",
                          subnet=SUBNET, layout="spread")
    with running(config) as lab:
        yield lab


@pytest.fixture(params=["article", "spread"])
def running_lab(request):
    return request.getfixturevalue(f"{request.param}_lab")
