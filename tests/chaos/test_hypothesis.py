"""The Hypothesis state machine on the real lab: a clean run, and a failure found,
shrunk to the minimal fault sequence, saved, and replayed by id."""

import os

from tests.labs import recorded


def test_ci_profile_completes(chaos_lab):
    result = recorded("chaos", "--no-scenarios", "--profile", "ci", "--seed", "1",
                      config=chaos_lab.config_path)
    results = result.results
    assert results["hypothesis"]["status"] == "pass", results["hypothesis"]
    assert results["hypothesis"]["seed"] == 1
    assert "hypothesis: profile ci, seed 1" in result.stdout
    assert result.returncode == 0


def test_a_broken_invariant_is_found_shrunk_and_replayed(chaos_lab):
    env = dict(os.environ, LAB_CHAOS_INVARIANTS="tests.chaos.broken_invariant")
    found = recorded("chaos", "--no-scenarios", "--profile", "workshop", "--seed", "7",
                     config=chaos_lab.config_path, env=env)
    assert found.returncode == 1, found.stdout + found.stderr
    failure = found.results["hypothesis"]["failure"]
    # Shrunk to the minimal sequence that breaks it: one fault, one heal.
    assert [step["rule"] for step in failure["steps"]] == ["inject", "heal"]
    assert failure["steps"][0] == {"rule": "inject", "kind": "stop-master", "shard": 1}
    assert f"nox -s chaos -- --replay {failure['id']}" in found.stdout
    page = found.page.read_text()
    assert "Minimal failing sequence" in page
    assert "inject(kind=stop-master, shard=1)" in page
    assert f"nox -s chaos -- --replay {failure['id']}" in page

    replay = recorded("chaos", "--replay", failure["id"], config=chaos_lab.config_path,
                      env=env)
    assert replay.returncode == 1, replay.stdout
    assert f"replay {failure['id']}: reproduced" in replay.stdout
    # Without the test-only switch the same sequence is fine: the lab heals.
    clean = recorded("chaos", "--replay", failure["id"], config=chaos_lab.config_path)
    assert clean.returncode == 0, clean.stdout
