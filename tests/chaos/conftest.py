"""One real article-layout lab for the chaos tests (the CI lab)."""

import json
import re
from pathlib import Path

import pytest

from tests.labs import run_lab, running, write_config

SUBNET = 60
CI_SCENARIOS = ["crash-master", "pause-master", "partition-sentinels",
                "isolate-master-with-clients", "kill-sentinels-majority", "restart-machine"]


@pytest.fixture(scope="package")
def chaos_lab(tmp_path_factory):
    """The lab the chaos and load tests attack (article layout, default settings)."""
    config = write_config(tmp_path_factory.mktemp("chaos"), name="rhl-chaos", subnet=SUBNET)
    with running(config) as lab:
        yield lab


@pytest.fixture(scope="package")
def campaign(chaos_lab):
    """The CI campaign, run once: (the finished process, its results.json)."""
    args = [arg for name in CI_SCENARIOS for arg in ("-k", name)]
    result = run_lab("chaos", *args, "--no-hypothesis", config=chaos_lab.config_path)
    return result, results_of(result.stdout)


def results_of(output: str) -> dict:
    """results.json of the run whose summary is in ``output``."""
    match = re.search(r"chaos: results \((?:complete|INCOMPLETE)\): (\S+)", output)
    assert match, output
    return json.loads(Path(match.group(1)).read_text())


def report_of(output: str) -> Path:
    """The run page a chaos run printed it wrote."""
    match = re.search(r"^report: (\S+/index\.html)$", output, re.MULTILINE)
    assert match, output
    return Path(match.group(1))


def scenario(results: dict, name: str) -> dict:
    return next(s for s in results["scenarios"] if s["scenario"] == name)
