"""The chaos tests attack the shared article lab (tests/conftest.py): the CI campaign."""

import pytest

from tests.labs import recorded

# crash-master is not here: tests/chaos/test_load.py runs it (with Locust) and judges it.
CI_SCENARIOS = ["pause-master", "partition-sentinels", "isolate-master-with-clients",
                "kill-sentinels-majority", "restart-machine"]


@pytest.fixture(scope="package")
def chaos_lab(article_lab):
    """The lab the chaos and load tests attack (article layout, default settings)."""
    return article_lab


@pytest.fixture(scope="package")
def campaign(chaos_lab):
    """The CI campaign, run once, with both workloads: unique keys and lists (each
    scenario's list anomalies judged against what it documents)."""
    args = [arg for name in CI_SCENARIOS for arg in ("-k", name)]
    return recorded("chaos", *args, "--no-hypothesis", "--workload", "both",
                    config=chaos_lab.config_path)


def scenario(results: dict, name: str) -> dict:
    return next(s for s in results["scenarios"] if s["scenario"] == name)
