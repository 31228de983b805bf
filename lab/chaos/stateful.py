"""Hypothesis explores fault sequences; shrinks a failure to the shortest one; replays it.

:class:`ChaosMachine` is a ``RuleBasedStateMachine`` whose rules are faults, heals, waits
and workload bursts, on the running lab. Its invariants are checked after every heal +
settle:

* **converges**: the lab settles within the bound (one master per shard, every Sentinel
  agrees, replicas linked, HAProxy routes to the one master) and no split brain is left;
* **writes available**: a write through every shard's master port succeeds within the
  bound after the heal.

Each example starts from a healthy, settled lab reached by healing (never by
reprovisioning). A failing example is shrunk by Hypothesis, then saved as
``reports/<run-id>/failures/<id>.json`` (its steps) and replayed with
``nox -s chaos -- --replay <id>``. The seed is printed and recorded.

``LAB_CHAOS_BROKEN_INVARIANT=1`` adds a deliberately false invariant, so the tests can
prove that failures are found, shrunk and replayed.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from pathlib import Path
from typing import ClassVar

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

from lab import probe, settle
from lab.chaos.nemesis import Applied
from lab.chaos.runner import ChaosSession
from lab.errors import NotSettledError
from lab.paths import REPORTS

# Faults Hypothesis may combine: each is healed by its own undo, in reverse.
FAULT_KINDS = ("stop-master", "pause-master", "partition-sentinels", "kill-haproxy",
               "kill-sentinels")
SETTLE_BOUND_S = 60.0
WRITE_BOUND_S = 10.0
PROFILES = {
    "ci": {"max_examples": 3, "stateful_step_count": 4},
    "workshop": {"max_examples": 10, "stateful_step_count": 6},
    "thorough": {"max_examples": 50, "stateful_step_count": 10},
}


class InvariantBroken(AssertionError):
    pass


class ChaosMachine(RuleBasedStateMachine):
    """One example: a sequence of faults, heals, waits and bursts on the running lab."""

    session: ClassVar[ChaosSession]
    broken_invariant: ClassVar[bool] = False
    last_steps: ClassVar[list[dict]] = []
    reset_times: ClassVar[list[float]] = []

    def __init__(self) -> None:
        super().__init__()
        ChaosMachine.last_steps = self.steps = []
        ChaosMachine.reset_times.append(self.session.reset(SETTLE_BOUND_S))
        self.active: list[Applied] = []
        self.healed = False

    # -- rules ---------------------------------------------------------------------------

    @precondition(lambda self: len(self.active) < 2)
    @rule(kind=st.sampled_from(FAULT_KINDS), shard=st.integers(1, 3))
    def inject(self, kind: str, shard: int) -> None:
        self._step("inject", kind=kind, shard=shard)
        params = {"shard": shard} if kind != "kill-haproxy" else {
            "server": self.session.lab.topology.servers[shard - 1].name}
        if kind == "kill-sentinels":
            params["count"] = "minority"
        self.active.append(self.session.nemesis.inject(kind, **params))
        self.healed = False

    @precondition(lambda self: bool(self.active))
    @rule()
    def heal(self) -> None:
        self._step("heal")
        for applied in reversed(self.active):
            self.session.nemesis.heal(applied)
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
            shard = self.session.lab.topology.shards[i % len(self.session.lab.topology.shards)]
            self._try_write(shard, timeout=0.3)

    # -- invariants, after every heal ------------------------------------------------------

    @invariant()
    def converges_after_heal(self) -> None:
        if not self.healed:
            return
        lab = self.session.lab
        try:
            settle.wait(lab.config, lab.topology, lab.secrets.redis_password,
                        timeout_s=SETTLE_BOUND_S, log=lambda _: None)
        except NotSettledError as exc:
            raise InvariantBroken(f"did not converge after heal: {exc}") from None

    @invariant()
    def writes_available_after_heal(self) -> None:
        if not self.healed:
            return
        for shard in self.session.lab.topology.shards:
            deadline = time.monotonic() + WRITE_BOUND_S
            while not self._try_write(shard, timeout=1):
                if time.monotonic() > deadline:
                    raise InvariantBroken(f"shard {shard.number}: no write through port "
                                          f"{shard.master_port} within {WRITE_BOUND_S:g} s")
                time.sleep(0.2)

    @invariant()
    def deliberately_broken(self) -> None:
        """Test-only (LAB_CHAOS_BROKEN_INVARIANT=1): false after any heal, so the tests
        can watch a failure being found, shrunk to inject + heal, saved and replayed."""
        if self.broken_invariant and self.healed:
            raise InvariantBroken("(deliberately broken invariant) a fault was healed")

    def check_all(self) -> None:
        """Every invariant, as Hypothesis checks them after each step (used by replay)."""
        self.converges_after_heal()
        self.writes_available_after_heal()
        self.deliberately_broken()

    def teardown(self) -> None:
        for applied in reversed(self.active):
            self.session.nemesis.heal(applied)
        self.active.clear()

    # -- helpers ---------------------------------------------------------------------------

    def _step(self, name: str, **args) -> None:
        self.steps.append({"rule": name, **args})

    def _try_write(self, shard, timeout: float) -> bool:
        lab = self.session.lab
        host = lab.topology.servers[0].address
        try:
            with probe.client(host, shard.master_port, lab.secrets.redis_password,
                              timeout=timeout) as r:
                return bool(r.set(f"{self.session.run_id}:burst:{uuid.uuid4().hex}", "1"))
        except redis.RedisError:
            return False


def run(session: ChaosSession, profile: str, seed: int | None = None) -> dict:
    """Run the state machine with ``profile``; return what results.json records."""
    seed = random.randrange(2**32) if seed is None else seed
    session.log(f"hypothesis: profile {profile}, seed {seed}")
    ChaosMachine.session = session
    ChaosMachine.broken_invariant = os.environ.get("LAB_CHAOS_BROKEN_INVARIANT") == "1"
    ChaosMachine.reset_times = []
    machine = use_seed(seed)(type("ChaosMachineRun", (ChaosMachine,), {}))
    options = PROFILES[profile]
    config = settings(
        deadline=None, suppress_health_check=list(HealthCheck), derandomize=False,
        database=None,  # failures are saved as replayable step lists instead
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        max_examples=options["max_examples"],
        stateful_step_count=options["stateful_step_count"],
        report_multiple_bugs=False,
    )
    outcome = {"profile": profile, "seed": seed, "status": "pass", "failure": None}
    started = time.monotonic()
    try:
        run_state_machine_as_test(machine, settings=config)
    except AssertionError as exc:
        failure_id = uuid.uuid4().hex[:10]
        steps = list(ChaosMachine.last_steps)
        save_failure(session.run_dir, failure_id, steps, str(exc), seed, profile)
        outcome.update(status="fail", failure={
            "id": failure_id, "error": str(exc).splitlines()[0], "steps": steps,
            "replay": f"nox -s chaos -- --replay {failure_id}"})
        session.log(f"hypothesis: FAIL after shrinking to {len(steps)} step(s): "
                    f"{_describe(steps)}")
        session.log(f"hypothesis: replay with: nox -s chaos -- --replay {failure_id}")
    outcome["seconds"] = round(time.monotonic() - started, 1)
    outcome["reset_s"] = [round(s, 2) for s in ChaosMachine.reset_times]
    if outcome["status"] == "pass":
        session.log(f"hypothesis: PASS ({options['max_examples']} examples)")
    return outcome


def save_failure(run_dir: Path, failure_id: str, steps: list[dict], error: str, seed: int,
                 profile: str) -> Path:
    path = run_dir / "failures" / f"{failure_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"id": failure_id, "steps": steps, "error": error,
                                "seed": seed, "profile": profile}, indent=2) + "\n")
    return path


def find_failure(failure_id: str) -> Path | None:
    found = sorted(REPORTS.glob(f"*/failures/{failure_id}.json"))
    return found[-1] if found else None


def replay(session: ChaosSession, failure_id: str) -> dict:
    """Run a saved failing sequence again, step by step, checking the invariants."""
    path = find_failure(failure_id)
    if path is None:
        raise FileNotFoundError(f"no saved failure {failure_id!r} under reports/*/failures/")
    saved = json.loads(path.read_text())
    ChaosMachine.session = session
    ChaosMachine.broken_invariant = os.environ.get("LAB_CHAOS_BROKEN_INVARIANT") == "1"
    session.log(f"replay {failure_id}: {_describe(saved['steps'])}")
    machine = ChaosMachine()
    outcome = {"replay": failure_id, "steps": saved["steps"], "status": "pass", "failure": None}
    try:
        for step in saved["steps"]:
            args = {k: v for k, v in step.items() if k != "rule"}
            getattr(machine, step["rule"])(**args)
            machine.check_all()
    except AssertionError as exc:
        outcome.update(status="fail", failure={"id": failure_id,
                                               "error": str(exc).splitlines()[0],
                                               "steps": saved["steps"]})
        session.log(f"replay {failure_id}: reproduced: {str(exc).splitlines()[0]}")
    finally:
        machine.teardown()
    if outcome["status"] == "pass":
        session.log(f"replay {failure_id}: did not reproduce")
    return outcome


def _describe(steps: list[dict]) -> str:
    return "; ".join(
        step["rule"] + "(" + ", ".join(f"{k}={v}" for k, v in step.items() if k != "rule") + ")"
        for step in steps
    ) or "(no steps)"
