"""Hypothesis explores fault sequences; shrinks a failure to the shortest one; replays it.

:func:`machine_class` builds, for one run, a ``RuleBasedStateMachine`` whose rules are
faults, heals, waits and workload bursts on the running lab. The ``inject`` rule draws
from the fault registry (:func:`lab.chaos.faults.searched`), each fault's parameters from
its own strategy on the lab's topology. Invariants, guarded by ``@precondition`` so that
they run after a heal only (hypothesis/stateful.py: preconditions apply to invariants as
well as rules):

* **converges**: the lab settles within the bound (one master per shard, every Sentinel
  agrees, replicas linked, HAProxy routes to the one master) and no split brain is left;
* **writes available**: a write through every shard's master port succeeds within the
  bound after the heal.

More invariants can be added from a module named by ``LAB_CHAOS_INVARIANTS`` (its
``INVARIANTS``: functions of the machine that raise ``AssertionError``): the tests use
it to plant a deliberately false one and watch it being found, shrunk and replayed.

Each example starts from a healthy, settled lab reached by healing (never by
reprovisioning). A failing example is shrunk by Hypothesis, then saved as
``reports/<run-id>/failures/<id>.json`` (its steps) and replayed, through the same rules
and invariants, with ``nox -s chaos -- --replay <id>``. The seed is printed and recorded.
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
from pathlib import Path

import redis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as use_seed
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from lab import probe
from lab.chaos import faults
from lab.chaos.faults import Applied
from lab.chaos.record import HypothesisResult, Status
from lab.chaos.runner import ChaosSession
from lab.errors import NotSettledError
from lab.paths import REPORTS

__all__ = ["PROFILES", "find_failure", "machine_class", "replay", "run"]

log = logging.getLogger(__name__)

SETTLE_BOUND_S = 60.0
WRITE_BOUND_S = 10.0
MAX_ACTIVE_FAULTS = 2
PROFILES = {
    "ci": {"max_examples": 3, "stateful_step_count": 4},
    "workshop": {"max_examples": 10, "stateful_step_count": 6},
    "thorough": {"max_examples": 50, "stateful_step_count": 10},
}
EXTRA_INVARIANTS_ENV = "LAB_CHAOS_INVARIANTS"


class InvariantBroken(AssertionError):
    pass


class _Examples:
    """What one run's examples share: the reset times, and the last example's steps
    (after shrinking, Hypothesis runs the minimal failing example last)."""

    def __init__(self) -> None:
        self.reset_times: list[float] = []
        self.last_steps: list[dict] = []


def machine_class(session: ChaosSession, examples: _Examples | None = None,
                  extra_invariants: tuple[Callable, ...] = ()) -> type[RuleBasedStateMachine]:
    """The state machine for ``session``'s lab: rules and strategies from the registry."""
    examples = examples or _Examples()
    topology = session.lab.topology
    searched = faults.searched()
    fault_steps = st.one_of([st.tuples(st.just(name), fault.strategy(topology))
                             for name, fault in searched.items()])

    class ChaosMachine(RuleBasedStateMachine):
        """One example: a sequence of faults, heals, waits and bursts on the running lab."""

        def __init__(self) -> None:
            super().__init__()
            self.session = session
            self.steps: list[dict] = []
            examples.last_steps = self.steps
            examples.reset_times.append(session.reset(SETTLE_BOUND_S))
            self.active: list[Applied] = []
            self.healed = False

        # -- rules -----------------------------------------------------------------------

        @precondition(lambda self: len(self.active) < MAX_ACTIVE_FAULTS)
        @rule(fault=fault_steps)
        def inject(self, fault: tuple[str, dict]) -> None:
            name, params = fault
            self._step("inject", kind=name, **params)
            self.active.append(faults.inject(session.nemesis, name, **params))
            self.healed = False

        @precondition(lambda self: bool(self.active))
        @rule()
        def heal(self) -> None:
            self._step("heal")
            for applied in reversed(self.active):
                session.nemesis.heal(applied)
            self.active.clear()
            self.healed = True

        @rule(seconds=st.sampled_from([1, 3, 6]))
        def wait(self, seconds: int) -> None:
            self._step("wait", seconds=seconds)
            time.sleep(seconds)

        @rule(writes=st.integers(10, 100))
        def burst(self, writes: int) -> None:
            """Writes through every master port; failures during a fault are allowed."""
            self._step("burst", writes=writes)
            for i in range(writes):
                self._try_write(topology.shards[i % len(topology.shards)], timeout=0.3)

        # -- invariants, after every heal --------------------------------------------------

        @precondition(lambda self: self.healed)
        @invariant()
        def converges_after_heal(self) -> None:
            try:
                session.settle(SETTLE_BOUND_S)
            except NotSettledError as exc:
                raise InvariantBroken(f"did not converge after heal: {exc}") from None

        @precondition(lambda self: self.healed)
        @invariant()
        def writes_available_after_heal(self) -> None:
            for shard in topology.shards:
                deadline = time.monotonic() + WRITE_BOUND_S
                while not self._try_write(shard, timeout=1):
                    if time.monotonic() > deadline:
                        raise InvariantBroken(f"shard {shard.number}: no write through port "
                                              f"{shard.master_port} within {WRITE_BOUND_S:g} s")
                    time.sleep(0.2)

        def teardown(self) -> None:
            for applied in reversed(self.active):
                session.nemesis.heal(applied)
            self.active.clear()

        # -- helpers -----------------------------------------------------------------------

        def _step(self, name: str, **args) -> None:
            self.steps.append({"rule": name, **args})

        def _try_write(self, shard, timeout: float) -> bool:
            lab = session.lab
            host = topology.servers[0].address
            try:
                with probe.client(host, shard.master_port, lab.secrets.redis_password,
                                  timeout=timeout) as r:
                    return bool(r.set(f"{session.run_id}:burst:{uuid.uuid4().hex}", "1"))
            except redis.RedisError:
                return False

    for check in extra_invariants:  # discovered like the others: by their decorators
        setattr(ChaosMachine, check.__name__,
                precondition(lambda self: self.healed)(invariant()(check)))
    return ChaosMachine


def extra_invariants() -> tuple[Callable, ...]:
    """``INVARIANTS`` of the module named by ``LAB_CHAOS_INVARIANTS`` (none when unset)."""
    name = os.environ.get(EXTRA_INVARIANTS_ENV)
    if not name:
        return ()
    return tuple(importlib.import_module(name).INVARIANTS)


def run(session: ChaosSession, profile: str, seed: int | None = None) -> HypothesisResult:
    """Run the state machine with ``profile``; return what results.json records."""
    seed = random.randrange(2**32) if seed is None else seed
    log.info(f"hypothesis: profile {profile}, seed {seed}")
    examples = _Examples()
    machine = use_seed(seed)(machine_class(session, examples, extra_invariants()))
    options = PROFILES[profile]
    config = settings(
        deadline=None, suppress_health_check=list(HealthCheck), derandomize=False,
        database=None,  # failures are saved as replayable step lists instead
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        max_examples=options["max_examples"],
        stateful_step_count=options["stateful_step_count"],
        report_multiple_bugs=False,
    )
    outcome = HypothesisResult(Status.PASS, profile, seed)
    started = time.monotonic()
    try:
        run_state_machine_as_test(machine, settings=config)
    except AssertionError as exc:
        failure_id = uuid.uuid4().hex[:10]
        steps = list(examples.last_steps)
        save_failure(session.run_dir, failure_id, steps, str(exc), seed, profile)
        outcome.status = Status.FAIL
        outcome.failure = {"id": failure_id, "error": str(exc).splitlines()[0],
                           "steps": steps, "replay": f"nox -s chaos -- --replay {failure_id}"}
        log.info(f"hypothesis: FAIL after shrinking to {len(steps)} step(s): "
                 f"{describe_steps(steps)}")
        log.info(f"hypothesis: replay with: nox -s chaos -- --replay {failure_id}")
    outcome.seconds = round(time.monotonic() - started, 1)
    outcome.reset_s = [round(s, 2) for s in examples.reset_times]
    if outcome.status == Status.PASS:
        log.info(f"hypothesis: PASS ({options['max_examples']} examples)")
    return outcome


def save_failure(run_dir: Path, failure_id: str, steps: list[dict], error: str, seed: int,
                 profile: str) -> Path:
    path = run_dir / "failures" / f"{failure_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"id": failure_id, "steps": steps, "error": error,
                                "seed": seed, "profile": profile}, indent=2) + "\n")
    return path


def find_failure(failure_id: str, reports: Path = REPORTS) -> Path | None:
    found = sorted(reports.glob(f"*/failures/{failure_id}.json"))
    return found[-1] if found else None


def replay(session: ChaosSession, failure_id: str) -> HypothesisResult:
    """Run a saved failing sequence again through the machine's own rules, checking its
    own invariants (with their preconditions) after each step, as Hypothesis does."""
    path = find_failure(failure_id)
    if path is None:
        raise FileNotFoundError(f"no saved failure {failure_id!r} under reports/*/failures/")
    saved = json.loads(path.read_text())
    cls = machine_class(session, extra_invariants=extra_invariants())
    state = cls.setup_state()
    rules = {r.function.__name__: r.function for r in state.rules}
    log.info(f"replay {failure_id}: {describe_steps(saved['steps'])}")
    machine = cls()
    outcome = HypothesisResult(Status.PASS, replay=failure_id, steps=saved["steps"])
    try:
        for step in saved["steps"]:
            rules[step["rule"]](machine, **_rule_arguments(step))
            for check in state.invariants:
                if all(pre(machine) for pre in check.preconditions):
                    check.function(machine)
    except AssertionError as exc:
        outcome.status = Status.FAIL
        outcome.failure = {"id": failure_id, "error": str(exc).splitlines()[0],
                           "steps": saved["steps"]}
        log.info(f"replay {failure_id}: reproduced: {str(exc).splitlines()[0]}")
    finally:
        machine.teardown()
    if outcome.status == Status.PASS:
        log.info(f"replay {failure_id}: did not reproduce")
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
