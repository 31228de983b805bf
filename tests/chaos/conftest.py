"""One real article-layout lab for the chaos tests (the CI lab)."""

import json
import re
from pathlib import Path

import pytest

from tests.labs import running, write_config

SUBNET = 60


@pytest.fixture(scope="package")
def chaos_lab(tmp_path_factory):
    """The lab the chaos and load tests attack (article layout, default settings)."""
    config = write_config(tmp_path_factory.mktemp("chaos"), name="rhl-chaos", subnet=SUBNET)
    with running(config) as lab:
        yield lab


def results_of(output: str) -> dict:
    """results.json of the run whose summary is in ``output``."""
    match = re.search(r"chaos: results \((?:complete|INCOMPLETE)\): (\S+)", output)
    assert match, output
    return json.loads(Path(match.group(1)).read_text())


def scenario(results: dict, name: str) -> dict:
    return next(s for s in results["scenarios"] if s["scenario"] == name)
