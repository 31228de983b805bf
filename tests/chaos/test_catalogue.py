"""The catalogue of Sentinel behaviours on the default engine (Redis 7.0), on the real lab.

CI keeps to what they are made of: the settings faults' heal on the real lab
(test_safety.py), the Sentinel-event measure on a real history (test_scenarios.py), the
verdicts on hand-made ones (tests/unit/test_catalogue.py). Every catalogue scenario runs
here with ``LAB_CATALOGUE=1`` (about 7 min); ``nox -s matrix`` runs them on every engine.
"""

from __future__ import annotations

import os

import pytest

from tests.labs import recorded
from tests.unit.test_catalogue import CATALOGUE

OPT_IN = "LAB_CATALOGUE"


@pytest.mark.skipif(os.environ.get(OPT_IN) != "1",
                    reason=f"opt-in: the whole catalogue, about 5 min ({OPT_IN}=1)")
def test_every_catalogue_scenario_shows_its_behaviour_on_the_default_engine(chaos_lab):
    args = [arg for name in CATALOGUE for arg in ("-k", name)]
    result = recorded("chaos", *args, "--no-hypothesis", config=chaos_lab.config_path,
                      timeout=1800)
    assert result.returncode == 0, result.process.stdout[-3000:]
    verdicts = {s["scenario"]: s for s in result.results["scenarios"]}
    assert set(verdicts) == set(CATALOGUE)
    for name, s in verdicts.items():
        assert s["reference"], name
        if name == "manual-failover-coordinated":  # Redis 7.0 has no COORDINATED
            assert s["status"] == "skipped" and "COORDINATED" in s["findings"][0], s
        elif name == "new-address":  # the article lab addresses servers by number
            assert s["status"] == "skipped" and "hostnames" in s["findings"][0], s
        elif name == "disk-full":  # no disk of its own: its data directory unwritable
            assert s["status"] in ("pass", "finding"), (name, s["checks"])
            assert s["faults"][0]["target"]["how"] == "unwritable", s["faults"]
        else:
            assert s["status"] in ("pass", "finding"), (name, s["checks"])
    manual = verdicts["manual-failover"]  # in whichever lane it ran
    assert manual["measures"][str(manual["target_shard"])]["failover_s"] is not None
