"""The suite's tiers, and the one article-layout lab its lab tests share.

Tiers (markers, chosen with ``-m``): ``unit`` (seconds; no Docker, no browser), ``browser``
(headless Chromium on hand-made pages), ``lab`` (real labs: Vagrant machines, Docker,
Redis, HAProxy). Everything under tests/unit is ``unit`` unless marked ``browser``;
everything else is ``lab``. What cannot run on this host is skipped with the reason,
except under CI (``CI=true``), where a missing engine or browser is a failure.
"""

from __future__ import annotations

import os

import pytest

from lab import host
from lab.report import browser
from tests.labs import ImagePrebuild, article_config, running


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/unit/" in str(item.path):
            if not item.get_closest_marker("browser"):
                item.add_marker(pytest.mark.unit)
        else:
            item.add_marker(pytest.mark.lab)
            item.add_marker(pytest.mark.xdist_group(lab_group(item)))
    if os.environ.get("CI") == "true":
        return  # CI has every part: a missing one must fail, not skip
    needs = {
        "browser": (lambda: browser.find_chromium() and browser.find_chromedriver(),
                    "chromium or chromium-driver is not installed (scripts/setup-host "
                    "installs them)"),
        "lab": (host.docker_engine_answers,
                "no Docker engine answers (scripts/setup-host starts one)"),
    }
    for marker, (available, reason) in needs.items():
        chosen = [i for i in items if i.get_closest_marker(marker)]
        if chosen and not available():
            for item in chosen:
                item.add_marker(pytest.mark.skip(reason=reason))


_prebuild: ImagePrebuild | None = None


def pytest_collection_finish(session):
    """Start building the images the selected lab tests need (tests/labs.py): the unit and
    browser tiers run meanwhile. Under xdist each worker builds its own groups' images,
    the two taking turns on the image cache's lock."""
    global _prebuild
    groups = {lab_group(i) for i in session.items
              if i.get_closest_marker("lab") and not i.get_closest_marker("skip")}
    if groups and not session.config.option.collectonly and host.docker_engine_answers():
        _prebuild = ImagePrebuild(groups).start()


def pytest_sessionfinish(session):
    if _prebuild is not None:
        _prebuild.wait()


def lab_group(item) -> str:
    """The lab a lab test runs on. With ``-n 2 --dist loadgroup`` (``nox -s tests``) each
    group runs on one worker, in collection order, while another group runs on the other:
    a lab is brought up by one process only, and the article lab's routing checks still
    come before the chaos tests that attack it."""
    package = item.path.parent.name  # e2e, chaos, lifecycle, inventory
    params = getattr(item, "callspec", None)
    if package == "chaos" or (params and params.params.get("running_lab") == "article"):
        return "article"
    return package


# -- tier times: where CI's minutes go (printed at the end of every run) ------------------

TIERS = ("unit", "browser", "lab")
_tier_seconds: dict[str, float] = {}
_tier_tests: dict[str, set[str]] = {}


def pytest_runtest_logreport(report):
    # Setup included: that is where a shared lab is brought up (and teardown, down). Seen
    # by the process that prints the summary (with xdist: the controller).
    tier = next((t for t in TIERS if t in report.keywords), "other")
    _tier_seconds[tier] = _tier_seconds.get(tier, 0.0) + report.duration
    _tier_tests.setdefault(tier, set()).add(report.nodeid)


def pytest_terminal_summary(terminalreporter):
    if _prebuild is not None:
        terminalreporter.write_line(f"lab images prebuilt: {_prebuild.wait()}")
    if not _tier_seconds:
        return
    parts = [f"{tier} {_tier_seconds[tier]:.0f} s ({len(_tier_tests[tier])} tests)"
             for tier in (*TIERS, "other") if tier in _tier_seconds]
    terminalreporter.write_line(f"tier times (test seconds, summed over workers): "
                                f"{', '.join(parts)}; total {sum(_tier_seconds.values()):.0f} s")


@pytest.fixture(scope="session")
def article_lab(tmp_path_factory):
    """The article layout with default settings (but QUICK_RESYNC), brought up once for
    every test that only needs "the lab": routing checks first, then the chaos campaign,
    load and Hypothesis (test paths run in that order)."""
    with running(article_config(tmp_path_factory.mktemp("article"))) as lab:
        yield lab
