"""Hypothesis looks for the worst case: fault sequences that break the user's SLOs.

:func:`machine_class` builds, for one run, a ``RuleBasedStateMachine`` whose rules are
faults, heals and waits on the running lab. The ``inject`` rule draws from the whole fault
registry (:func:`lab.chaos.faults.searched`), each fault's parameters from its own
strategy on the lab's topology; faults may overlap (up to ``MAX_ACTIVE_FAULTS``).

Every example is one recording (:class:`lab.chaos.runner.Recording`): it starts from a
settled lab reached by healing, runs the workload and the observers, and writes one
history, ``reports/<run>/hypothesis/example-<n>.jsonl``. Invariants, guarded by
``@precondition`` so that they run after a heal only (hypothesis/stateful.py:
preconditions apply to invariants as well as rules):

* **converges**: the lab settles within the bound;
* **writes available**: a write through every shard's master port succeeds within the
  bound after the heal.

At the end of each example every fault is healed, the lab settles, and the history is
judged by the same checkers and SLOs as a scenario; ``hypothesis.target()`` is told the
lost writes, the outage and the split-brain time, so the search climbs towards the worst
case, and a breached SLO fails the example, which Hypothesis then shrinks to its shortest
fault sequence. Every example is listed in the run record with its steps, scores and
verdict, and the worst per target is reported even when nothing is breached.

More invariants can be added from a module named by ``LAB_CHAOS_INVARIANTS`` (its
``INVARIANTS``: functions of the machine that raise ``AssertionError``): the tests use
it to plant a deliberately false one.

A failure is saved as ``reports/<run-id>/failures/<id>.json`` (its steps and history),
replayed through the same rules and invariants with ``nox -s chaos -- --replay <id>``
(``--repeat N`` for a reproduction rate), and can be saved as a named scenario
(``--save-scenario NAME``).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis
from hypothesis import HealthCheck, Phase, currently_in_test_context, settings, target
from hypothesis import seed as use_seed
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from lab import probe
from lab.chaos import slo as slo_module
from lab.chaos.faults import Applied, FaultSkipped, searched
from lab.chaos.record import HypothesisResult, Status
from lab.chaos.runner import ChaosSession, Recording
from lab.chaos.scenarios import Expect
from lab.errors import NotSettledError
from lab.paths import REPORTS

__all__ = ["PROFILES", "TARGETS", "Profile", "find_failure", "machine_class", "replay", "run"]

log = logging.getLogger(__name__)

SETTLE_BOUND_S = 60.0
WRITE_BOUND_S = 10.0
# An example is cheaper than a scenario: a shorter warm-up, convergence polled more
# often (examples a minute is what the search is worth).
EXAMPLE_WARMUP_S = 1.0
EXAMPLE_POLL_S = 0.25
EXAMPLE_SETTLED_WRITES_S = 0.25
MAX_ACTIVE_FAULTS = 2
# What the search climbs towards: SLO measures (lab.config.SLO_MEASURES), worst first.
TARGETS = ("lost_writes", "outage_s", "split_brain_s")
# An example checks only that the lab converges: what it must not do is the user's SLOs.
EXAMPLE_EXPECT = Expect(max_lost_writes=None)
EXTRA_INVARIANTS_ENV = "LAB_CHAOS_INVARIANTS"


@dataclass(frozen=True)
class Profile:
    """How long the search may take: examples per batch, steps per example, and the
    time after which no new batch starts (``--budget`` replaces it)."""

    examples: int
    steps: int
    budget_s: float


PROFILES = {
    "ci": Profile(examples=4, steps=2, budget_s=0),  # one batch: a few minutes here
    "workshop": Profile(examples=8, steps=4, budget_s=0),
    "thorough": Profile(examples=20, steps=6, budget_s=30 * 60),
}


class InvariantBroken(AssertionError):
    pass


class SloBreached(AssertionError):
    pass


@dataclass
class _Examples:
    """What one run's examples share: every example's summary, and the reset times.
    After shrinking, Hypothesis runs the minimal failing example last."""

    run_dir: Path
    thresholds: dict[str, float]
    reset_times: list[float] = field(default_factory=list)
    tried: list[dict] = field(default_factory=list)

    @property
    def last(self) -> dict:
        return self.tried[-1]


def machine_class(session: ChaosSession, examples: _Examples | None = None,
                  extra_invariants: tuple[Callable, ...] = ()) -> type[RuleBasedStateMachine]:
    """The state machine for ``session``'s lab: rules and strategies from the registry."""
    examples = examples or _Examples(session.run_dir, dict(session.slo.thresholds))
    topology = session.lab.topology
    fault_steps = st.one_of([st.tuples(st.just(name), fault.strategy(topology))
                             for name, fault in searched().items()])

    class ChaosMachine(RuleBasedStateMachine):
        """One example: a sequence of faults, heals and waits on the running lab."""

        def __init__(self) -> None:
            super().__init__()
            self.session = session
            self.number = len(examples.tried) + 1
            self.steps: list[dict] = []
            self.summary = {"n": self.number, "steps": self.steps, "status": "pass",
                            "history": f"hypothesis/example-{self.number}.jsonl",
                            "scores": {}, "breaches": [], "error": None,
                            "started": round(time.time(), 3), "seconds": None}
            examples.tried.append(self.summary)
            try:
                examples.reset_times.append(session.reset(SETTLE_BOUND_S))
            except NotSettledError as exc:  # the lab itself is broken: say so, stop there
                self._verdict("error", error=f"could not reset to settled: {exc}")
                raise
            self.recording = Recording(session, examples.run_dir / self.summary["history"],
                                       f"hypothesis example {self.number}", EXAMPLE_EXPECT,
                                       examples.thresholds, settle_poll_s=EXAMPLE_POLL_S,
                                       settled_writes_s=EXAMPLE_SETTLED_WRITES_S,
                                       example=self.number)
            self.active: list[Applied] = []
            self.healed = False
            time.sleep(EXAMPLE_WARMUP_S)  # acknowledged writes before the first fault

        # -- rules -----------------------------------------------------------------------

        @precondition(lambda self: len(self.active) < MAX_ACTIVE_FAULTS)
        @rule(fault=fault_steps)
        def inject(self, fault: tuple[str, dict]) -> None:
            name, params = fault
            self._step("inject", kind=name, **params)
            try:
                self.active.append(self.recording.inject(name, **params))
            except FaultSkipped as exc:  # cannot run here: the example goes on without it
                self.recording.skipped(name, str(exc))
                return
            self.healed = False

        @precondition(lambda self: bool(self.active))
        @rule()
        def heal(self) -> None:
            self._step("heal")
            self.recording.heal(self.active)
            self.active.clear()
            self.healed = True

        @rule(seconds=st.sampled_from([1, 3, 6]))
        def wait(self, seconds: int) -> None:
            self._step("wait", seconds=seconds)
            time.sleep(seconds)

        # -- invariants, after every heal --------------------------------------------------

        @precondition(lambda self: self.healed)
        @invariant()
        @_noted
        def converges_after_heal(self) -> None:
            try:
                session.settle(SETTLE_BOUND_S, interval_s=EXAMPLE_POLL_S)
            except NotSettledError as exc:
                raise InvariantBroken(f"did not converge after heal: {exc}") from None

        @precondition(lambda self: self.healed)
        @invariant()
        @_noted
        def writes_available_after_heal(self) -> None:
            for shard in topology.shards:
                deadline = time.monotonic() + WRITE_BOUND_S
                while not self._try_write(shard, timeout=1):
                    if time.monotonic() > deadline:
                        raise InvariantBroken(f"shard {shard.number}: no write through port "
                                              f"{shard.master_port} within {WRITE_BOUND_S:g} s")
                    time.sleep(0.2)

        # -- the end of an example: heal, settle, judge ------------------------------------

        def teardown(self) -> None:
            """Heal, judge the example's history, tell Hypothesis its scores; a breached
            SLO fails the example (and Hypothesis shrinks it). An example an invariant
            already failed is healed and its history kept as far as it got, not judged:
            its failure is its verdict (and shrinking repeats such examples often)."""
            if self.summary["status"] != "pass":
                try:
                    self.recording.heal(self.active)
                    self.active.clear()
                finally:
                    self.recording.abort()
                    self.summary["seconds"] = round(time.time() - self.summary["started"], 2)
                return
            try:
                self.recording.heal(self.active)
                self.active.clear()
                judged, _ = self.recording.finish()
            except BaseException as exc:
                self.recording.abort()
                self._verdict("error", error=f"{type(exc).__name__}: {exc}")
                raise
            finally:
                self.summary["seconds"] = round(time.time() - self.summary["started"], 2)
            measured = slo_module.values(judged.measures, judged.convergence)
            for label in TARGETS:
                value = measured.get(label)
                if isinstance(value, int | float):
                    self.summary["scores"][label] = value
                    if currently_in_test_context():  # not in a replay, which is no search
                        target(float(value), label=label)
            self.summary["breaches"] = [b.to_json() for b in judged.breaches]
            if judged.breaches:
                self._verdict("fail", error="SLO breached: "
                              + "; ".join(b.line() for b in judged.breaches))
                raise SloBreached(self.summary["error"])
            if self.summary["status"] == "pass" and not judged.convergence.settled:
                self._verdict("fail", error="did not converge after the example")
                raise InvariantBroken(self.summary["error"])

        # -- helpers -----------------------------------------------------------------------

        def _verdict(self, status: str, error: str) -> None:
            if self.summary["status"] == "pass":  # the first reason stands
                self.summary.update(status=status, error=error)

        def _step(self, name: str, **args) -> None:
            self.steps.append({"rule": name, **args})

        def _try_write(self, shard, timeout: float) -> bool:
            lab = session.lab
            host = topology.servers[0].address
            try:
                with probe.client(host, shard.master_port, lab.secrets.redis_password,
                                  timeout=timeout) as r:
                    return bool(r.set(f"{session.run_id}:probe:{uuid.uuid4().hex}", "1"))
            except redis.RedisError:
                return False

    for check in extra_invariants:  # discovered like the others: by their decorators
        setattr(ChaosMachine, check.__name__,
                precondition(lambda self: self.healed)(invariant()(_noted(check))))
    return ChaosMachine


def _noted(check: Callable) -> Callable:
    """An invariant whose failure is also written on its example's summary."""
    def noted(self) -> None:
        try:
            check(self)
        except AssertionError as exc:
            self._verdict("fail", error=str(exc).splitlines()[0])
            raise
    noted.__name__ = check.__name__
    noted.__doc__ = check.__doc__
    return noted


def extra_invariants() -> tuple[Callable, ...]:
    """``INVARIANTS`` of the module named by ``LAB_CHAOS_INVARIANTS`` (none when unset)."""
    name = os.environ.get(EXTRA_INVARIANTS_ENV)
    if not name:
        return ()
    return tuple(importlib.import_module(name).INVARIANTS)


def run(session: ChaosSession, profile: str, seed: int | None = None,
        budget_s: float | None = None) -> HypothesisResult:
    """Search with ``profile``: one batch of examples, or batches until ``budget_s`` is
    spent (or a failure is found and shrunk); return what results.json records."""
    seed = random.randrange(2**32) if seed is None else seed
    shape = PROFILES[profile]
    budget = shape.budget_s if budget_s is None else budget_s
    log.info(f"hypothesis: profile {profile}, seed {seed}"
             + (f", budget {budget:.0f} s" if budget else ""))
    examples = _Examples(session.run_dir, dict(session.slo.thresholds))
    outcome = HypothesisResult(Status.PASS, profile, seed)
    started = time.monotonic()
    batch = 0
    while True:
        batch_seed = seed if batch == 0 else random.Random(f"{seed}:{batch}").randrange(2**32)
        failure = _batch(session, examples, shape, batch_seed)
        batch += 1
        if failure or not budget or time.monotonic() - started >= budget:
            break
    if failure:
        _record_failure(session, outcome, examples, failure, seed, profile)
    outcome.seconds = round(time.monotonic() - started, 1)
    outcome.reset_s = [round(s, 2) for s in examples.reset_times]
    outcome.examples = examples.tried
    outcome.breaches = [slo_module.Breach.from_json(b) for b in
                        (examples.last["breaches"] if failure else [])]
    log.info(f"hypothesis: {outcome.status.upper()} ({len(examples.tried)} examples in "
             f"{outcome.seconds:.0f} s); worst: " + (", ".join(
                 f"{label} {value:g} (example {n})"
                 for label, (value, n) in outcome.worst().items()) or "none"))
    return outcome


def _batch(session: ChaosSession, examples: _Examples, shape: Profile, seed: int
           ) -> Exception | None:
    """One ``run_state_machine_as_test``; the failure it shrank to, if any."""
    machine = use_seed(seed)(machine_class(session, examples, extra_invariants()))
    config = settings(
        deadline=None, suppress_health_check=list(HealthCheck), derandomize=False,
        database=None,  # failures are saved as replayable step lists instead
        phases=(Phase.explicit, Phase.generate, Phase.target, Phase.shrink),
        max_examples=shape.examples, stateful_step_count=shape.steps,
        report_multiple_bugs=False,
    )
    try:
        run_state_machine_as_test(machine, settings=config)
    except (AssertionError, Flaky) as exc:
        return exc
    return None


def _record_failure(session: ChaosSession, outcome: HypothesisResult, examples: _Examples,
                    failure: Exception, seed: int, profile: str) -> None:
    minimal = examples.last
    failure_id = uuid.uuid4().hex[:10]
    error = minimal["error"] or str(failure).splitlines()[0]
    if isinstance(failure, Flaky):
        error = f"flaky (did not fail again when replayed): {error}"
    save_failure(session.run_dir, failure_id, minimal, error, seed, profile,
                 examples.thresholds)
    outcome.status = Status.FAIL
    outcome.failure = {"id": failure_id, "error": error, "steps": minimal["steps"],
                       "history": minimal["history"], "example": minimal["n"],
                       "replay": f"nox -s chaos -- --replay {failure_id}"}
    log.info(f"hypothesis: FAIL after shrinking to {len(minimal['steps'])} step(s): "
             f"{describe_steps(minimal['steps'])}")
    log.info(f"hypothesis: {error}")
    log.info(f"hypothesis: replay with: nox -s chaos -- --replay {failure_id}")


def save_failure(run_dir: Path, failure_id: str, example: dict, error: str, seed: int,
                 profile: str, thresholds: dict[str, float]) -> Path:
    path = run_dir / "failures" / f"{failure_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"id": failure_id, "steps": example["steps"], "error": error,
                                "seed": seed, "profile": profile, "slo": thresholds,
                                "run": run_dir.name, "history": example["history"]},
                               indent=2) + "\n")
    return path


def find_failure(failure_id: str, reports: Path = REPORTS) -> Path | None:
    found = sorted(reports.glob(f"*/failures/{failure_id}.json"))
    return found[-1] if found else None


def load_failure(failure_id: str) -> dict:
    path = find_failure(failure_id)
    if path is None:
        raise FileNotFoundError(f"no saved failure {failure_id!r} under reports/*/failures/")
    return json.loads(path.read_text())


def replay(session: ChaosSession, failure_id: str, repeat: int = 1) -> HypothesisResult:
    """Run a saved failing sequence ``repeat`` times through the machine's own rules,
    checking its own invariants (with their preconditions) after each step and judging
    each history at the end, as Hypothesis does; how often it failed again."""
    saved = load_failure(failure_id)
    # The SLOs of this run when it has some, else those the failure was found with.
    thresholds = dict(session.slo.thresholds) if session.slo else saved.get("slo", {})
    examples = _Examples(session.run_dir, thresholds)
    cls = machine_class(session, examples, extra_invariants())
    state = cls.setup_state()
    rules = {r.function.__name__: r.function for r in state.rules}
    log.info(f"replay {failure_id}: {describe_steps(saved['steps'])}"
             + (f", {repeat} times" if repeat > 1 else ""))
    reproduced, errors = 0, []
    for attempt in range(1, repeat + 1):
        machine = cls()
        try:
            try:
                for step in saved["steps"]:
                    rules[step["rule"]](machine, **_rule_arguments(step))
                    for check in state.invariants:
                        if all(pre(machine) for pre in check.preconditions):
                            check.function(machine)
            finally:
                machine.teardown()
        except AssertionError as exc:
            reproduced += 1
            errors.append(str(exc).splitlines()[0])
            log.info(f"replay {failure_id} ({attempt}/{repeat}): reproduced: {errors[-1]}")
        else:
            log.info(f"replay {failure_id} ({attempt}/{repeat}): did not reproduce")
    outcome = HypothesisResult(Status.FAIL if reproduced else Status.PASS,
                               replay=failure_id, steps=saved["steps"], repeat=repeat,
                               reproduced=reproduced, examples=examples.tried,
                               reset_s=[round(s, 2) for s in examples.reset_times])
    if reproduced:
        outcome.failure = {"id": failure_id, "error": errors[0], "steps": saved["steps"]}
        outcome.breaches = [slo_module.Breach.from_json(b)
                            for e in examples.tried for b in e["breaches"]]
    log.info(f"replay {failure_id}: reproduced {reproduced} of {repeat}")
    return outcome


def _rule_arguments(step: dict) -> dict:
    """A recorded step back into its rule's arguments (inject's are recorded flat)."""
    args = {k: v for k, v in step.items() if k != "rule"}
    if step["rule"] == "inject":
        kind = args.pop("kind")
        return {"fault": (kind, args)}
    return args


def describe_steps(steps: list[dict]) -> str:
    return "; ".join(
        step["rule"] + "(" + ", ".join(f"{k}={v}" for k, v in step.items() if k != "rule") + ")"
        for step in steps
    ) or "(no steps)"
