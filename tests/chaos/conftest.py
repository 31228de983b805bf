"""One real article-layout lab for the chaos tests (the CI lab)."""

import json
import re
from pathlib import Path

import pytest

from lab.context import Lab
from tests.labs import RunningLab, run_lab, write_config

SUBNET = 60


@pytest.fixture(scope="package")
def chaos_lab(tmp_path_factory):
    config = write_config(tmp_path_factory.mktemp("chaos"), name="rhl-chaos", subnet=SUBNET)
    up = run_lab("up", config=config)
    try:
        assert up.returncode == 0, f"lab_up failed:\n{up.stdout}\n{up.stderr}"
        yield RunningLab(config, Lab.load(config), up.stdout)
    finally:
        down = run_lab("down", config=config)
        assert down.returncode == 0, down.stderr


def results_of(output: str) -> dict:
    """results.json of the run whose summary is in ``output``."""
    match = re.search(r"chaos: results \((?:complete|INCOMPLETE)\): (\S+)", output)
    assert match, output
    return json.loads(Path(match.group(1)).read_text())


def scenario(results: dict, name: str) -> dict:
    return next(s for s in results["scenarios"] if s["scenario"] == name)
