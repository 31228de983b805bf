"""``nox -s load``: Locust through HAProxy ports 5000-5005, headless, into reports/.

Locust runs as a child process with ``loadtests/locustfile.py``; the lab's addresses and
ports come from the lab, the password only through the environment. Output, in the run
folder: Locust's HTML report (``locust.html``) and CSVs with full history
(``locust_stats.csv``, ``locust_stats_history.csv``, ``locust_failures.csv``, ...).

:class:`LoadProcess` is also what a chaos scenario uses to run load for its whole
duration (``nox -s chaos -- --with-load``): started before the faults, stopped after the
lab converged; the fault times are written beside Locust's CSVs (``faults.json``) so the
report can mark them on Locust's charts, which Locust itself cannot.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from lab.clients import RouteMap
from lab.context import Lab
from lab.errors import LabError
from lab.paths import PROJECT_ROOT
from lab.runs import new_run_dir, require_up

log = logging.getLogger(__name__)

LOCUSTFILE = PROJECT_ROOT / "loadtests" / "locustfile.py"
_RUN_TIME = re.compile(r"^(?=\d)(\d+h)?(\d+m)?(\d+s?)?$")
MAX_RUN_TIME_S = 3600


@dataclass(frozen=True)
class LoadOptions:
    """What the user can choose; defaults are sized for a 2-core machine."""

    users: int = 20
    spawn_rate: float = 10.0
    run_time: str = "30s"
    processes: int = 1
    read_ratio: float = 0.5
    key_space: int = 10_000
    value_size: int = 64
    pipeline: int = 1
    shards: int | None = None  # send to the first N shards only (None: all); 1 = port 5000
    rate: float = 50.0  # calls per second per user; 0 = as fast as possible (saturation)
    workers: tuple[str, ...] = ()  # servers that each run a Locust worker (master here)
    route: str | None = None  # lab.routes; None: the lab's [clients] route

    def validate(self) -> None:
        problems = []
        if self.users < 1:
            problems.append(f"--users {self.users}: must be at least 1")
        if self.spawn_rate <= 0:
            problems.append(f"--spawn-rate {self.spawn_rate}: must be positive")
        if not _RUN_TIME.match(self.run_time) or not 0 < run_seconds(self.run_time) <= \
                MAX_RUN_TIME_S:
            problems.append(f"--run-time {self.run_time!r}: use e.g. 30s, 5m or 1h "
                            f"(at most {MAX_RUN_TIME_S} s)")
        if not 1 <= self.processes <= 16:
            problems.append(f"--processes {self.processes}: must be 1..16")
        if not 0 <= self.read_ratio <= 1:
            problems.append(f"--read-ratio {self.read_ratio}: must be 0..1")
        if self.rate < 0:
            problems.append(f"--rate {self.rate}: must be 0 (unpaced) or more")
        if self.key_space < 1 or self.value_size < 1 or not 1 <= self.pipeline <= 1000:
            problems.append("--key-space, --value-size must be positive, --pipeline 1..1000")
        if self.workers and self.processes > 1:
            problems.append("--workers and --processes exclude each other: one worker per "
                            "named host, or processes on this machine")
        if problems:
            raise LabError("; ".join(problems))


def run_seconds(text: str) -> int:
    units = {"h": 3600, "m": 60, "s": 1}
    total = 0
    for number, unit in re.findall(r"(\d+)([hms]?)", text):
        total += int(number) * units[unit or "s"]
    return total


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LoadProcess:
    """A headless Locust child process writing into ``out_dir``."""

    def __init__(self, lab: Lab, options: LoadOptions, out_dir: Path) -> None:
        options.validate()
        self.lab = lab
        self.options = options
        self.route = lab.config.clients_for(options.route).route
        self.out_dir = out_dir
        self.process: subprocess.Popen | None = None
        self.started = 0.0
        self._cpu_before = 0.0

    def lab_arguments(self) -> list[str]:
        """The locustfile's own options (workers get them too)."""
        o, lab = self.options, self.lab
        return [
            "--lab-routes", RouteMap.of(lab.topology, self.route).to_json(),
            "--lab-shards", str(o.shards or len(lab.topology.shards)),
            "--lab-read-ratio", str(o.read_ratio), "--lab-key-space", str(o.key_space),
            "--lab-value-size", str(o.value_size), "--lab-pipeline", str(o.pipeline),
            "--lab-rate", str(o.rate),
        ]

    def command(self, master_bind: str | None = None) -> list[str]:
        o = self.options
        cmd = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "-u", str(o.users), "-r", str(o.spawn_rate), "-t", o.run_time,
            "--stop-timeout", "5", "--exit-code-on-error", "0", "--only-summary",
            "--csv", str(self.out_dir / "locust"), "--csv-full-history",
            "--html", str(self.out_dir / "locust.html"), *self.lab_arguments(),
        ]
        if o.processes > 1:
            # Locust's own master for its processes would listen on every interface at
            # 5557: on loopback and a free port instead, so that it reaches nothing
            # outside and two runs at once (or a distributed master) never collide.
            port = _free_loopback_port()
            cmd += ["--processes", str(o.processes), "--master-bind-host", "127.0.0.1",
                    "--master-bind-port", str(port), "--master-port", str(port)]
        if master_bind:
            from lab.load_workers import MASTER_PORT

            cmd += ["--master", "--expect-workers", str(len(o.workers)),
                    "--expect-workers-max-wait", "120", "--master-bind-host", master_bind,
                    "--master-bind-port", str(MASTER_PORT)]
        return cmd

    def start(self, master_bind: str | None = None) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        access = self.lab.access_as("app")
        env = dict(os.environ, LAB_REDIS_PASSWORD=access.password or "",
                   LAB_REDIS_USER=access.username or "",
                   **(access.tls.environment() if access.tls else {}))
        self._cpu_before = _children_cpu()
        self.started = time.time()
        log = (self.out_dir / "locust.log").open("w")
        self.process = subprocess.Popen(self.command(master_bind), env=env, cwd=self.out_dir,
                                        stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return self.process.returncode

    def stop(self) -> None:
        """Ask Locust to quit. SIGINT, not SIGTERM: only on SIGINT does Locust write its
        HTML report on the way out (and it forwards SIGINT to its --processes workers)."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def cpu_seconds(self) -> float:
        """User + system CPU the Locust processes used (valid once they exited)."""
        return round(_children_cpu() - self._cpu_before, 2)

    def finish(self, events: list[dict]) -> dict:
        """After a chaos scenario (stopped): the faults beside Locust's CSVs, and what the
        run record keeps of this load."""
        write_faults(self.out_dir, self.started, events)
        return {"dir": self.out_dir.name, "report": f"{self.out_dir.name}/locust.html",
                "summary": summary(self.out_dir)}


def scenario_load(lab: Lab, options: LoadOptions):
    """A chaos run's load starter: Locust for one scenario, into ``out_dir``, for at most
    ``bound_s`` seconds (it is stopped when the scenario ends)."""
    def start(out_dir: Path, bound_s: int) -> LoadProcess:
        process = LoadProcess(lab, replace(options, run_time=f"{bound_s}s"), out_dir)
        process.start()
        return process
    return start


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summary(out_dir: Path) -> list[dict]:
    """Locust's aggregated rows, one per request name (``SET :5000``, ...)."""
    path = out_dir / "locust_stats.csv"
    if not path.exists():
        return []
    with path.open() as f:
        return [row for row in csv.DictReader(f) if row["Name"] != "Aggregated"]


def write_faults(out_dir: Path, started: float, events: list[dict]) -> None:
    """Fault windows beside Locust's stats history, on its clock (epoch seconds)."""
    (out_dir / "faults.json").write_text(json.dumps({
        "locust_started": started,
        "faults": [{k: e.get(k) for k in ("t", "phase", "fault", "id", "target")}
                   for e in events if e["type"] == "fault"],
    }, indent=2) + "\n")


def _distributed(lab: Lab, load: LoadProcess, run_dir: Path) -> int:
    """The master here, a worker on each named server; workers stopped on every path."""
    from lab import load_workers

    servers = [lab.topology.server(name) for name in load.options.workers]
    machines_backend = lab.machines()
    machines = [lab.connect(s, machines_backend) for s in servers]
    try:
        data, digest = load_workers.payload(load_workers.wheelhouse(lab.paths))
        for machine in machines:
            if load_workers.install(machine, data, digest):
                log.info(f"load: {machine.server.name}: Locust installed for a worker")
        master = load_workers.controller_address(servers[0].address)
        load.start(master_bind=master)
        for machine in machines:
            load_workers.start(machine, master, lab.access_as("app"),
                               load.lab_arguments())
        return load.wait(timeout=run_seconds(load.options.run_time) + 180)
    finally:
        load.stop()
        for machine in machines:
            try:
                load_workers.stop(machine, run_dir)
            finally:
                machine.close()


def run(lab: Lab, options: LoadOptions, run_id: str | None = None) -> int:
    """``nox -s load``: one headless run; 0 when every port served requests."""
    options.validate()
    route = lab.config.clients_for(options.route).route
    require_up(lab)
    unknown = [w for w in options.workers if w not in {s.name for s in lab.config.servers}]
    if unknown:
        raise LabError(f"--workers {','.join(unknown)}: not a server of lab "
                       f"{lab.config.name} ({', '.join(s.name for s in lab.config.servers)})")
    run_id, run_dir = new_run_dir("load", run_id)
    load = LoadProcess(lab, options, run_dir)
    where = f"workers on {', '.join(options.workers)}" if options.workers else \
        f"{options.processes} process(es) here"
    entry = "through redis-py's Sentinel client" if route == "sentinel-client" else \
        f"through {route} on {', '.join(s.address for s in lab.config.servers)}"
    log.info(f"load: {options.users} users, {where}, {options.run_time} {entry}")
    if options.workers:
        code = _distributed(lab, load, run_dir)
    else:
        load.start()
        code = load.wait(timeout=run_seconds(options.run_time) + 60)
    rows = summary(run_dir)
    cpu = load.cpu_seconds()
    log.info(f"{'name':<14} {'requests':>9} {'failures':>9} {'req/s':>9} {'median ms':>10} "
        f"{'p99 ms':>8}")
    for row in rows:
        log.info(f"{row['Name']:<14} {row['Request Count']:>9} {row['Failure Count']:>9} "
            f"{float(row['Requests/s']):>9.1f} {row['Median Response Time']:>10} "
            f"{row['99%']:>8}")
    total = sum(float(r["Requests/s"]) for r in rows)
    log.info(f"load: {total:.0f} req/s in all; Locust used {cpu:.1f} s of CPU "
        f"(exit {code}); report: {run_dir / 'locust.html'}")
    served = {r["Name"].split(" ")[-1] for r in rows if int(r["Request Count"]) > 0}
    expected = set(request_places(lab, route))
    if code != 0 or not expected <= served:
        log.info(f"load: ports without traffic: {sorted(expected - served)}")
        return 1
    return 0


def request_places(lab: Lab, route: str) -> list[str]:
    """Where the locustfile's request names say each call went, per shard and kind:
    ``:5000`` (an HAProxy port) or ``shard1`` (the Sentinel client)."""
    routes = RouteMap.of(lab.topology, route)
    return list(dict.fromkeys(routes.place(shard.number, kind) for shard in routes.shards
                              for kind in ("master", "replicas")))
