"""The Hypothesis search on the real lab: GO when the SLOs are met, saying what it covered
(the worst case and the coverage grid still reported); a breach of "no acknowledged write
lost" found without being told which fault (the catalogue's sequences off), shrunk to one
held fault, saved, replayed twice (reproduced both times), kept as a scenario that then runs
and is judged like the hand-written ones; an invariant failure found, shrunk and
replayed; and the catalogue's sequences run first when asked.

The search here is smaller than the ``ci`` profile (``--examples``): CI's time. How often
each profile finds a planted weakness is measured by ``nox -s bench -- --what search``."""

import os

from junitparser import Failure, JUnitXml

from lab.chaos import faults
from lab.chaos.scenarios import SCENARIO_DIR
from tests.labs import recorded, run_lab

GENEROUS = "[slo]\nlost_writes = 100000\nfailover_s = 60\n"
STRICT = "[slo]\nlost_writes = 0\n"


def test_a_search_says_what_it_covered_and_a_coverage_demand_it_missed_is_no_go(chaos_lab,
                                                                                tmp_path):
    """SLOs the lab meets, plus ``coverage = "every-fault"``: a search this small cannot
    hold every fault past a failover, so it is NO-GO naming the faults never held, with
    no SLO breached; every example, its faults and the coverage grid are reported.
    (The GO line's wording is unit-tested: tests/unit/test_search.py.)"""
    slo = tmp_path / "generous.toml"
    slo.write_text(GENEROUS + 'coverage = "every-fault"\n')
    result = recorded("chaos", "--no-scenarios", "--profile", "ci", "--seed", "1",
                      "--examples", "1", "--no-known", "--slo", str(slo),
                      config=chaos_lab.config_path)
    hypothesis = result.results["hypothesis"]
    assert result.returncode == 1, result.stdout
    assert hypothesis["status"] == "pass" and hypothesis["seed"] == 1
    assert hypothesis["breaches"] == []  # no SLO breached ...
    assert "hypothesis: profile ci, seed 1; holds 1 / 6 / 16 s" in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("NO-GO: coverage = every-fault: never held past failover: "), last
    missing = hypothesis["coverage"]["missing"]
    assert missing and all(name in last for name in missing)
    assert 1 <= len(hypothesis["examples"]) <= 3  # (Hypothesis may add one of no steps)
    for example in hypothesis["examples"]:
        assert (result.run_dir / example["history"]).is_file()  # ... with its history
        injects = [s for s in example["steps"] if s["rule"] == "inject"]
        assert len(example["faults"]) == len(injects)  # ... and what each fault did
        assert all("hold_s" in s for s in injects)
    tried = {f for f, cells in hypothesis["coverage"]["cells"].items()
             if any(c["tried"] for c in cells.values())}
    assert tried <= set(faults.searched())
    # The worst case per target is reported though nothing breached.
    assert {"lost_writes", "split_brain_s"} <= set(hypothesis["worst"])
    page = result.page.read_text()
    assert 'id="worst"' in page and 'id="examples"' in page and 'id="coverage-grid"' in page


def test_a_lost_write_breach_is_found_shrunk_replayed_and_kept_as_a_scenario(chaos_lab,
                                                                            tmp_path):
    strict = tmp_path / "strict.toml"
    strict.write_text(STRICT)
    found = recorded("chaos", "--no-scenarios", "--profile", "ci", "--seed", "1",
                     "--no-known", "--slo", str(strict), config=chaos_lab.config_path)
    assert found.returncode == 1, found.stdout
    assert found.stdout.strip().splitlines()[-1].startswith(
        "NO-GO: hypothesis example "), found.stdout
    failure = found.results["hypothesis"]["failure"]
    assert failure["known"] is None  # drawn by the search, not taken from the catalogue
    injects = [s for s in failure["steps"] if s["rule"] == "inject"]
    assert len(injects) == 1, failure["steps"]  # shrunk to one fault ...
    assert injects[0]["kind"] in faults.searched()
    assert injects[0]["hold_s"] > 0  # ... held on purpose
    [case] = [c for suite in JUnitXml.fromfile(str(found.run_dir / "junit.xml")) for c in suite]
    assert isinstance(case.result[0], Failure) and "lost_writes" in case.result[0].message
    assert "Minimal failing sequence" in found.page.read_text()

    replay = recorded("chaos", "--replay", failure["id"], "--repeat", "2",
                      config=chaos_lab.config_path)
    assert replay.returncode == 1, replay.stdout
    assert replay.results["hypothesis"]["reproduced"] == 2, replay.stdout  # every time
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
        assert results["go"] is False and results["aggregates"][name]["lost_writes"]["n"] == 2
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


def test_a_broken_invariant_is_found_first_by_a_known_sequence_and_replayed(chaos_lab):
    """With the catalogue's sequences on (the default of a search without scenarios), the
    first example is the catalogue's first searched sequence, held past failover; the
    planted invariant fails on its heal, and the failure replays."""
    env = dict(os.environ, LAB_CHAOS_INVARIANTS="tests.chaos.broken_invariant")
    found = recorded("chaos", "--no-scenarios", "--profile", "ci", "--seed", "7",
                     config=chaos_lab.config_path, env=env)
    assert found.returncode == 1, found.stdout + found.process.stderr
    hypothesis = found.results["hypothesis"]
    assert hypothesis["known"] is True
    assert "known sequence(s) from the catalogue first" in found.stdout
    failure = hypothesis["failure"]
    assert failure["known"] == "crash-master" and len(hypothesis["examples"]) == 1
    step = failure["steps"][0]
    assert step["kind"] == "crash-master"
    assert step["hold_s"] >= hypothesis["holds"]["past_failover_s"]
    assert f"nox -s chaos -- --replay {failure['id']}" in found.stdout
    page = found.page.read_text()
    assert "Minimal failing sequence" in page and "inject(kind=crash-master, " in page

    replay = recorded("chaos", "--replay", failure["id"], config=chaos_lab.config_path,
                      env=env)
    assert replay.returncode == 1, replay.stdout
    assert f"replay {failure['id']} (1/1): reproduced" in replay.stdout
    # (Without the planted invariant the lab heals: every example checks its own
    # invariants. Shrinking is shown by the lost-write breach above.)
