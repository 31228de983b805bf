"""The CI campaign's HTML report: opened in headless Chromium, rebuilt from raw data alone,
and free of the lab's password."""

import re
import shutil

from lab.paths import REPORTS
from lab.report import command
from tests.chaos.conftest import CI_SCENARIOS
from tests.labs import run_lab


def test_the_report_opens_in_chromium_with_every_part(campaign):
    results = campaign.results
    page = campaign.page
    assert page == REPORTS / results["run_id"] / "index.html"
    problems, check = command.verify(page)
    assert problems == []
    assert check.console_errors == [] and check.external_requests == []
    assert check.answers["verdict_rows"] == len(CI_SCENARIOS)
    assert check.answers["timelines"] == len(CI_SCENARIOS)
    assert all(n > 0 for n in check.answers["fault_shapes"]), check.answers["fault_shapes"]
    assert check.answers["incomplete_banner"] is False
    screenshot = page.parent / command.SCREENSHOT
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # kept in the run folder
    html = page.read_text()
    versions = results["lab"]["versions"]
    assert versions["engine"] in html and versions["docker"] in html
    assert versions["engine"].startswith("redis 7.0.")
    assert "HAProxy version" in versions["haproxy"]


def test_a_report_rebuilt_from_raw_data_alone_is_identical(campaign, tmp_path, chaos_lab):
    results = campaign.results
    original = campaign.page.read_bytes()
    copy = tmp_path / "reports" / results["run_id"]
    shutil.copytree(REPORTS / results["run_id"], copy)
    (copy / "index.html").unlink()
    (copy / command.SCREENSHOT).unlink(missing_ok=True)
    rebuilt = run_lab("report", "--reports", str(copy.parent), results["run_id"],
                      config=chaos_lab.config_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (copy / "index.html").read_bytes() == original
    assert (copy.parent / "index.html").is_file()


def test_no_report_file_holds_the_lab_password(campaign, chaos_lab):
    password = chaos_lab.password.encode()
    assert len(password) >= 16
    files = [p for p in REPORTS.rglob("*") if p.is_file()]
    assert any(p.name == "index.html" for p in files)
    leaking = [str(p) for p in files if password in p.read_bytes()]
    assert leaking == []


def test_rejudging_the_campaign_from_its_histories_gives_the_printed_verdicts(campaign,
                                                                             chaos_lab):
    """The judge reads only the history: run again on the files, it reaches every verdict,
    check, finding and measure the live run printed and recorded."""
    judged = run_lab("judge", campaign.run_dir.name, config=chaos_lab.config_path)
    assert judged.returncode == 0, judged.stdout
    assert "every verdict as recorded" in judged.stdout
    printed = re.findall(r"^chaos: (\S+): (PASS|FINDING|FAIL|SKIPPED)  ", campaign.stdout,
                         re.MULTILINE)
    assert {name for name, _ in printed} == set(CI_SCENARIOS)
    for name, status in printed:
        assert f"  {name}: {status.lower()} (as recorded)" in judged.stdout
