"""A chaos campaign: scenarios (and the Hypothesis state machine) in one run.

Results land in ``reports/<run-id>/``: one JSONL history per scenario and
``results.json`` (:class:`~lab.chaos.record.RunRecord`), rewritten after every scenario so
an interrupted run keeps what it finished (marked ``"complete": false``). Whoever calls
passes ``publish`` (the CLI: the HTML report), called with the run folder on every exit
path: chaos never imports the report.

Exit status: 0 every verdict is pass, finding or skipped; 1 a scenario failed its
expectations or an invariant broke; 2 the run could not complete (a scenario errored,
the lab was not up or never settled); 130 interrupted (the lab is healed first).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lab import masters, runs
from lab.chaos import faults, plan, schedule, stateful
from lab.chaos import scenarios as scenario_module
from lab.chaos.record import (
    HypothesisResult,
    LabDescription,
    RunOptions,
    RunRecord,
    ScenarioResult,
    Status,
)
from lab.chaos.runner import ChaosSession, LoadStarter, run_scenario
from lab.config import SloSettings
from lab.context import Lab
from lab.errors import LabError
from lab.recorded import RecordedRun
from lab.routes import Clients

__all__ = ["CampaignOptions", "Publish", "lab_record", "replay", "run"]

log = logging.getLogger(__name__)

# Called with the run folder once the run ends, however it ends.
Publish = Callable[[Path], None]


def lab_record(lab: Lab) -> LabDescription:
    """The lab's settings and topology, as the run record keeps them."""
    return LabDescription(
        name=lab.config.name,
        layout=lab.config.layout,
        backend=lab.config.machines.backend,
        provider=None if lab.is_inventory else lab.config.machines.provider,
        machines=lab.machines_label,
        servers=[vars(s) for s in lab.config.servers],
        sentinel=vars(lab.config.sentinel),
        redis=vars(lab.config.redis),
        haproxy=vars(lab.config.haproxy),
        images=lab.config.images.source,
        engine=lab.config.images.engine,
        topology=lab.topology.as_dict(),
    )


@dataclass(frozen=True)
class CampaignOptions:
    """What a campaign runs and how (``nox -s chaos``'s options, the matrix's and the
    bench's), typed. ``known``: the search runs the catalogue's sequences first (default:
    when no scenario ran before it in this run; when they did, they were the known
    sequences). ``serial``: one scenario after another; otherwise
    :mod:`lab.chaos.schedule` runs the shard-local ones at once where the layout has
    independent shards."""

    patterns: tuple[str, ...] = ()
    profile: str | None = "ci"  # the Hypothesis profile; None: no search
    seed: int | None = None
    scenarios: bool = True
    load: LoadStarter | None = None
    accept_disruption: bool = False
    plan_only: bool = False
    run_id: str | None = None
    slo: SloSettings = field(default_factory=SloSettings)
    repeat: int = 1
    budget_s: float | None = None
    clients: Clients | None = None  # None: the lab's own ([clients] in lab.toml)
    known: bool | None = None
    examples: int | None = None
    serial: bool = False


def run(lab: Lab, options: CampaignOptions, publish: Publish | None = None) -> int:
    """Run the chosen scenarios (each ``repeat`` times), then (with a profile) the
    Hypothesis state machine; judge every history against the expectations and the SLOs.

    On an SSH inventory nothing runs without ``accept_disruption``: the dry-run plan is
    printed and the run refused. ``plan_only`` prints the plan for any lab and stops."""
    runs.require_up(lab)
    clients = options.clients or lab.config.clients_for()
    available = scenario_module.load_all()
    try:
        chosen = scenario_module.select(available, list(options.patterns)) \
            if options.scenarios else []
        for scenario in chosen:
            scenario.check(lab.topology)
    except ValueError as exc:
        raise LabError(str(exc)) from None
    unknown = sorted(name for name, _ in options.slo.scenarios if name not in available)
    if unknown:
        raise LabError(f"[slo.scenarios.{unknown[0]}]: no such scenario; known: "
                       f"{', '.join(available)}")
    order = schedule.plan(chosen, options.repeat, lab.topology, serial_because=(
        "--serial" if options.serial else "load drives every shard" if options.load else ""))
    if options.plan_only or lab.needs_consent(options.accept_disruption):
        _print_plan(plan.describe(lab.topology, _first_of_each(order), options.profile,
                                  _master_finder(lab),
                                  faults.searched()))
        if options.plan_only:
            return 0
        _refuse_disruption()
    run_id, run_dir = runs.new_run_dir("chaos", options.run_id)
    log.info(f"chaos: run {run_id}: {len(chosen)} scenario(s) on the {lab.config.layout} "
             f"layout, clients: {clients.label}")
    if chosen:
        log.info(f"chaos: schedule: {order.describe()}")
    record = RunRecord(run_id, lab_record(lab), options=RunOptions(
        scenarios=[s.name for s in chosen], profile=options.profile, seed=options.seed,
        with_load=bool(options.load), repeat=options.repeat, budget_s=options.budget_s,
        known=(not chosen) if options.known is None else options.known,
        examples=options.examples, schedule=order.to_json(), **clients.to_json()),
        slo=options.slo.to_json() if options.slo else None)
    path = run_dir / runs.RESULTS
    record.write(path)

    def finish() -> None:
        _summary(record, path)
        _publish(record, path, publish)
        if record.go_line():  # the run's last line: the go/no-go decision
            log.info(record.go_line())

    with RecordedRun(record, lambda: record.write(path),
                     "chaos: interrupted: healing the lab", finish) as recorded:
        session = recorded.closing(ChaosSession(lab, run_dir, run_id, options.load,
                                                options.slo, clients))
        record.lab.versions = session.versions()
        record.write(path)
        _run_schedule(session, order, _recorder(record, path))
        if options.profile:
            record.hypothesis = _search(session, options.profile, options.seed,
                                        options.budget_s, record.options.known,
                                        _longest_failover(record.scenarios), options.examples)
            record.write(path)
        record.complete = True
    return record.exit_code()


def _publish(record: RunRecord, path: Path, publish: Publish | None) -> None:
    """Build the report (timed into the record), then say where the run's time went."""
    if publish:
        started = time.monotonic()
        publish(path.parent)
        record.report_s = round(time.monotonic() - started, 1)
        record.write(path, touch=False)  # the page shows `updated`: a rebuild stays equal
    phases = record.phases()
    if phases:
        log.info("chaos: where the time went: " + ", ".join(
            f"{name} {seconds:g} s" for name, seconds in phases.items())
            + f" (total {sum(phases.values()):.0f} s)")


def _longest_failover(results: list[ScenarioResult]) -> float | None:
    """The longest failover this run's scenarios measured (the search's holds use it)."""
    seen = [s.target.failover_s for s in results
            if s.target is not None and s.target.failover_s is not None]
    return max(seen, default=None)


def _search(session: ChaosSession, profile: str, seed: int | None,
            budget_s: float | None, known: bool, measured_failover_s: float | None,
            examples: int | None) -> HypothesisResult:
    """The Hypothesis search; an error that is not a finding is recorded as such."""
    try:
        return stateful.run(session, profile, seed, budget_s, known, measured_failover_s,
                            examples)
    except Exception as exc:  # noqa: BLE001 - recorded: the run says it could not complete
        error = str(exc) if isinstance(exc, LabError) else f"{type(exc).__name__}: {exc}"
        log.info(f"hypothesis: ERROR {error}")
        return HypothesisResult(Status.ERROR, profile, seed,
                                failure={"error": error.splitlines()[0],
                                         "traceback": traceback.format_exc()})


def _first_of_each(order: schedule.Schedule) -> list:
    """Each scenario once, as the schedule runs it (on its lane's shard)."""
    seen: dict[str, object] = {}
    for job in order.jobs:
        seen.setdefault(job.scenario.name, job.scenario)
    return list(seen.values())


def _recorder(record: RunRecord, path: Path) -> Callable[[schedule.Job, ScenarioResult], None]:
    """Keeps each finished result, in the serial order whatever order they finish in, and
    rewrites the record (an interrupted run keeps what it finished). Lanes call it from
    their threads."""
    done: dict[int, ScenarioResult] = {}
    lock = threading.Lock()

    def finished(job: schedule.Job, result: ScenarioResult) -> None:
        with lock:
            done[job.index] = result
            record.scenarios = [done[i] for i in sorted(done)]
            record.write(path)
    return finished


def _run_schedule(session: ChaosSession, order: schedule.Schedule,
                  finished: Callable[[schedule.Job, ScenarioResult], None]) -> None:
    """The lanes at once, then each scenario that runs alone."""
    if order.lanes:
        _run_lanes(session, order.lanes, finished)
    for job in order.alone:
        finished(job, _run_one(session, job.scenario, job.repetition, job.repetitions))


def _run_lanes(session: ChaosSession, lanes, finished) -> None:
    """One thread per lane, each running its jobs in order on a view of its shard. On
    Ctrl-C (only this thread gets it) every lane's wait ends at once, each heals its own
    faults on its way out (a heal is bounded), and the interruption goes on up.

    No lane begins a job before every lane is started and known here (a Ctrl-C landing
    inside ``Thread.start`` would otherwise leave a running lane unwaited for); each
    says it has ended through an event of its own (one landing inside ``Thread.join``
    can leave a thread looking ended that is not)."""
    errors: list[BaseException] = []
    go = threading.Event()
    running: list[threading.Event] = []  # one per lane, set when it has ended

    def run_lane(shard: int, jobs: tuple[schedule.Job, ...], ended: threading.Event) -> None:
        try:
            lane = session.lane((shard,))
            go.wait()
            for job in jobs:
                if session.stop.is_set():
                    return
                finished(job, _run_one(lane, job.scenario, job.repetition, job.repetitions))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread below
            errors.append(exc)
        finally:
            ended.set()

    try:
        for shard, jobs in lanes:
            ended = threading.Event()
            threading.Thread(target=run_lane, args=(shard, jobs, ended), daemon=True,
                             name=f"lane-{shard}").start()
            running.append(ended)
        go.set()
        for ended in running:
            while not ended.wait(timeout=0.5):
                pass  # in slices: Ctrl-C reaches this thread between them
    except KeyboardInterrupt:
        session.stop.set()
        go.set()  # a lane not yet begun sees the stop and does nothing
        log.info("chaos: interrupted: every lane heals its faults")
        for ended in running:
            _await_healing(ended)
        raise
    for error in errors:
        if not isinstance(error, KeyboardInterrupt):
            raise error  # a lane's own error (a scenario's is in its result)


def _await_healing(ended: threading.Event) -> None:
    """Wait for a lane that is healing its faults; another Ctrl-C does not cut it short
    (each heal is bounded)."""
    while True:
        try:
            ended.wait()
            return
        except KeyboardInterrupt:
            log.info("chaos: still healing: the lanes end in a moment")


def _run_one(session: ChaosSession, scenario, repetition: int, repetitions: int
             ) -> ScenarioResult:
    """One repetition of a scenario; an error is recorded and the campaign goes on."""
    try:
        return run_scenario(session, scenario, repetition, repetitions)
    except Exception as exc:  # noqa: BLE001 - recorded, and the campaign goes on
        error = str(exc) if isinstance(exc, LabError) else f"{type(exc).__name__}: {exc}"
        result = ScenarioResult.errored(
            scenario.name, error, None if isinstance(exc, LabError) else traceback.format_exc())
        result.repetition, result.repetitions = repetition, repetitions
        log.info(f"chaos: {result.label}: ERROR {error}")
        return result


def replay(lab: Lab, failure_id: str, accept_disruption: bool = False,
           publish: Publish | None = None, run_id: str | None = None, repeat: int = 1,
           slo: SloSettings | None = None) -> int:
    """Replay a saved failing sequence ``repeat`` times; exit 1 when it reproduced at
    least once (the reproduction rate is printed and recorded), 0 when it never did."""
    runs.require_up(lab)
    if lab.needs_consent(accept_disruption):
        _print_plan(plan.describe_replay(lab.topology, failure_id))
        _refuse_disruption()
    if stateful.find_failure(failure_id) is None:
        raise LabError(f"no saved failure {failure_id!r} under reports/*/failures/; "
                       "the id is printed when Hypothesis finds one")
    run_id, run_dir = runs.new_run_dir("replay", run_id)
    record = RunRecord(run_id, lab_record(lab), kind="replay",
                       options=RunOptions(replay=failure_id, repeat=repeat))
    path = run_dir / runs.RESULTS
    with RecordedRun(record, lambda: record.write(path), "replay: interrupted: healing the lab",
                     lambda: publish and publish(run_dir)) as recorded:
        session = recorded.closing(ChaosSession(lab, run_dir, run_id, slo=slo))
        record.lab.versions = session.versions()
        record.hypothesis = stateful.replay(session, failure_id, repeat)
        record.complete = True
    return 1 if record.hypothesis and record.hypothesis.reproduced else record.exit_code()


def _master_finder(lab: Lab) -> Callable[[int], object]:
    """Read-only: asks the Sentinels; no SSH connection is made."""
    return lambda shard: masters.named_master(lab.topology, lab.access, shard)


def _print_plan(lines: list[str]) -> None:
    log.info("chaos plan (dry run: nothing has been touched):")
    for line in lines:
        log.info(f"  {line}")


def _refuse_disruption() -> None:
    raise LabError("chaos on an SSH inventory disrupts real hosts: the plan above lists every "
                   "fault and the hosts it touches; rerun with --i-accept-disruption to go ahead")


def _summary(record: RunRecord, path: Path) -> None:
    log.info("")
    log.info(f"{'scenario':<30} {'verdict':<8} failover  outage  lost  split-brain")
    for s in record.scenarios:
        numbers = s.headline()
        log.info(f"{s.label:<30} {s.status:<8} {_num(numbers['failover_s']):>8}  "
                 f"{_num(numbers['outage_s']):>6}  {_num(numbers['lost_writes']):>4}  "
                 f"{numbers['split_brain_s'] or 0:>9.1f} s")
    state = "complete" if record.complete else "INCOMPLETE"
    log.info(f"chaos: results ({state}): {path}")


def _num(value) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) else str(value)
