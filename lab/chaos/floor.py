"""The floor: what a failover costs with no lab around it, measured like the lab's.

One shard of native ``redis-server``, ``redis-sentinel`` and HAProxy (Debian's packages)
on loopback, configured by the lab's own templates with the lab's settings (rendered by
:func:`lab.render.render` for a one-server lab on 127.0.0.2), attacked the same way
(SIGKILL of the master, no restart), watched by the same observers, written to by the
same retry-free workload, and measured by the same checkers. The lab's number divided by
this one says what the lab itself adds (machines, Docker, SSH, the controller's load).

Used by ``nox -s bench -- --what chaos``; everything runs on loopback and stops by itself.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from lab import config as config_module
from lab import render, settle, topology
from lab.access import Access
from lab.chaos import checkers, history
from lab.chaos.history import History
from lab.chaos.observers import Observers
from lab.chaos.workload import Workload
from lab.errors import LabError, NotSettledError

__all__ = ["FloorRun", "available", "measure"]

log = logging.getLogger(__name__)

ADDRESS = "127.0.0.2"  # the loopback "server"; 127.0.0.1 stays free for anything else
BINARIES = ("redis-server", "redis-sentinel", "haproxy")
PASSWORD = "floor-" + "x" * 26
ACCESS = Access(PASSWORD)
WARMUP_S, HOLD_S = 2.0, 8.0
READY_BOUND_S = 60.0


@dataclass
class FloorRun:
    failover_s: float | None  # kill -> first +switch-master
    writes_resumed_s: float | None  # kill -> first write through HAProxy after it
    phases: dict[str, float]  # kill -> each step of the failover (where the time goes)
    # The old master started again after the hold -> the shard settled (one master, the
    # old one its replica, every Sentinel and HAProxy agreeing): Redis's own convergence.
    convergence_s: float | None = None


def available() -> str:
    """"" when the native binaries are here, else what to install."""
    missing = [b for b in BINARIES if not shutil.which(b)]
    return f"apt-get install redis-server redis-sentinel haproxy (missing: {', '.join(missing)})" \
        if missing else ""


def loopback_config(settings: dict) -> config_module.LabConfig:
    """The lab's config with ``settings`` (TOML tables), on one loopback server with
    ports of its own (nothing of a lab, or of a system Redis, is touched)."""
    raw = {**settings,
           "redis": {**settings.get("redis", {}), "master_port": 16379},
           "sentinel": {**settings.get("sentinel", {}), "port": 36379},
           "haproxy": {**settings.get("haproxy", {}), "first_port": 15000,
                       "stats_port": 18404},
           "machines": {"network": "127.0.0.0/8"},
           "servers": [{"name": f"loop{i}", "address": f"127.0.0.{i + 1}"} for i in (1, 2, 3)]}
    cfg = config_module.from_dict(raw, source="floor")
    return replace(cfg, servers=cfg.servers[:1])  # one server: one shard, all its parts


def measure(settings: dict, repeat: int, directory: Path | None = None) -> list[FloorRun]:
    """``repeat`` kills of a fresh native shard's master, each measured from its history."""
    missing = available()
    if missing:
        raise LabError(f"the floor needs native binaries: {missing}")
    cfg = loopback_config(settings)
    topo = topology.build(cfg)
    runs = []
    for i in range(1, repeat + 1):
        with tempfile.TemporaryDirectory(prefix="rhl-floor-") as tmp, \
                _shard(cfg, topo, Path(tmp)) as shard:
            path = (directory or Path(tmp)) / f"floor-{i}.jsonl"
            run = _kill_and_measure(cfg, topo, shard.pid(shard.master), path)
            run.convergence_s = _restart_and_settle(cfg, topo, shard)
            runs.append(run)
        log.info(f"floor {i}/{repeat}: writes resumed after {run.writes_resumed_s} s, "
                 f"settled {run.convergence_s} s after the old master returned")
    return runs


class _NativeShard:
    """The shard's processes by service, and how to start each one (again)."""

    def __init__(self, master: str) -> None:
        self.master = master  # the initial master's service
        self.processes: dict[str, subprocess.Popen] = {}
        self.commands: dict[str, tuple[list[str], Path]] = {}

    def start(self, service: str) -> None:
        command, work = self.commands[service]
        with (work / "log").open("a") as out:
            self.processes[service] = subprocess.Popen(command, stdout=out,
                                                       stderr=subprocess.STDOUT,
                                                       start_new_session=True)

    def pid(self, service: str) -> int:
        return self.processes[service].pid


@contextmanager
def _shard(cfg, topo, tmp: Path):
    """The shard's processes, started from the lab's rendered configs, settled; killed
    (all of them) on the way out."""
    [bundle] = render.render(cfg, topo, PASSWORD, render.Images("native", "native"))
    shard = _NativeShard(topo.shard(1).initial_master.service)
    processes = shard.processes
    try:
        for f in bundle.files:
            if not f.path.startswith("conf/"):
                continue
            service = Path(f.path).stem
            work = tmp / service
            work.mkdir()
            conf = work / Path(f.path).name
            conf.write_text(f.content.replace(f"bind {ADDRESS} 127.0.0.1", f"bind {ADDRESS}")
                            .replace("dir /data", f"dir {work}"))
            command = ["haproxy", "-db", "-f", str(conf)] if service == "haproxy" else \
                ["redis-sentinel" if service.startswith("sentinel") else "redis-server",
                 str(conf)]
            shard.commands[service] = (command, work)
            shard.start(service)
        try:
            settle.wait(cfg, topo, ACCESS, timeout_s=READY_BOUND_S, progress=False,
                        interval_s=0.5)
        except NotSettledError as exc:
            raise LabError(f"the native floor shard did not settle: {exc}") from None
        yield shard
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _restart_and_settle(cfg, topo, shard: _NativeShard) -> float | None:
    """Start the killed master again; seconds until the shard settled (None: not within
    the bound). Polled every 0.1 s: the floor is what Redis needs, not our polling."""
    started = time.monotonic()
    shard.start(shard.master)
    try:
        settle.wait(cfg, topo, ACCESS, timeout_s=READY_BOUND_S, progress=False,
                    interval_s=0.1)
    except NotSettledError:
        return None
    return round(time.monotonic() - started, 2)


def _kill_and_measure(cfg, topo, master_pid: int, path: Path) -> FloorRun:
    shard = topo.shard(1)
    with History(path) as h:
        h.record("meta", label="floor")
        observers = Observers(cfg, topo, ACCESS, h)
        workload = Workload(topo, ACCESS, h, f"floor:{path.stem}")
        observers.start()
        workload.start()
        try:
            time.sleep(WARMUP_S)
            at = time.time()
            os.kill(master_pid, signal.SIGKILL)
            h.record("fault", t=at, phase="inject", id="kill", fault="crash-master",
                     target={"instance": shard.initial_master.label})
            time.sleep(HOLD_S)
            h.record("fault", phase="heal", id="kill", fault="crash-master")
        finally:
            workload.stop()
            observers.stop()
    events = history.read(path)
    m = checkers.measure(events, [1], {1: shard.monitor_name})[1]
    return FloorRun(m.failover_s, m.writes_resumed_s,
                    checkers.failover_phases(events, at, shard.master_backend))
