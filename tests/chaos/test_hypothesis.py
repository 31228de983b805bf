"""The Hypothesis search on the real lab: GO when the SLOs are met (the worst case still
reported); a breach of "no acknowledged write lost" found without being told which fault,
shrunk, saved, replayed with a reproduction rate, kept as a scenario that then runs and is
judged like the hand-written ones; and an invariant failure found, shrunk and replayed."""

import os

from junitparser import Failure, JUnitXml

from lab.chaos import faults
from lab.chaos.scenarios import SCENARIO_DIR
from tests.labs import recorded, run_lab

GENEROUS = "[slo]\nlost_writes = 100000\nfailover_s = 60\n"
STRICT = "[slo]\nlost_writes = 0\n"


def test_ci_profile_is_go_on_slos_the_lab_meets_and_reports_the_worst_case(chaos_lab,
                                                                           tmp_path):
    slo = tmp_path / "generous.toml"
    slo.write_text(GENEROUS)
    result = recorded("chaos", "--no-scenarios", "--profile", "ci", "--seed", "1",
                      "--slo", str(slo), config=chaos_lab.config_path)
    hypothesis = result.results["hypothesis"]
    assert result.returncode == 0, result.stdout
    assert hypothesis["status"] == "pass" and hypothesis["seed"] == 1
    assert "hypothesis: profile ci, seed 1" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "GO: every SLO met"
    assert len(hypothesis["examples"]) >= 4  # every example is listed ...
    for example in hypothesis["examples"]:
        assert (result.run_dir / example["history"]).is_file()  # ... with its history
    worst = hypothesis["worst"]  # the worst case per target, though nothing breached
    assert {"lost_writes", "split_brain_s"} <= set(worst)
    page = result.page.read_text()
    assert 'id="worst"' in page and 'id="examples"' in page


def test_a_lost_write_breach_is_found_shrunk_replayed_and_kept_as_a_scenario(chaos_lab,
                                                                            tmp_path):
    strict = tmp_path / "strict.toml"
    strict.write_text(STRICT)
    found = recorded("chaos", "--no-scenarios", "--profile", "ci", "--seed", "1",
                     "--slo", str(strict), config=chaos_lab.config_path)
    assert found.returncode == 1, found.stdout
    assert found.stdout.strip().splitlines()[-1].startswith(
        "NO-GO: hypothesis example "), found.stdout
    failure = found.results["hypothesis"]["failure"]
    injects = [s for s in failure["steps"] if s["rule"] == "inject"]
    assert 1 <= len(injects) <= 2, failure["steps"]  # shrunk to at most two fault steps
    assert all(s["kind"] in faults.registered() for s in injects)
    [case] = [c for suite in JUnitXml.fromfile(str(found.run_dir / "junit.xml")) for c in suite]
    assert isinstance(case.result[0], Failure) and "lost_writes" in case.result[0].message
    assert "Minimal failing sequence" in found.page.read_text()

    replay = recorded("chaos", "--replay", failure["id"], "--repeat", "3",
                      config=chaos_lab.config_path)
    assert replay.returncode == 1, replay.stdout
    assert replay.results["hypothesis"]["reproduced"] >= 2, replay.stdout
    assert f"replay {failure['id']}: reproduced " in replay.stdout

    name = "test-saved-breach"
    saved = run_lab("chaos", "--replay", failure["id"], "--save-scenario", name,
                    config=chaos_lab.config_path)
    path = SCENARIO_DIR / f"{name}.toml"
    try:
        assert saved.returncode == 0, saved.stderr
        assert str(path) in saved.stdout
        # A saved scenario runs and is judged like the hand-written ones: repeated, with
        # the SLOs, into JUnit.
        junit_copy = tmp_path / "ci" / "junit.xml"
        run = recorded("chaos", "-k", name, "--no-hypothesis", "--repeat", "2",
                       "--slo", str(strict), "--junit", str(junit_copy),
                       config=chaos_lab.config_path)
        assert run.returncode == 1, run.stdout
        last = run.stdout.strip().splitlines()[-1]
        assert last.startswith(f"NO-GO: {name} #1: lost_writes = "), last
        results = run.results
        assert [(s["scenario"], s["repetition"]) for s in results["scenarios"]] == [
            (name, 1), (name, 2)]
        assert results["go"] is False and results["aggregates"][name]["lost"]["n"] == 2
        cases = [c for suite in JUnitXml.fromfile(str(junit_copy)) for c in suite]
        assert [c.name for c in cases] == [f"{name} #1", f"{name} #2"]
        assert all(isinstance(c.result[0], Failure) for c in cases)
        assert 'id="aggregates"' in run.page.read_text()
        # The same histories, judged against SLOs the lab meets: GO.
        generous = tmp_path / "generous.toml"
        generous.write_text(GENEROUS)
        judged = run_lab("judge", run.run_dir.name, "--slo", str(generous),
                         config=chaos_lab.config_path)
        assert judged.returncode == 0, judged.stdout
        assert judged.stdout.strip().splitlines()[-1] == "GO: every SLO met"
    finally:
        path.unlink(missing_ok=True)


def test_a_broken_invariant_is_found_shrunk_and_replayed(chaos_lab):
    env = dict(os.environ, LAB_CHAOS_INVARIANTS="tests.chaos.broken_invariant")
    found = recorded("chaos", "--no-scenarios", "--profile", "ci", "--seed", "7",
                     config=chaos_lab.config_path, env=env)
    assert found.returncode == 1, found.stdout + found.process.stderr
    failure = found.results["hypothesis"]["failure"]
    # Shrunk to the minimal sequence that breaks it: the registry's first fault, healed.
    first = next(iter(faults.searched()))
    assert [step["rule"] for step in failure["steps"]] == ["inject", "heal"]
    assert failure["steps"][0] == {"rule": "inject", "kind": first, "shard": 1}
    assert f"nox -s chaos -- --replay {failure['id']}" in found.stdout
    page = found.page.read_text()
    assert "Minimal failing sequence" in page
    assert f"inject(kind={first}, shard=1)" in page
    assert f"nox -s chaos -- --replay {failure['id']}" in page

    replay = recorded("chaos", "--replay", failure["id"], config=chaos_lab.config_path,
                      env=env)
    assert replay.returncode == 1, replay.stdout
    assert f"replay {failure['id']} (1/1): reproduced" in replay.stdout
    # (Without the planted invariant the lab heals: the GO search above checks every
    # example's own invariants.)
