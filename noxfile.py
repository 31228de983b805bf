"""Nox sessions: the lab's user interface.

    nox -s lab_up chaos     # three servers up, chaos campaign run, report written
    nox -s status           # what is running, and is it settled?
    nox -s report           # rebuild the HTML reports from the raw data
    nox -s heal             # remove fault leftovers after a crashed run
    nox -s judge -- RUN_ID  # re-judge a finished run from its histories alone
    nox -s matrix -- --engines redis-7.0,valkey-8.1   # the same chaos on each engine
    nox -s matrix -- --routes haproxy,haproxy-sentinel,sentinel-client   # ... each route
    nox -s lab_down         # remove everything the lab created
    nox -s tests            # the suite (`-- -m unit`: seconds, no Docker, no browser)
    nox -s docs             # the documentation site, into reports/docs/ (`-- --check`)
    nox -s lint bench

Every lab session runs ``python -m lab VERB`` from one shared virtualenv
(``.nox/_lab``), created on first use and refreshed when ``pyproject.toml`` changes: the
sessions act on the same lab, so they need the same code, installed once. A verb's exit
status passes through: 1 means the lab is unhealthy, 2 means bad input or a host that is
not ready (the one-line message says what to fix).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
LAB_VENV = ROOT / ".nox" / "_lab"

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "none"


def _lab_python(session: nox.Session) -> str:
    """The shared virtualenv's python, (re)installing the project when its metadata changed."""
    python = LAB_VENV / "bin" / "python"
    stamp = LAB_VENV / ".installed-from"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not python.exists() or not stamp.exists() or stamp.read_text() != want:
        session.log(f"installing redis-ha-lab into {LAB_VENV.relative_to(ROOT)}")
        session.run(sys.executable, "-m", "venv", "--clear", str(LAB_VENV), external=True)
        session.run(str(python), "-m", "pip", "install", "-q", "--upgrade", "pip", external=True)
        session.run(str(python), "-m", "pip", "install", "-q", "-e",
                    f"{ROOT}[test,lint,docs]", external=True)
        stamp.write_text(want)
    return str(python)


def _lab(session: nox.Session, *args: str) -> None:
    """Run ``python -m lab ARGS``; exit 2 (bad input) passes through nox unchanged."""
    python = _lab_python(session)
    code = subprocess.run([python, "-m", "lab", *args], cwd=ROOT, env=os.environ.copy()).returncode
    if code == 2:
        raise SystemExit(2)  # nox would turn any failure into 1
    if code != 0:
        session.error(f"`python -m lab {' '.join(args)}` exited {code}")


@nox.session
def lab_up(session: nox.Session) -> None:
    """Bring the lab up: machines, images, provisioning, then wait until settled."""
    _lab(session, "up", *session.posargs)


@nox.session
def lab_down(session: nox.Session) -> None:
    """Remove the lab's machines, containers and networks (`-- --images`: also the images)."""
    _lab(session, "down", *session.posargs)


@nox.session
def status(session: nox.Session) -> None:
    """Print every instance, Sentinel and HAProxy backend; fail when not settled."""
    _lab(session, "status", *session.posargs)


@nox.session
def chaos(session: nox.Session) -> None:
    """Run the chaos campaign against the running lab (`-- --help` for the options)."""
    _lab(session, "chaos", *session.posargs)


@nox.session
def load(session: nox.Session) -> None:
    """Locust through HAProxy ports 5000-5005, headless (`-- --users N --run-time 1m`)."""
    _lab(session, "load", *session.posargs)


@nox.session
def heal(session: nox.Session) -> None:
    """Remove every fault leftover (tagged iptables rules, paused or stopped containers)."""
    _lab(session, "heal", *session.posargs)


@nox.session
def report(session: nox.Session) -> None:
    """(Re)build the HTML reports from raw data (`-- RUN_ID ...`, `-- --check`)."""
    _lab(session, "report", *session.posargs)


@nox.session
def judge(session: nox.Session) -> None:
    """Judge finished runs again from their histories alone (`-- RUN_ID ...`)."""
    _lab(session, "judge", *session.posargs)


@nox.session
def matrix(session: nox.Session) -> None:
    """The same scenarios on each variant, one page (`-- --engines A,B`, `--routes A,B`,
    `--acks plain,wait:1`, `--overlays base,F.toml`, `-k ...`)."""
    _lab(session, "matrix", *session.posargs)


@nox.session
def workshop(session: nox.Session) -> None:
    """List the exercises; `-- NAME [--auto] [--bind ADDR]` runs one with the live page."""
    _lab(session, "workshop", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite: unit, browser, then real labs (`-- -m unit` for seconds).

    One process by default. `-- -n 2 --dist loadgroup` runs two lab groups side by side
    (tests/conftest.py's ``lab_group``): on this project's 2-core machine the labs then
    starve each other's timing and real checks fail (docs/development.md, Tests)."""
    python = _lab_python(session)
    code = subprocess.run([python, "-m", "pytest", *session.posargs], cwd=ROOT).returncode
    if code == 5:
        session.error("pytest collected no tests: that is a failure here")
    if code != 0:
        session.error(f"pytest exited {code}")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into reports/docs/ (`-- --check`: open every page)."""
    _lab(session, "docs", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the package, the tests and this file."""
    python = _lab_python(session)
    session.run(python, "-m", "ruff", "check", "lab", "tests", "noxfile.py", external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Lifecycle, chaos vs the native floor, the Hypothesis search, load, report:
    reports/bench.json (`-- --what ...`, `-- --help`)."""
    _lab(session, "bench", *session.posargs)
