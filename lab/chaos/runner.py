"""Run one scenario against the running lab, and judge its history.

1. heal every leftover, wait until settled (chaos never starts on an unsettled lab);
2. record what the verdict will need (``meta``: the scenario's expectations for these
   settings), start the observers and the workload (and load, when the session has a
   load starter), let the workload run a moment;
3. inject the scenario's faults, hold them;
4. heal them (in reverse, on every exit path: exceptions, Ctrl-C, timeouts), then the
   safety-net heal of everything tagged;
5. wait until settled again (the convergence bound), with the workload still running;
   compare the datasets; record both (``convergence``);
6. read back every key the workload wrote, from each shard's final master (``readback``),
   and every instance's ACL LOG (``acl-log``, read at the start too);
7. judge the closed history (:mod:`lab.chaos.judge`): the same function ``judge`` runs
   later on the files.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import redis

from lab import leftovers, masters, probe, settle, versions
from lab.chaos import acl_log, faults, history, sync_stats
from lab.chaos.faults import Applied, FaultSkipped
from lab.chaos.history import History
from lab.chaos.judge import Judged, judge_history
from lab.chaos.nemesis import Nemesis
from lab.chaos.observers import Observers
from lab.chaos.phases import Phases
from lab.chaos.record import Convergence, ScenarioResult
from lab.chaos.scenarios import Expect, Scenario, fault_params
from lab.chaos.workload import Workload, WorkloadSettings
from lab.config import SloSettings
from lab.context import Lab
from lab.errors import NotSettledError
from lab.remote import Machine
from lab.routes import Clients, master_backend

__all__ = ["CONVERGENCE_BOUND_S", "WAITS", "ChaosSession", "LoadHandle", "LoadStarter",
           "Waits", "run_scenario"]

log = logging.getLogger(__name__)

CONVERGENCE_BOUND_S = 60.0
# How long a container must have run for Docker to restart it, after a crash, at once.
RESTART_BACKOFF_RESET_S = 10


@dataclass(frozen=True)
class Waits:
    """The waits in a recording that are ours, not Redis's (issue 23 measured each one):
    scenarios and Hypothesis examples use the same."""

    # Acknowledged writes before the first fault: every process writes every 10 ms, so a
    # second gives each about a hundred.
    warmup_s: float = 1.0
    # How often "is it settled?" is asked (reset, convergence, datasets). A probe takes a
    # few tens of milliseconds; a convergence is then known within a quarter second.
    poll_s: float = 0.25
    # How long the workload goes on through the converged lab: its writes close the
    # outage.
    settled_writes_s: float = 0.25


WAITS = Waits()


class LoadHandle(Protocol):
    """Load running beside a scenario (Locust, :mod:`lab.load`)."""

    out_dir: Path

    def stop(self) -> None: ...

    def finish(self, events: list[dict]) -> dict:
        """After the scenario: mark the faults on the load's data; what results record."""


# Starts load into a folder for at most the given seconds.
LoadStarter = Callable[[Path, int], LoadHandle]


class ChaosSession:
    """The lab plus open SSH connections, shared by every scenario of a run.

    ``topology`` is what its recordings probe, observe, write to, heal and wait for: the
    whole lab, or in a lane (:meth:`lane`) the shards that lane runs on."""

    def __init__(self, lab: Lab, run_dir: Path, run_id: str,
                 load: LoadStarter | None = None, slo: SloSettings | None = None,
                 clients: Clients | None = None) -> None:
        self.lab = lab
        # The workload's route and acknowledgement mode ([clients], --route, --ack).
        self.clients = clients or lab.config.clients_for()
        self.load = load  # load for each scenario's whole duration, when set
        self.slo = slo or SloSettings()  # the user's thresholds, judged on every history
        self.run_dir = run_dir
        self.run_id = run_id
        self.on_event: Callable[[dict], None] | None = None  # every history event, as written
        self.convergence_bound_s = CONVERGENCE_BOUND_S
        self.topology = lab.topology
        # Set (by a parallel campaign) to stop every lane's waits at once: Ctrl-C.
        self.stop = threading.Event()
        backend = lab.machines()
        self.nemesis = Nemesis(
            lab.topology, lab.connect_all(backend), lab.access,
            lab.config.machines.network, backend,
            reconnect=lambda name: lab.connect(lab.topology.server(name), backend),
            adopted=lab.config.adopted, haproxy_port=lab.config.haproxy.first_port,
            engine=lab.config.engine)

    @property
    def machines(self) -> list[Machine]:
        """The current SSH connections to the servers of ``topology`` (a restarted machine
        gets a new one)."""
        used = {i.server.name for i in self.topology.instances} | \
            {s.server.name for s in self.topology.sentinels}
        return [m for name, m in self.nemesis.machines.items() if name in used]

    def lane(self, shards: tuple[int, ...]) -> ChaosSession:
        """This session seen through shards ``shards`` only: the same connections and
        nemesis, recordings scoped to those shards and their servers. Lanes run at once
        only where no two share a server (:mod:`lab.chaos.schedule`); a lane is never
        closed, the session is."""
        view = copy.copy(self)
        view.topology = self.topology.only(shards)
        return view

    def versions(self) -> dict[str, str]:
        """Redis, HAProxy, Docker, compose and OS versions, as the machines report them."""
        return versions.collect(self.lab.topology, self.nemesis.machines,
                                self.lab.access_as("observer"), self.nemesis.container)

    def inject(self, fault: str, **params) -> Applied:
        """One registered fault, now, outside a scenario (the bench's reset measure);
        :meth:`heal` undoes it, :meth:`close` heals whatever is left."""
        return faults.inject(self.nemesis, fault, **params)

    def heal(self, applied: Applied) -> None:
        self.nemesis.heal(applied)

    def close(self) -> None:
        try:
            self.nemesis.heal_everything()
        finally:
            for machine in self.nemesis.machines.values():
                machine.close()

    def settle(self, timeout_s: float, quiet: bool = True,
               interval_s: float = WAITS.poll_s) -> settle.Snapshot:
        lab = self.lab
        return settle.wait(lab.config, self.topology, lab.access_as("observer"),
                           timeout_s=timeout_s, progress=not quiet, interval_s=interval_s)

    def reset(self, timeout_s: float = CONVERGENCE_BOUND_S) -> float:
        """Heal everything and wait until settled; return the seconds it took.

        Between scenarios and examples (never while measuring convergence) a returning
        old master is demoted at once, as Sentinel would do after about ten seconds.
        """
        started = time.monotonic()
        leftovers.heal_everything(self.machines)
        self._demote_stale_masters()
        self.settle(timeout_s, quiet=False)
        self._outwait_restart_backoff()
        return time.monotonic() - started

    def _outwait_restart_backoff(self) -> None:
        """Wait until every lab container has run ``RESTART_BACKOFF_RESET_S``. Docker
        restarts a crashed container after 100 ms, and doubles that delay each time it
        crashes again within 10 s of its start (moby's restartmanager): crashes in quick
        succession come back ever later, until a lost-data restart turns into a failover.
        Each scenario and example starts from the first delay again."""
        youngest = self.nemesis.youngest_container_s(self.machines)
        if youngest is None or youngest >= RESTART_BACKOFF_RESET_S:
            return
        wait = RESTART_BACKOFF_RESET_S + 1 - youngest  # whole seconds: one more
        log.info(f"chaos: a lab container started {youngest} s ago: waiting {wait} s, until "
                 "Docker's restart backoff starts again from 100 ms")
        self.stop.wait(wait)  # an interrupted run stops waiting

    def _demote_stale_masters(self) -> None:
        access = self.lab.access
        for shard in self.topology.shards:
            try:
                named = self.nemesis.master_of(shard.number)
            except masters.NoMasterError:
                continue
            for instance in shard.instances:
                if instance == named:
                    continue
                try:
                    with probe.client(*instance.address, access, timeout=1) as r:
                        if r.info("replication").get("role") == "master":
                            r.execute_command("REPLICAOF", *named.address)
                except redis.RedisError:
                    continue  # unreachable: settle will say so

    def wait_converged(self, interval_s: float = WAITS.poll_s) -> Convergence:
        """Wait (within the bound) until settled after a heal, polling every
        ``interval_s``; how long it took, and what is not settled."""
        started = time.monotonic()
        try:
            snapshot = self.settle(self.convergence_bound_s, interval_s=interval_s)
        except NotSettledError as exc:
            return Convergence(False, round(time.monotonic() - started, 2),
                               problems=str(exc).splitlines()[1:])
        return Convergence(True, round(time.monotonic() - started, 2),
                           masters={str(v.instance.shard): v.instance.label
                                    for v in snapshot.instances if v.role == "master"})

    def compare_datasets(self, convergence: Convergence, looks: int = 3) -> None:
        """Once the workload has stopped and replicas caught up: equal datasets per shard?

        Counted up to ``looks`` times, settled before each: a write the client gave up on
        can still be held by an HAProxy and reach the master after the workload stopped
        (isolate-server, when the partition heals), landing between one instance's count
        and the next. A late write replicates by the next look; a real divergence stays."""
        for _ in range(looks):
            try:
                self.settle(15)
            except NotSettledError:
                convergence.datasets_equal = False
                return
            convergence.datasets = self._datasets()
            convergence.datasets_equal = all(len(set(counts.values())) == 1
                                             for counts in convergence.datasets.values())
            if convergence.datasets_equal:
                return

    def _datasets(self) -> dict[str, dict[str, int]]:
        """Per shard, each instance's count of this run's keys (equal when converged)."""
        counts: dict[str, dict[str, int]] = {}
        for instance in self.topology.instances:
            with probe.client(*instance.address, self.lab.access,
                              timeout=5) as r:
                # SCAN may return a key twice (while its table is rehashing): count
                # distinct keys, or equal datasets can look unequal by one.
                n = len(set(r.scan_iter(match=f"{self.run_id}:*", count=1000)))
            counts.setdefault(str(instance.shard), {})[instance.label] = n
        return counts

    def read_back(self, h: History) -> None:
        """Record, per shard, which written keys its final master holds, and the final
        list of every list key the workload touched (``readback-lists``)."""
        keys: dict[int, list[str]] = {}
        lists: dict[int, set[str]] = {}
        for e in history.read(h.path):
            if e["type"] == "op" and e["op"] == "write":
                keys.setdefault(e["shard"], []).append(e["key"])
            elif e["type"] == "op" and e["op"] in ("append", "lrange"):
                lists.setdefault(e["shard"], set()).add(e["key"])
        for shard in self.topology.shards:
            wanted = keys.get(shard.number, [])
            listed = sorted(lists.get(shard.number, ()))
            try:
                master = self.nemesis.master_of(shard.number)
                with probe.client(*master.address, self.lab.access,
                                  timeout=5) as r:
                    present = []
                    for i in range(0, len(wanted), 500):
                        chunk = wanted[i:i + 500]
                        present += [k for k, v in zip(chunk, r.mget(chunk), strict=True)
                                    if v is not None]
                    with r.pipeline(transaction=False) as pipe:
                        for key in listed:
                            pipe.lrange(key, 0, -1)
                        final = dict(zip(listed, pipe.execute(), strict=True)) if listed else {}
                h.record("readback", shard=shard.number, master=master.label,
                         written=len(wanted), present=present)
                if listed:
                    h.record("readback-lists", shard=shard.number, master=master.label,
                             lists=final)
            except (redis.RedisError, masters.NoMasterError) as exc:
                h.record("readback", shard=shard.number, master=None, written=len(wanted),
                         present=None, error=str(exc))
                if listed:
                    h.record("readback-lists", shard=shard.number, master=None, lists=None,
                             error=str(exc))


class Recording:
    """One recorded window of chaos: a history, the observers and the workload running,
    faults injected and healed through it, then convergence, datasets and read-back
    recorded, and the whole judged from the closed history. A scenario is one recording;
    so is each Hypothesis example."""

    def __init__(self, session: ChaosSession, path: Path, label: str, expect: Expect,
                 thresholds: dict[str, float], target_shard: int = 1,
                 load: LoadHandle | None = None, waits: Waits = WAITS,
                 phases: Phases | None = None, **meta) -> None:
        lab, topology = session.lab, session.topology
        self.session, self.path, self.label, self.load = session, path, label, load
        # Where the time goes; the caller may have timed the reset into it already.
        self.phases = phases or Phases(session.stop)
        self.waits = waits
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self.history = History(path, listener=session.on_event)
        observer, app = lab.access_as("observer"), lab.access_as("app")
        self.history.record(
            "meta", label=label, layout=lab.config.layout, run_id=session.run_id,
            settings={"sentinel": vars(lab.config.sentinel), "redis": vars(lab.config.redis)},
            shards={s.number: {"monitor": s.monitor_name,
                               "master_backend": master_backend(s, session.clients.route),
                               "sentinels": [x.label for x in topology.sentinels_of(s)]}
                    for s in topology.shards},
            route=session.clients.route, ack=session.clients.ack.name,
            workload=session.clients.workload, target_shard=target_shard,
            expect=expect.to_json(), slo=thresholds,
            election_retry_s=lab.config.sentinel.failover_timeout_ms / 1000,
            # Which ACL user each side connects as (None: the default user).
            users={"observers": observer.username, "workload": app.username}, **meta)
        acl_log.record(self.history, topology, lab.access, "before")
        sync_stats.record(self.history, topology, lab.access, "before")
        self.observers = Observers(lab.config, topology, observer, self.history)
        self.workload = Workload(topology, app, self.history,
                                 f"{session.run_id}:{path.stem}",
                                 WorkloadSettings(route=session.clients.route,
                                                  ack=session.clients.ack,
                                                  kind=session.clients.workload))
        with self.phases.timing("start"):
            self.observers.start()
            self.workload.start()
        self.stopped = False

    def warm_up(self) -> None:
        """Let the workload write a while before the first fault."""
        self.hold(self.waits.warmup_s, phase="warmup")

    def hold(self, seconds: float, phase: str = "hold") -> None:
        """Let the lab run ``seconds`` as it is (a warm-up, a fault held, a wait)."""
        self.phases.sleep(phase, seconds)

    def inject(self, name: str, **params) -> Applied:
        """Inject fault ``name``; its start is when its destructive command was issued."""
        with self.phases.timing("inject"):
            fault = faults.inject(self.session.nemesis, name, **params)
        stage = {"stage": True} if faults.get(name).sets_stage else {}
        self.history.record("fault", t=fault.at, phase="inject", id=fault.id,
                            fault=fault.kind, target=fault.target, params=params,
                            injected_by=time.time(), **stage)
        log.info(f"chaos: {self.label}: injected {fault.kind} {fault.target}")
        return fault

    def skipped(self, name: str, reason: str, params: dict | None = None) -> None:
        self.history.record("fault", phase="skipped", fault=name, reason=reason,
                            params=params or {})

    def heal(self, applied: list[Applied]) -> None:
        """Heal ``applied`` in reverse; each fault's window ends when its heal begins."""
        for fault in reversed(applied):
            healing = time.time()
            with self.phases.timing("heal"):
                self.session.nemesis.heal(fault)
            self.history.record("fault", t=healing, phase="heal", id=fault.id,
                                fault=fault.kind)

    def finish(self) -> tuple[Judged, list[dict]]:
        """Heal what a fault left, wait for convergence with the workload running, stop,
        compare the datasets, read back; judge the closed history: (judged, its events)."""
        phases = self.phases
        try:
            with phases.timing("heal"):
                leftovers.heal_everything(self.session.machines)
            with phases.timing("convergence"):
                convergence = self.session.wait_converged(self.waits.poll_s)
            phases.sleep("settled_writes", self.waits.settled_writes_s)
        finally:
            self.stop()
        if convergence.settled:
            with phases.timing("datasets"):
                self.session.compare_datasets(convergence)
        self.history.record("convergence", **convergence.to_json())
        with phases.timing("readback"):
            self.session.read_back(self.history)
            acl_log.record(self.history, self.session.topology, self.session.lab.access,
                           "after")
            sync_stats.record(self.history, self.session.topology, self.session.lab.access,
                              "after")
        self.history.close()
        with phases.timing("judge"):
            events = history.read(self.path)
            judged = judge_history(events)
        return judged, events

    def abort(self) -> None:
        """On an error or Ctrl-C: stop everything and keep the history as far as it got."""
        self.stop()
        self.history.close()

    def stop(self) -> None:
        """Stop the workload, the observers and the load (safe to call twice)."""
        if self.stopped:
            return
        self.stopped = True
        self.workload.stop()
        self.observers.stop()
        if self.load:
            self.load.stop()


def run_scenario(session: ChaosSession, scenario: Scenario, repetition: int = 1,
                 repetitions: int = 1) -> ScenarioResult:
    """One repetition of ``scenario`` (``repetition`` of ``repetitions``)."""
    label = scenario.name if repetitions == 1 else f"{scenario.name} #{repetition}"
    stem = scenario.name if repetitions == 1 else f"{scenario.name}-{repetition}"
    log.info(f"chaos: {label}: resetting to settled")
    started = time.monotonic()
    phases = Phases(session.stop)
    with phases.timing("reset"):
        reset_s = session.reset()
    with phases.timing("load"):
        load = _start_load(session, stem, scenario.hold_s)
    try:
        recording = Recording(session, session.run_dir / f"{stem}.jsonl", label,
                              scenario.expect(session.lab.config),
                              session.slo.for_scenario(scenario.name),
                              scenario.target_shard, load, phases=phases,
                              scenario=scenario.name, repetition=repetition,
                              description=scenario.description)
    except BaseException:
        if load:  # the recording never started: nothing else would stop Locust
            load.stop()
        raise
    try:
        _inject_and_hold(recording, scenario)
    except BaseException:
        recording.abort()
        raise
    judged, events = recording.finish()
    result = ScenarioResult(
        scenario.name, scenario.description, judged.verdict.status, judged.verdict.checks,
        judged.verdict.findings, judged.target_shard, judged.faults, judged.measures,
        judged.convergence, round(reset_s, 2), recording.path.name,
        load.finish(events) if load else None, seconds=round(time.monotonic() - started, 1),
        repetition=repetition, repetitions=repetitions, slo_breaches=judged.breaches,
        reference=scenario.reference, phases=phases.to_json())
    log.info(f"chaos: {label}: {result.status.upper()}  " + _headline(result))
    for breach in judged.breaches:
        log.info(f"chaos: {label}: SLO breached: {breach.measure} = "
                 f"{'unknown' if breach.value is None else breach.value} > {breach.threshold}")
    return result


def _inject_and_hold(recording: Recording, scenario: Scenario) -> None:
    """Inject the faults in order (or play a saved script), hold, heal in reverse on every
    exit path. A fault that cannot run here is recorded as skipped (the judge then skips
    the scenario)."""
    applied: list[Applied] = []
    steps = scenario.script or tuple({"rule": "inject", "kind": s.fault, **s.params}
                                     for s in scenario.faults)
    step: dict = {}
    try:
        recording.warm_up()
        for step in steps:
            args = fault_params(step)
            if step["rule"] == "inject":
                # As the search ran it: held, then healed unless kept for an overlap.
                fault = recording.inject(step["kind"], **args)
                applied.append(fault)
                recording.hold(float(step.get("hold_s", 0.0)))
                if not step.get("keep", True):
                    recording.heal([fault])
                    applied.remove(fault)
            elif step["rule"] == "wait":
                recording.hold(float(args["seconds"]))
            else:  # heal what is active so far
                recording.heal(applied)
                applied.clear()
        recording.hold(scenario.hold_s)
    except FaultSkipped as exc:
        recording.skipped(step["kind"], str(exc))
    finally:
        # What a fault left beyond its own heal is healed by Recording.finish (or, on an
        # error or Ctrl-C, by the session's close): once, not here as well.
        recording.heal(applied)
        if applied:
            log.info(f"chaos: {recording.label}: healed")


def _start_load(session: ChaosSession, stem: str, hold_s: float) -> LoadHandle | None:
    """Load for the scenario's whole duration, bounded by a run time it never reaches."""
    if not session.load:
        return None
    bound = int(WAITS.warmup_s + hold_s + CONVERGENCE_BOUND_S + 60)
    load = session.load(session.run_dir / f"{stem}-load", bound)
    time.sleep(2)  # users spawned before the fault
    return load


def _headline(result: ScenarioResult) -> str:
    numbers = result.headline()
    parts = [f"failover {numbers['failover_s']} s" if numbers["failover_s"] is not None
             else "no failover",
             "outage open" if numbers["outage_open"] else f"outage {numbers['outage_s']} s",
             f"lost writes {numbers['lost_writes']}",
             f"indeterminate {numbers['indeterminate_writes']}",
             f"split brain {numbers['split_brain_s'] or 0:.1f} s"]
    return ", ".join(parts)
