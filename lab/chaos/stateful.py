"""Hypothesis looks for the worst case: fault sequences that break the user's SLOs.

:func:`machine_class` builds, for one run, a ``RuleBasedStateMachine`` whose rules are
faults, heals and waits on the running lab. The ``inject`` rule draws a fault from the
whole registry (:func:`lab.chaos.faults.searched`), its parameters from its own strategy
on the lab's topology, and **how long to hold it** from the lab's own timing
(:mod:`lab.chaos.holds`: healed before Sentinel notices, held past a failover, held past
the failover timeout); it then heals the fault, or keeps it so that the next fault
overlaps it (up to ``MAX_ACTIVE_FAULTS``). "Cut it off and keep it cut past a failover"
is one step, whatever ``down_after_ms`` is.

Before Hypothesis draws anything, the catalogue's own fault sequences run as the first
examples (:func:`known_sequences`; ``known=False`` turns that off): a search starts from
what is known to hurt and then explores beyond it.

Every example is one recording (:class:`lab.chaos.runner.Recording`): it starts from a
settled lab reached by healing, runs the workload and the observers, and writes one
history, ``reports/<run>/hypothesis/example-<n>.jsonl``. Invariants, guarded by
``@precondition`` so that they run only after a heal that left nothing active
(hypothesis/stateful.py: preconditions apply to invariants as well as rules):

* **converges**: the lab settles within the bound;
* **writes available**: a write through every shard's master port succeeds within the
  bound after the heal.

At the end of each example every fault is healed, the lab settles, and the history is
judged by the same checkers and SLOs as a scenario; ``hypothesis.target()`` is told the
lost writes, the outage and the split-brain time, so the search climbs towards the worst
case. A breached SLO (or a broken invariant) ends the batch at once, and
:func:`_shrink` tries a bounded number of smaller sequences (each fault alone, then one
step fewer) rather than Hypothesis' own shrinker, which, on examples of half a minute
each, spent its five-minute limit and still kept an irrelevant step. Every example is
listed in the run record with its steps, scores, verdict and what each of its faults did
(:mod:`lab.chaos.coverage`); the run's coverage grid and the worst per target are
reported even when nothing is breached.

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
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import redis
from hypothesis import HealthCheck, Phase, currently_in_test_context, settings, target
from hypothesis import seed as use_seed
from hypothesis import strategies as st
from hypothesis.errors import Flaky, FlakyStrategyDefinition
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from lab import probe
from lab.chaos import history
from lab.chaos import slo as slo_module
from lab.chaos.coverage import Coverage, fault_outcomes, grid, overlaps
from lab.chaos.faults import Applied, FaultSkipped, searched
from lab.chaos.holds import Holds
from lab.chaos.phases import Phases
from lab.chaos.record import HypothesisResult, Status
from lab.chaos.runner import ChaosSession, Recording
from lab.chaos.scenarios import Expect, Scenario, load_all
from lab.errors import NotSettledError
from lab.paths import REPORTS

__all__ = ["PROFILES", "TARGETS", "Failure", "Profile", "SearchError", "find_failure",
           "known_sequences", "machine_class", "replay", "run", "shrink_candidates"]

log = logging.getLogger(__name__)

SETTLE_BOUND_S = 60.0
WRITE_BOUND_S = 10.0
# Faults active at once: one per shard of the article layout, so one example can try
# three faults for the price of one failover and convergence.
MAX_ACTIVE_FAULTS = 3
# What the search climbs towards: measures (lab.measures), worst first.
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
    "ci": Profile(examples=8, steps=3, budget_s=0),  # one batch: about 5 minutes here
    "workshop": Profile(examples=12, steps=4, budget_s=0),
    "thorough": Profile(examples=20, steps=6, budget_s=30 * 60),
}


class InvariantBroken(AssertionError):
    pass


class SloBreached(AssertionError):
    pass


class SearchError(RuntimeError):
    """The search itself broke (not the lab): reported as ERROR, exit 2."""


class _BudgetSpent(BaseException):  # noqa: N818 - a signal, not an error
    """The search's budget is spent: the batch ends before its next example."""


class _Broken(BaseException):  # noqa: N818 - a signal, not an error
    """An example whose measurement broke (an observer left a gap): the search ends as
    ERROR at once; like :class:`_Found`, Hypothesis lets it through without a replay."""

    def __init__(self, error: SearchError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class Failure:
    """A failing example (its summary: steps, error, breaches) and what it raised."""

    example: dict
    error: BaseException


class _Found(BaseException):  # noqa: N818 - a signal, not an error
    """The first failing example of a batch. Not an ``Exception``: Hypothesis lets it
    through at once, without replaying the example for its report and without its own
    shrinker, which spends up to five minutes on examples that take half a minute each
    and still kept an irrelevant step (measured); :func:`_shrink` does it in a bounded
    number of examples instead."""

    def __init__(self, failure: AssertionError) -> None:
        super().__init__(str(failure))
        self.failure = failure


@dataclass
class _Examples:
    """What one run's examples share: every example's summary, and the reset times."""

    run_dir: Path
    thresholds: dict[str, float]
    holds: Holds
    reset_times: list[float] = field(default_factory=list)
    tried: list[dict] = field(default_factory=list)
    # Inside a Hypothesis batch: the first failure ends the batch at once (see _Found).
    stop_at_first: bool = False
    # time.monotonic() after which no new example starts (a --budget search).
    deadline: float | None = None
    # Why the batch was ended on purpose: _BudgetSpent or _Found, as raised. Hypothesis
    # may answer such an abort with FlakyStrategyDefinition (see _batch).
    ended_by: BaseException | None = None

    @property
    def last(self) -> dict:
        return self.tried[-1]


def machine_class(session: ChaosSession, examples: _Examples | None = None,
                  extra_invariants: tuple[Callable, ...] = (),
                  holds: Holds | None = None) -> type[RuleBasedStateMachine]:
    """The state machine for ``session``'s lab: rules and strategies from the registry,
    holds and waits from the lab's own timing (:mod:`lab.chaos.holds`)."""
    holds = holds or Holds.for_lab(session.lab.config.sentinel)
    examples = examples or _Examples(session.run_dir, dict(session.slo.thresholds), holds)
    topology = session.lab.topology
    fault_steps = st.one_of([st.tuples(st.just(name), fault.strategy(topology))
                             for name, fault in searched().items()])

    class ChaosMachine(RuleBasedStateMachine):
        """One example: faults injected and held, overlapping or not, and healed."""

        def __init__(self) -> None:
            if examples.stop_at_first and examples.deadline is not None and \
                    time.monotonic() > examples.deadline:
                examples.ended_by = _BudgetSpent()
                raise examples.ended_by  # before anything is recorded or touched
            super().__init__()
            self.session = session
            self.examples = examples
            self.number = len(examples.tried) + 1
            self.steps: list[dict] = []
            self.summary = {"n": self.number, "steps": self.steps, "status": "pass",
                            "history": f"hypothesis/example-{self.number}.jsonl",
                            "scores": {}, "breaches": [], "error": None, "faults": [],
                            "started": round(time.time(), 3), "seconds": None,
                            "phases": {}}
            examples.tried.append(self.summary)
            self.phases = Phases()
            try:
                with self.phases.timing("reset"):
                    examples.reset_times.append(session.reset(SETTLE_BOUND_S))
            except NotSettledError as exc:  # the lab itself is broken: say so, stop there
                self._verdict("error", error=f"could not reset to settled: {exc}")
                raise
            self.recording = Recording(session, examples.run_dir / self.summary["history"],
                                       f"hypothesis example {self.number}", EXAMPLE_EXPECT,
                                       examples.thresholds, phases=self.phases,
                                       example=self.number)
            self.active: list[Applied] = []
            # What the preconditions read: the faults *drawn* and not healed yet, whether
            # they could be applied or not. Preconditions that read what happened on the
            # lab (a fault skipped because its target was restarting) make Hypothesis'
            # data generation depend on external state, which it rejects when replaying.
            self.drawn = 0
            self.settle_due = False  # a heal left nothing active: the invariants apply
            # Acknowledged writes before the first fault.
            self.recording.warm_up()

        def _close_summary(self) -> None:
            self.summary["seconds"] = round(time.time() - self.summary["started"], 2)
            self.summary["phases"] = self.phases.to_json()

        # -- rules -----------------------------------------------------------------------

        @precondition(lambda self: self.drawn < MAX_ACTIVE_FAULTS)
        @rule(fault=fault_steps, hold_s=st.sampled_from(holds.hold_choices()),
              keep=st.booleans())
        def inject(self, fault: tuple[str, dict], hold_s: float, keep: bool) -> None:
            """Inject, hold ``hold_s``; then heal it, or (``keep``) leave it active so
            that the next fault overlaps it."""
            name, params = fault
            self._step("inject", kind=name, **params, hold_s=hold_s, keep=keep)
            self.drawn += 1
            self.settle_due = False
            try:
                applied = self.recording.inject(name, **params)
            except FaultSkipped as exc:  # cannot run here: the example goes on without it
                self.recording.skipped(name, str(exc), params)
                applied = None
            else:
                self.active.append(applied)
                self.recording.hold(hold_s)
            if not keep:
                if applied:
                    self.recording.heal([applied])
                    self.active.remove(applied)
                self.drawn -= 1
                self.settle_due = self.drawn == 0

        @precondition(lambda self: self.drawn > 0)
        @rule()
        def heal(self) -> None:
            self._step("heal")
            self.recording.heal(self.active)
            self.active.clear()
            self.drawn = 0
            self.settle_due = True

        @precondition(lambda self: self.drawn > 0)
        @rule(seconds=st.sampled_from(holds.wait_choices()))
        def wait(self, seconds: float) -> None:
            """Hold what is active a while longer."""
            self._step("wait", seconds=seconds)
            self.recording.hold(seconds)

        # -- invariants, after a heal that left nothing active -----------------------------

        @precondition(lambda self: self.settle_due)
        @invariant()
        @_noted
        def converges_after_heal(self) -> None:
            try:
                session.settle(SETTLE_BOUND_S)
            except NotSettledError as exc:
                raise InvariantBroken(f"did not converge after heal: {exc}") from None

        @precondition(lambda self: self.settle_due)
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
                    self._outcomes()
                    self._close_summary()
                return
            try:
                self.recording.heal(self.active)
                self.active.clear()
                judged, events = self.recording.finish()
                self.summary["faults"] = fault_outcomes(events)
            except BaseException as exc:
                self.recording.abort()
                self._verdict("error", error=f"{type(exc).__name__}: {exc}")
                raise
            finally:
                if not self.summary["faults"]:  # finish() did not get that far
                    self._outcomes()
                self._close_summary()
            if judged.verdict.status == Status.ERROR:  # no GO may rest on a gap
                self._verdict("error", error="; ".join(judged.verdict.findings))
                self._broken(SearchError(f"hypothesis example {self.number}: "
                                         f"{self.summary['error']}"))
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
                self._failed(SloBreached(self.summary["error"]))
            if self.summary["status"] == "pass" and not judged.convergence.settled:
                self._verdict("fail", error="did not converge after the example")
                self._failed(InvariantBroken(self.summary["error"]))

        # -- helpers -----------------------------------------------------------------------

        def _outcomes(self) -> None:
            """What each fault of the example did, read from its history (coverage)."""
            path = self.recording.path
            self.summary["faults"] = fault_outcomes(history.read(path)) if path.is_file() \
                else []

        def _failed(self, failure: AssertionError) -> None:
            """Raise ``failure``; in a Hypothesis batch, as the batch's end (_Found)."""
            if self.examples.stop_at_first and currently_in_test_context():
                self.examples.ended_by = _Found(failure)
                raise self.examples.ended_by
            raise failure

        def _broken(self, error: SearchError) -> None:
            """Raise ``error``; in a Hypothesis batch, as the batch's end (_Broken)."""
            if currently_in_test_context():
                self.examples.ended_by = _Broken(error)
                raise self.examples.ended_by
            raise error

        def _verdict(self, status: str, error: str) -> None:
            if self.summary["status"] == "pass":  # the first reason stands
                self.summary.update(status=status, error=error)

        def _step(self, name: str, **args) -> None:
            self.steps.append({"rule": name, **args})

        def _try_write(self, shard, timeout: float) -> bool:
            lab = session.lab
            host = topology.servers[0].address
            try:
                with probe.client(host, shard.master_port, lab.access_as("app"),
                                  timeout=timeout) as r:
                    return bool(r.set(f"{session.run_id}:probe:{uuid.uuid4().hex}", "1"))
            except redis.RedisError:
                return False

    for check in extra_invariants:  # discovered like the others: by their decorators
        setattr(ChaosMachine, check.__name__,
                precondition(lambda self: self.settle_due)(invariant()(_noted(check))))
    return ChaosMachine


def _noted(check: Callable) -> Callable:
    """An invariant whose failure is also written on its example's summary."""
    def noted(self) -> None:
        try:
            with self.phases.timing("invariants"):
                check(self)
        except AssertionError as exc:
            self._verdict("fail", error=str(exc).splitlines()[0])
            self._failed(exc)
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
        budget_s: float | None = None, known: bool = True,
        measured_failover_s: float | None = None, examples_per_batch: int | None = None
        ) -> HypothesisResult:
    """Search with ``profile``: first the catalogue's fault sequences (``known``), then
    one batch of Hypothesis examples, or batches until ``budget_s`` is spent (or a
    failure is found and shrunk); return what results.json records."""
    seed = random.randrange(2**32) if seed is None else seed
    shape = PROFILES[profile]
    if examples_per_batch:
        shape = replace(shape, examples=examples_per_batch)
    budget = shape.budget_s if budget_s is None else budget_s
    holds = Holds.for_lab(session.lab.config.sentinel, measured_failover_s)
    log.info(f"hypothesis: profile {profile}, seed {seed}"
             + (f", budget {budget:.0f} s" if budget else "")
             + f"; holds {holds.brief_s:g} / {holds.past_failover_s:g} / {holds.long_s:g} s"
             + ("" if known else "; known sequences off"))
    examples = _Examples(session.run_dir, dict(session.slo.thresholds), holds)
    outcome = HypothesisResult(Status.PASS, profile, seed, known=known,
                               holds=holds.to_json())
    started = time.monotonic()
    if budget:
        examples.deadline = started + budget
    found: Failure | None = None
    try:
        if known:
            found = _known_first(session, examples, holds)
        batch = 0
        while found is None:
            batch_seed = seed if batch == 0 else \
                random.Random(f"{seed}:{batch}").randrange(2**32)
            found = _batch(session, examples, shape, batch_seed)
            batch += 1
            if not budget or time.monotonic() - started >= budget:
                break
        if found:
            outcome.first_failure_s = round(time.monotonic() - started, 1)
            if not found.example.get("known"):
                found = _shrink(session, examples, found)
            _record_failure(session, outcome, examples, found, seed, profile)
    except Exception as exc:  # noqa: BLE001 - recorded: the search could not complete
        error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, SearchError) else str(exc)
        log.info(f"hypothesis: ERROR {error}")
        outcome.status = Status.ERROR
        outcome.failure = {"error": error.splitlines()[0],
                           "traceback": traceback.format_exc()}
        found = None
    finally:
        outcome.seconds = round(time.monotonic() - started, 1)
        outcome.reset_s = [round(s, 2) for s in examples.reset_times]
        outcome.examples = examples.tried
        outcome.coverage = _coverage(examples).to_json()
    outcome.breaches = [slo_module.Breach.from_json(b)
                        for b in (found.example["breaches"] if found else [])]
    log.info(f"hypothesis: {outcome.status.upper()} ({len(examples.tried)} examples in "
             f"{outcome.seconds:.0f} s); worst: " + (", ".join(
                 f"{label} {value:g} (example {n})"
                 for label, (value, n) in outcome.worst().items()) or "none"))
    log.info(f"hypothesis: coverage: {outcome.coverage['line']}")
    return outcome


def _coverage(examples: _Examples) -> Coverage:
    return Coverage(list(searched()), grid(examples.tried, examples.holds.held_past_failover),
                    overlaps(examples.tried))


def known_sequences(scenarios: list[Scenario], holds: Holds) -> list[tuple[str, list[dict]]]:
    """The catalogue's scenarios that use searched faults only, as the machine's steps:
    each fault injected and kept, the last held as long as the scenario holds (at least
    past a failover on this lab's timing), then healed. One per distinct sequence."""
    drawn = searched()
    found: dict[str, tuple[str, list[dict]]] = {}
    for scenario in scenarios:
        if scenario.script or not scenario.faults or \
                not all(step.fault in drawn for step in scenario.faults):
            continue
        steps = [{"rule": "inject", "kind": step.fault, **step.params, "hold_s": 0.0,
                  "keep": True} for step in scenario.faults]
        steps[-1]["hold_s"] = max(float(scenario.hold_s), holds.past_failover_s)
        steps.append({"rule": "heal"})
        found.setdefault(describe_steps(steps), (scenario.name, steps))
    return list(found.values())


def _known_first(session: ChaosSession, examples: _Examples, holds: Holds
                 ) -> Failure | None:
    """Run the known sequences as the search's first examples; the first that fails is
    the search's failure (already minimal: a hand-written scenario's faults)."""
    cls = machine_class(session, examples, extra_invariants(), holds)
    sequences = known_sequences(list(load_all().values()), holds)
    log.info(f"hypothesis: {len(sequences)} known sequence(s) from the catalogue first")
    for name, steps in sequences:
        log.info(f"hypothesis: known sequence {name}: {describe_steps(steps)}")
        try:
            _play(cls, steps)
        except AssertionError as exc:
            examples.last["known"] = name
            return Failure(examples.last, exc)
        examples.last["known"] = name
    return None


def _play(cls: type[RuleBasedStateMachine], steps: list[dict]) -> None:
    """Run ``steps`` through a new machine's own rules, checking its invariants (with
    their preconditions) after each, and tear down (judge) as Hypothesis does."""
    state = cls.setup_state()
    rules = {r.function.__name__: r.function for r in state.rules}
    machine = cls()
    try:
        for step in steps:
            rules[step["rule"]](machine, **_rule_arguments(step))
            for check in state.invariants:
                if all(pre(machine) for pre in check.preconditions):
                    check.function(machine)
    finally:
        machine.teardown()


def _batch(session: ChaosSession, examples: _Examples, shape: Profile, seed: int
           ) -> Failure | None:
    """One ``run_state_machine_as_test``, ended by its first failing example, if any.
    Hypothesis refusing its own data generation is an error of the search, never a
    finding."""
    machine = use_seed(seed)(machine_class(session, examples, extra_invariants(),
                                           examples.holds))
    config = settings(
        deadline=None, suppress_health_check=list(HealthCheck), derandomize=False,
        database=None,  # failures are saved as replayable step lists instead
        phases=(Phase.explicit, Phase.generate, Phase.target),  # shrinking: _shrink
        max_examples=shape.examples, stateful_step_count=shape.steps,
        report_multiple_bugs=False,
    )
    examples.stop_at_first, examples.ended_by = True, None
    try:
        run_state_machine_as_test(machine, settings=config)
    except _Found as found:
        return Failure(examples.last, found.failure)
    except _Broken as broken:
        raise broken.error from None
    except _BudgetSpent:
        return None
    except FlakyStrategyDefinition as exc:
        # Ending a test case on purpose stops its drawing early; when Hypothesis had run
        # the same choices further before (its target phase mutates the best example),
        # it calls that inconsistent and raises this instead of our signal (seen at the
        # end of a 60-minute search). Only without such an end is it an error of ours.
        if isinstance(examples.ended_by, _Found):
            return Failure(examples.last, examples.ended_by.failure)
        if isinstance(examples.ended_by, _BudgetSpent):
            return None
        if isinstance(examples.ended_by, _Broken):
            raise examples.ended_by.error from None
        raise SearchError(f"the search's own data generation was inconsistent (an error "
                          f"of redis-ha-lab, not of the lab): {str(exc).splitlines()[0]}"
                          ) from exc
    except (AssertionError, Flaky) as exc:
        return Failure(examples.last, exc)
    finally:
        examples.stop_at_first = False
    return None


def shrink_candidates(steps: list[dict]) -> list[list[dict]]:
    """Smaller sequences to try, most reduced first: each fault alone (held as it was,
    then healed), then the sequence with one step fewer. At most twice as many as the
    steps: a search's examples take half a minute each."""
    injects = [s for s in steps if s["rule"] == "inject"]
    found: list[list[dict]] = []
    for step in injects:
        found.append([{**step, "keep": False}])
    for i in range(len(steps)):
        rest = steps[:i] + steps[i + 1:]
        if any(s["rule"] == "inject" for s in rest):
            found.append(rest)
    unique: list[list[dict]] = []
    for candidate in found:
        if candidate != steps and candidate not in unique:
            unique.append(candidate)
    return unique


def _shrink(session: ChaosSession, examples: _Examples, found: Failure) -> Failure:
    """The smallest of :func:`shrink_candidates` that fails again, or ``found``: one
    pass, bounded, each candidate a recorded example."""
    steps = found.example["steps"]
    candidates = shrink_candidates(steps)
    if not candidates:
        return found
    log.info(f"hypothesis: shrinking {describe_steps(steps)}: at most "
             f"{len(candidates)} example(s)")
    cls = machine_class(session, examples, extra_invariants(), examples.holds)
    for candidate in candidates:
        try:
            _play(cls, candidate)
        except AssertionError as exc:
            examples.last["shrunk_from"] = found.example["n"]
            log.info(f"hypothesis: shrunk to {describe_steps(candidate)}")
            return Failure(examples.last, exc)
    log.info("hypothesis: no smaller sequence failed: keeping the one found")
    return found


def _record_failure(session: ChaosSession, outcome: HypothesisResult, examples: _Examples,
                    found: Failure, seed: int, profile: str) -> None:
    minimal = found.example
    failure_id = uuid.uuid4().hex[:10]
    error = minimal["error"] or str(found.error).splitlines()[0]
    if isinstance(found.error, Flaky):
        error = f"flaky (did not fail again when replayed): {error}"
    save_failure(session.run_dir, failure_id, minimal, error, seed, profile,
                 examples.thresholds)
    outcome.status = Status.FAIL
    outcome.failure = {"id": failure_id, "error": error, "steps": minimal["steps"],
                       "history": minimal["history"], "example": minimal["n"],
                       "known": minimal.get("known"),
                       "shrunk_from": minimal.get("shrunk_from"),
                       "replay": f"nox -s chaos -- --replay {failure_id}"}
    log.info(f"hypothesis: FAIL with {len(minimal['steps'])} step(s): "
             f"{describe_steps(minimal['steps'])}"
             + (f" (the catalogue's {minimal['known']})" if minimal.get("known") else ""))
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
    holds = Holds.for_lab(session.lab.config.sentinel)
    examples = _Examples(session.run_dir, thresholds, holds)
    cls = machine_class(session, examples, extra_invariants(), holds)
    log.info(f"replay {failure_id}: {describe_steps(saved['steps'])}"
             + (f", {repeat} times" if repeat > 1 else ""))
    reproduced, errors = 0, []
    for attempt in range(1, repeat + 1):
        try:
            _play(cls, saved["steps"])
        except AssertionError as exc:
            reproduced += 1
            errors.append(str(exc).splitlines()[0])
            log.info(f"replay {failure_id} ({attempt}/{repeat}): reproduced: {errors[-1]}")
        else:
            log.info(f"replay {failure_id} ({attempt}/{repeat}): did not reproduce")
    outcome = HypothesisResult(Status.FAIL if reproduced else Status.PASS,
                               replay=failure_id, steps=saved["steps"], repeat=repeat,
                               reproduced=reproduced, examples=examples.tried,
                               reset_s=[round(s, 2) for s in examples.reset_times],
                               holds=holds.to_json())
    if reproduced:
        outcome.failure = {"id": failure_id, "error": errors[0], "steps": saved["steps"]}
        outcome.breaches = [slo_module.Breach.from_json(b)
                            for e in examples.tried for b in e["breaches"]]
    log.info(f"replay {failure_id}: reproduced {reproduced} of {repeat}")
    return outcome


def _rule_arguments(step: dict) -> dict:
    """A recorded step back into its rule's arguments (inject's are recorded flat). A
    step saved before faults carried their hold is held 0 s and kept, as it then was."""
    args = {k: v for k, v in step.items() if k != "rule"}
    if step["rule"] == "inject":
        kind = args.pop("kind")
        hold_s = float(args.pop("hold_s", 0.0))
        keep = bool(args.pop("keep", True))
        return {"fault": (kind, args), "hold_s": hold_s, "keep": keep}
    return args


def describe_steps(steps: list[dict]) -> str:
    return "; ".join(
        step["rule"] + "(" + ", ".join(f"{k}={v}" for k, v in step.items() if k != "rule") + ")"
        for step in steps
    ) or "(no steps)"
