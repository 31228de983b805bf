"""Run one scenario against the running lab, and judge its history.

1. heal every leftover, wait until settled (chaos never starts on an unsettled lab);
2. start the observers and the workload (and Locust, with ``--with-load``), let the
   workload run a moment;
3. inject the scenario's faults, hold them;
4. heal them (in reverse, on every exit path: exceptions, Ctrl-C, timeouts), then the
   safety-net heal of everything tagged;
5. wait until settled again (the convergence bound), with the workload still running;
6. read back every key the workload wrote, from each shard's final master;
7. judge: :mod:`lab.chaos.checkers` over the history, then the scenario's expectations.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import redis

from lab import probe, settle, versions
from lab.chaos import checkers, history, nemesis
from lab.chaos.history import History
from lab.chaos.nemesis import Applied, FaultSkipped, Nemesis
from lab.chaos.observers import Observers
from lab.chaos.scenarios import Scenario, Verdict, judge
from lab.chaos.workload import Workload, WorkloadSettings
from lab.context import Lab
from lab.errors import NotSettledError
from lab.load import LoadOptions, LoadProcess, summary, write_faults
from lab.remote import Machine

WARMUP_S = 2.0
CONVERGENCE_BOUND_S = 60.0
Log = Callable[[str], None]


class ChaosSession:
    """The lab plus open SSH connections, shared by every scenario of a run."""

    def __init__(self, lab: Lab, run_dir: Path, run_id: str, log: Log = print,
                 load: LoadOptions | None = None) -> None:
        self.lab = lab
        self.load = load  # Locust for each scenario's whole duration, when set
        self.run_dir = run_dir
        self.run_id = run_id
        self.log = log
        machines = lab.machines()
        # Server name -> the host container that *is* the machine (Vagrant's docker provider).
        machine_containers = {s.name: f"{lab.config.name}-{s.name}" for s in lab.config.servers} \
            if lab.machines_are_containers else {}
        self.nemesis = Nemesis(
            lab.topology, lab.connect_all(machines), lab.secrets.redis_password,
            lab.config.machines.network, machine_containers,
            reconnect=lambda name: lab.connect(lab.topology.server(name), machines),
            adopted=lab.config.adopted, haproxy_port=lab.config.haproxy.first_port)

    @property
    def machines(self) -> list[Machine]:
        """The current SSH connections (a restarted machine gets a new one)."""
        return list(self.nemesis.machines.values())

    def versions(self) -> dict[str, str]:
        """Redis, HAProxy, Docker, compose and OS versions, as the machines report them."""
        return versions.collect(self.lab.topology, self.nemesis.machines,
                                self.lab.secrets.redis_password, self.nemesis.container)

    def close(self) -> None:
        try:
            nemesis.heal_everything(self.machines)
        finally:
            for machine in self.machines:
                machine.close()

    def reset(self, timeout_s: float = CONVERGENCE_BOUND_S) -> float:
        """Heal everything and wait until settled; return the seconds it took.

        Between scenarios and examples (never while measuring convergence) a returning
        old master is demoted at once, as Sentinel would do after about ten seconds.
        """
        started = time.monotonic()
        nemesis.heal_everything(self.machines)
        self._demote_stale_masters()
        settle.wait(self.lab.config, self.lab.topology, self.lab.secrets.redis_password,
                    timeout_s=timeout_s, log=self.log)
        return time.monotonic() - started

    def _demote_stale_masters(self) -> None:
        password = self.lab.secrets.redis_password
        for shard in self.lab.topology.shards:
            try:
                named = self.nemesis.master_of(shard.number)
            except RuntimeError:
                continue
            for instance in shard.instances:
                if instance == named:
                    continue
                try:
                    with probe.client(*instance.address, password=password, timeout=1) as r:
                        if r.info("replication").get("role") == "master":
                            r.execute_command("REPLICAOF", *named.address)
                except redis.RedisError:
                    continue  # unreachable: settle will say so

    def wait_converged(self) -> dict:
        """Wait (within the bound) until settled after a heal; how long, and what is not."""
        started = time.monotonic()
        try:
            snapshot = settle.wait(self.lab.config, self.lab.topology,
                                   self.lab.secrets.redis_password,
                                   timeout_s=CONVERGENCE_BOUND_S, log=lambda _: None)
        except NotSettledError as exc:
            return {"settled": False, "seconds": round(time.monotonic() - started, 2),
                    "problems": str(exc).splitlines()[1:], "masters": {}}
        return {"settled": True, "seconds": round(time.monotonic() - started, 2),
                "problems": [], "masters": {str(v.instance.shard): v.instance.label
                                            for v in snapshot.instances if v.role == "master"}}

    def compare_datasets(self) -> dict:
        """Once the workload has stopped and replicas caught up: equal datasets per shard?"""
        try:
            settle.wait(self.lab.config, self.lab.topology, self.lab.secrets.redis_password,
                        timeout_s=15, log=lambda _: None)
        except NotSettledError:
            return {"datasets": {}, "datasets_equal": False}
        datasets = self._datasets()
        equal = all(len(set(counts.values())) == 1 for counts in datasets.values())
        return {"datasets": datasets, "datasets_equal": equal}

    def _datasets(self) -> dict[str, dict[str, int]]:
        """Per shard, each instance's count of this run's keys (equal when converged)."""
        counts: dict[str, dict[str, int]] = {}
        for instance in self.lab.topology.instances:
            with probe.client(*instance.address, password=self.lab.secrets.redis_password,
                              timeout=5) as r:
                n = sum(1 for _ in r.scan_iter(match=f"{self.run_id}:*", count=1000))
            counts.setdefault(str(instance.shard), {})[instance.label] = n
        return counts

    def read_back(self, h: History) -> None:
        """Record, per shard, which written keys its final master holds."""
        keys: dict[int, list[str]] = {}
        for e in history.read(h.path):
            if e["type"] == "op" and e["op"] == "write":
                keys.setdefault(e["shard"], []).append(e["key"])
        for shard in self.lab.topology.shards:
            wanted = keys.get(shard.number, [])
            try:
                master = self.nemesis.master_of(shard.number)
                with probe.client(*master.address, password=self.lab.secrets.redis_password,
                                  timeout=5) as r:
                    present = []
                    for i in range(0, len(wanted), 500):
                        chunk = wanted[i:i + 500]
                        present += [k for k, v in zip(chunk, r.mget(chunk), strict=True)
                                    if v is not None]
                h.record("readback", shard=shard.number, master=master.label,
                         written=len(wanted), present=present)
            except (redis.RedisError, RuntimeError) as exc:
                h.record("readback", shard=shard.number, master=None, written=len(wanted),
                         present=None, error=str(exc))


def run_scenario(session: ChaosSession, scenario: Scenario,
                 workload_settings: WorkloadSettings | None = None) -> dict:
    lab = session.lab
    path = session.run_dir / f"{scenario.name}.jsonl"
    path.unlink(missing_ok=True)
    log = session.log
    log(f"chaos: {scenario.name}: resetting to settled")
    reset_s = session.reset()
    applied: list[Applied] = []
    with History(path) as h:
        h.record("meta", scenario=scenario.name, description=scenario.description,
                 layout=lab.config.layout, run_id=session.run_id,
                 settings={"sentinel": vars(lab.config.sentinel), "redis": vars(lab.config.redis)},
                 shards={s.number: s.monitor_name for s in lab.topology.shards})
        locust = _start_load(session, scenario)
        observers = Observers(lab.config, lab.topology, lab.secrets.redis_password, h)
        workload = Workload(lab.topology, lab.secrets.redis_password, h,
                            f"{session.run_id}:{scenario.name}", workload_settings)
        observers.start()
        workload.start()
        try:
            skipped = _inject_and_hold(session, scenario, h, applied)
            convergence = session.wait_converged()
            time.sleep(1.0)  # writes through the converged lab, for the outage's end
        finally:
            workload.stop()
            observers.stop()
            if locust:
                locust.stop()
        if convergence["settled"]:
            convergence.update(session.compare_datasets())
        h.record("convergence", **convergence)
        session.read_back(h)

    events = history.read(path)
    if locust:
        write_faults(locust.out_dir, locust.started, events)
    names = {s.number: s.monitor_name for s in lab.topology.shards}
    measures = checkers.measure(events, list(names), names)
    target = measures[scenario.target_shard]
    if skipped:
        verdict = Verdict("skipped", findings=[f"skipped: {skipped}"])
    else:
        verdict = judge(scenario.expect(lab.config), target, convergence,
                        election_retry_s=lab.config.sentinel.failover_timeout_ms / 1000)
    log(f"chaos: {scenario.name}: {verdict.status.upper()}  " + _headline(target))
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "status": verdict.status,
        "checks": verdict.checks,
        "findings": verdict.findings,
        "target_shard": scenario.target_shard,
        "faults": [{"fault": f.kind, "target": f.target} for f in applied],
        "measures": {str(k): v.as_dict() for k, v in measures.items()},
        "convergence": {k: convergence.get(k) for k in ("settled", "seconds", "problems",
                                                        "datasets_equal")},
        "reset_s": round(reset_s, 2),
        "history": path.name,
        "load": None if not locust else {
            "dir": locust.out_dir.name, "report": f"{locust.out_dir.name}/locust.html",
            "summary": summary(locust.out_dir)},
    }


def _inject_and_hold(session: ChaosSession, scenario: Scenario, h: History,
                     applied: list[Applied]) -> str:
    """Inject the faults in order, hold, heal in reverse on every exit path.

    Returns the reason when a fault cannot run here (the scenario is then skipped)."""
    log = session.log
    try:
        time.sleep(WARMUP_S)
        for step in scenario.faults:
            fault = session.nemesis.inject(step.fault, **step.params)
            applied.append(fault)
            h.record("fault", t=fault.at, phase="inject", id=fault.id, fault=fault.kind,
                     target=fault.target, injected_by=time.time())
            log(f"chaos: {scenario.name}: injected {fault.kind} {fault.target}")
        time.sleep(scenario.hold_s)
        return ""
    except FaultSkipped as exc:
        h.record("fault", phase="skipped", fault=scenario.faults[len(applied)].fault,
                 reason=str(exc))
        return str(exc)
    finally:
        for fault in reversed(applied):
            healing = time.time()  # the heal starts now; the fault window ends here
            session.nemesis.heal(fault)
            h.record("fault", t=healing, phase="heal", id=fault.id, fault=fault.kind)
        nemesis.heal_everything(session.machines)
        if applied:
            log(f"chaos: {scenario.name}: healed")


def _start_load(session: ChaosSession, scenario: Scenario) -> LoadProcess | None:
    """Locust for the scenario's whole duration, bounded by a run time it never reaches."""
    if not session.load:
        return None
    bound = int(WARMUP_S + scenario.hold_s + CONVERGENCE_BOUND_S + 60)
    options = replace(session.load, run_time=f"{bound}s")
    locust = LoadProcess(session.lab, options, session.run_dir / f"{scenario.name}-load")
    locust.start()
    time.sleep(2)  # users spawned before the fault
    return locust


def _headline(m: checkers.ShardMeasures) -> str:
    parts = [f"failover {m.failover_s} s" if m.failover_s is not None else "no failover",
             f"outage {m.outage_s} s", f"lost {m.lost}", f"indeterminate {m.indeterminate}",
             f"split brain {max(m.split_brain_roles_s, m.split_brain_haproxy_s):.1f} s"]
    return ", ".join(parts)
