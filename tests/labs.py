"""Helpers for tests that drive real labs through the command line.

Test labs get their own names and address ranges, so running the suite never touches the
lab a user brought up with the shipped ``lab.toml`` (192.168.56.0/24).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from lab import config as config_module
from lab import engines, images
from lab.context import Lab
from lab.paths import PROJECT_ROOT, REPORTS, LabPaths

# The shared test labs start a full resync at once rather than after Redis' 5 s
# repl-diskless-sync-delay (the lab's default, as shipped): no test on them is about that
# delay, and each convergence after a demotion is 5 s shorter. Catalogue and bench runs
# keep the default.
QUICK_RESYNC = "[redis]\nrepl_diskless_sync_delay = 0\n"


def write_config(directory: Path, *, name: str, subnet: int, layout: str = "article",
                 machines: str = "", extra: str = "") -> Path:
    """A lab.toml for a test lab on 192.168.<subnet>.0/24; ``machines`` adds keys to
    [machines], ``extra`` whole sections after the servers."""
    servers = "".join(
        f'\n[[servers]]\nname = "redis{i}"\naddress = "192.168.{subnet}.{10 + i}"\n'
        for i in (1, 2, 3)
    )
    path = directory / f"{name}.toml"
    path.write_text(
        f'[lab]\nname = "{name}"\nlayout = "{layout}"\n'
        f'[machines]\nnetwork = "192.168.{subnet}.0/24"\n{machines}{servers}{extra}'
    )
    return path


# The suite's shared labs (tests/conftest.py's lab groups): each one's settings, written
# by the fixture that brings it up and read by the image prebuild below.
ARTICLE_SUBNET = 60
SPREAD_SUBNET = 57
SPREAD_ENGINE = "valkey-8.1"
INVENTORY_SUBNET = 63


def article_config(directory: Path) -> Path:
    """The article layout with default settings (but QUICK_RESYNC)."""
    return write_config(directory, name="rhl-article", subnet=ARTICLE_SUBNET, extra=QUICK_RESYNC)


def spread_config(directory: Path, engine: str = SPREAD_ENGINE) -> Path:
    """The spread layout as teams run it: servers named in every config and announced by
    name ([machines] hostnames, announce_hostnames), ACL users, TLS where the engine has
    it ([security]), and AOF, each instance's data on a disk of its own ([redis]
    data_disk_mb: what the disk-full test fills): CI's routing checks, its matrix and its
    security and disk tests run on it; the article lab stays as the article had it
    (addresses, one password, plaintext, no persistence)."""
    tls = "" if engines.get(engine).no_tls else "tls = true\n"
    return write_config(directory, name="rhl-e2e", subnet=SPREAD_SUBNET, layout="spread",
                        machines="hostnames = true\nannounce_hostnames = true\n",
                        extra=f'[images]\nengine = "{engine}"\n{QUICK_RESYNC}'
                              'persistence = "aof"\ndata_disk_mb = 64\n'
                              f'[security]\nacl = true\n{tls}')


def inventory_machines_config(directory: Path) -> Path:
    """Bare Vagrant machines that the inventory tests address as SSH hosts."""
    return write_config(directory, name="rhl-inventory-vms", subnet=INVENTORY_SUBNET,
                        machines='image = "bare"\n')


SHARED_LABS: dict[str, Callable[[Path], Path]] = {
    "article": article_config, "e2e": spread_config, "inventory": inventory_machines_config,
    "lifecycle": article_config,  # its own lab, of the article lab's images
}


class ImagePrebuild:
    """The images of the lab groups a run selected, built in the background while the
    unit and browser tiers run (an image not cached takes 25-45 s to build). A lab brought
    up meanwhile waits for it on the image cache's lock; a failed build is only reported
    here: that lab's own ``lab_up`` then builds and fails with the reason."""

    def __init__(self, groups: set[str]):
        self._groups = sorted(g for g in groups if g in SHARED_LABS)
        self.outcome = ""
        self._thread = threading.Thread(target=self._build, name="image-prebuild")

    def start(self) -> ImagePrebuild:
        if self._groups:
            self._thread.start()
        return self

    def _build(self) -> None:
        started = time.monotonic()
        try:
            recipes = {}
            with tempfile.TemporaryDirectory(prefix="rhl-prebuild-") as scratch:
                for group in self._groups:  # read as lab_up reads them; no lab state
                    config = config_module.load(SHARED_LABS[group](Path(scratch)))
                    recipes.update({r.image: r for r in images.recipes(
                        config.engine, config.images.mirror, config.images.suite,
                        config.machines.image)})
            built = images.ensure(tuple(recipes.values()), LabPaths.for_lab("prebuild"))
            self.outcome = (f"{len(built)} of {len(recipes)} built in "
                            f"{time.monotonic() - started:.0f} s" if built
                            else f"all {len(recipes)} cached")
        except Exception as exc:  # reported once, at the end of the run
            self.outcome = f"failed ({type(exc).__name__}: {str(exc).splitlines()[0]})"

    def wait(self, bound_s: float = 600) -> str:
        if self._thread.ident:  # started
            self._thread.join(bound_s)
        return self.outcome


def run_lab(*args: str, config: Path, env: dict | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess:
    """``python -m lab --config CONFIG ARGS``, output captured (and echoed for -s runs)."""
    result = subprocess.run(
        [sys.executable, "-m", "lab", "--config", str(config), *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout, env=env,
    )
    print(result.stdout, result.stderr, sep="\n")
    return result


@dataclass
class RunningLab:
    config_path: Path
    lab: Lab
    up_output: str

    @property
    def password(self) -> str:
        return self.lab.secrets.redis_password

    @property
    def access(self):
        return self.lab.access


@contextmanager
def running(config: Path):
    """A lab brought up from ``config`` for the ``with`` body, then torn down."""
    up = run_lab("up", config=config)
    try:
        assert up.returncode == 0, f"lab_up failed:\n{up.stdout}\n{up.stderr}"
        yield RunningLab(config, Lab.load(config), up.stdout)
    finally:
        down = run_lab("down", config=config)
        assert down.returncode == 0, down.stderr


def status_once_settled(config: Path, bound_s: float = 60) -> subprocess.CompletedProcess:
    """``status`` until it says settled (exit 0) or ``bound_s`` passed: after a fault
    the old master rejoins as a replica, which takes its seconds."""
    status = run_lab("status", config=config)
    deadline = time.monotonic() + bound_s
    while status.returncode != 0 and time.monotonic() < deadline:
        time.sleep(2)
        status = run_lab("status", config=config)
    return status


def docker_lines(*args: str) -> list[str]:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout
    return sorted(line for line in out.split("\n") if line)


def host_footprint(name: str, subnet: int) -> dict[str, list[str]]:
    """What lab ``name`` on 192.168.``subnet``.0/24 could leave behind on the host: its
    containers and network, volumes no container uses, and the iptables rules that name
    its subnet or a bridge or container address nothing owns any more.

    Scoped to the one lab because other labs come and go beside it (``nox -s tests``
    runs two lab groups at once); a rule left by any lab still counts, since a rule
    whose bridge or address is gone belongs to no running lab."""
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    bridges = {f"br-{net_id[:12]}" for net_id in docker_lines("network", "ls", "-q")}
    running = docker_lines("ps", "-q")
    owned = set(docker_lines("inspect", "-f", "{{range .NetworkSettings.Networks}}"
                             "{{.IPAddress}}\n{{end}}", *running)) if running else set()

    def leftover(rule: str) -> bool:
        gone_bridge = any(b not in bridges for b in re.findall(r"\bbr-[0-9a-f]{12}\b", rule))
        gone_address = any(a not in owned
                           for a in re.findall(r"\b(172\.\d+\.\d+\.\d+)/32\b", rule))
        return f"192.168.{subnet}." in rule or gone_bridge or gone_address

    return {
        "containers": [c for c in docker_lines("ps", "-a", "--format", "{{.Names}}")
                       if c.startswith(f"{name}-")],
        "networks": [n for n in docker_lines("network", "ls", "--format", "{{.Name}}")
                     if f"192.168.{subnet}." in n],
        "dangling volumes": docker_lines("volume", "ls", "-q", "--filter", "dangling=true"),
        "iptables": sorted(line.split(" [")[0] for line in rules.splitlines()
                           if line.startswith("-A") and leftover(line)),
    }


def machine_list_written(name: str) -> bool:
    """Whether ``lab_up`` got as far as telling Vagrant about machines."""
    return LabPaths.for_lab(name).machines_json.exists()


@dataclass
class Recorded:
    """A verb that records a run (chaos, replay, load), and where its run landed: tests
    read the run folder, never the log text, to find what a run wrote."""

    process: subprocess.CompletedProcess
    run_dir: Path

    @property
    def returncode(self) -> int:
        return self.process.returncode

    @property
    def stdout(self) -> str:
        return self.process.stdout

    @cached_property
    def results(self) -> dict:
        """results.json as written (the file format, not the typed record)."""
        return json.loads((self.run_dir / "results.json").read_text())

    @property
    def page(self) -> Path:
        return self.run_dir / "index.html"


def recorded(verb: str, *args: str, run: Callable[..., subprocess.CompletedProcess] | None
             = None, **kwargs) -> Recorded:
    """``run(verb, ARGS, --run-id ID)`` (default :func:`run_lab`) with a fresh run id."""
    run_id = f"test-{verb}-{uuid.uuid4().hex[:10]}"
    process = (run or run_lab)(verb, *args, "--run-id", run_id, **kwargs)
    return Recorded(process, REPORTS / run_id)
