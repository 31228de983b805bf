"""SLOs on the real lab: without [slo] nothing changes. (A breach, NO-GO, JUnit and
repetitions on the real lab: tests/chaos/test_hypothesis.py, on a saved scenario.)"""


def test_without_slos_the_campaign_keeps_its_verdicts(campaign):
    """No [slo]: no GO/NO-GO line, no SLO column, exit status from expectations alone."""
    results = campaign.results
    assert results["slo"] is None and results["go"] is None
    assert not any(line.startswith(("GO", "NO-GO")) for line in campaign.stdout.splitlines())
    assert all(s["slo_breaches"] == [] for s in results["scenarios"])
    assert campaign.returncode == 0
