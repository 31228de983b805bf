"""SLOs on the real lab: NO-GO with the breach named, exit 1, JUnit XML; GO when the
same histories are re-judged against SLOs the lab meets; repetitions aggregated."""

from junitparser import Failure, JUnitXml

from tests.chaos.conftest import scenario
from tests.labs import recorded, run_lab


def test_a_breached_slo_is_no_go_with_junit_and_repetitions(chaos_lab, tmp_path):
    strict = tmp_path / "strict.toml"
    strict.write_text("[slo]\nlost_writes = 0\nfailover_s = 60\n")
    junit_copy = tmp_path / "ci" / "junit.xml"
    run = recorded("chaos", "-k", "crash-master", "--no-hypothesis", "--repeat", "2",
                   "--slo", str(strict), "--junit", str(junit_copy),
                   config=chaos_lab.config_path)
    # restart = always, no persistence: the crashed master comes back empty (a finding),
    # which breaks the user's "no acknowledged write lost"
    assert run.returncode == 1, run.stdout + run.process.stderr
    last = run.stdout.strip().splitlines()[-1]
    assert last.startswith("NO-GO: crash-master #1: lost_writes = "), last
    assert "crash-master #2: lost_writes = " in last and "> 0" in last

    results = run.results
    assert [s["repetition"] for s in results["scenarios"]] == [1, 2]
    assert all(s["status"] == "finding" for s in results["scenarios"])  # expectations held
    assert results["go"] is False and results["slo"]["global"]["lost_writes"] == 0
    lost = [sum(m["lost"] for m in s["measures"].values()) for s in results["scenarios"]]
    assert all(n > 0 for n in lost)
    spread = results["aggregates"]["crash-master"]["lost"]
    assert spread["n"] == 2 and spread["max"] == max(
        scenario_lost(results, 1), scenario_lost(results, 2))

    for path in (run.run_dir / "junit.xml", junit_copy):
        cases = [c for suite in JUnitXml.fromfile(str(path)) for c in suite]
        assert [c.name for c in cases] == ["crash-master #1", "crash-master #2"]
        for case in cases:
            [failure] = case.result
            assert isinstance(failure, Failure)
            assert "SLO breached: crash-master #" in failure.message
            assert "lost_writes = " in failure.message

    page = run.page.read_text()
    assert "NO-GO: 2 SLO breach(es)" in page and 'id="aggregates"' in page

    generous = tmp_path / "generous.toml"
    generous.write_text("[slo]\nlost_writes = 100000\nfailover_s = 60\n")
    judged = run_lab("judge", run.run_dir.name, "--slo", str(generous),
                     config=chaos_lab.config_path)
    assert judged.returncode == 0, judged.stdout
    assert judged.stdout.strip().splitlines()[-1] == "GO: every SLO met"


def scenario_lost(results, repetition):
    s = next(s for s in results["scenarios"] if s["repetition"] == repetition)
    return s["measures"][str(s["target_shard"])]["lost"]


def test_without_slos_the_campaign_keeps_its_verdicts(campaign):
    """No [slo]: no GO/NO-GO line, no SLO column, exit status from expectations alone."""
    results = campaign.results
    assert results["slo"] is None and results["go"] is None
    assert not any(line.startswith(("GO", "NO-GO")) for line in campaign.stdout.splitlines())
    assert scenario(results, "crash-master")["slo_breaches"] == []
    assert campaign.returncode == 0
