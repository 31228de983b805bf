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
from tests.labs import running, write_config

ARTICLE_SUBNET = 60


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/unit/" in str(item.path):
            if not item.get_closest_marker("browser"):
                item.add_marker(pytest.mark.unit)
        else:
            item.add_marker(pytest.mark.lab)
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


@pytest.fixture(scope="session")
def article_lab(tmp_path_factory):
    """The article layout with default settings, brought up once for every test that
    only needs "the lab": routing checks first, then the chaos campaign, load and
    Hypothesis (test paths run in that order)."""
    config = write_config(tmp_path_factory.mktemp("article"), name="rhl-article",
                          subnet=ARTICLE_SUBNET)
    with running(config) as lab:
        yield lab
