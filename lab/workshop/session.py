"""A workshop session: exercises run step by step in front of a room.

Per exercise: its ``starts_with`` overlay, then each step: narrate, wait for the trainer
(Enter; ``--auto`` never waits), and do the step's one thing. A fault step asks the
room's prediction first (typed by the trainer, or sent from the live page), runs the
scenario through the chaos runner (reset to settled, inject, hold, heal, converge, read
back: one history, judged), then shows *predicted vs measured* and the explanation. An
overlay or a fix changes the lab's settings (:mod:`lab.reconfigure`: live where the
engine allows, else re-provisioning what changes). When the exercise ends, however it
ends, the lab's own settings are restored.

Everything lands in one run folder (``reports/<run-id>/``): the histories, ``results.json``
(a :class:`~lab.chaos.record.RunRecord` of kind ``workshop``, rewritten after every
step, so Ctrl-C keeps the finished steps) and, through ``publish``, the HTML page.

Exit status: 0 every exercise ran (a wrong prediction is not a failure: it is the
lesson); 1 a check failed (a break-fix's fix did not hold); 2 an exercise could not run.
"""

from __future__ import annotations

import contextlib
import logging
import textwrap
import tomllib
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import tomli_w

from lab import config as config_module
from lab import reconfigure, runs
from lab.chaos import scenarios as scenario_module
from lab.chaos import slo
from lab.chaos.campaign import lab_record
from lab.chaos.record import ExerciseRecord, RunOptions, RunRecord, StepRecord
from lab.chaos.runner import ChaosSession, run_scenario
from lab.chaos.scenarios import SAVED_EXPECT, Scenario
from lab.context import Lab
from lab.errors import LabError, NotSettledError
from lab.recorded import RecordedRun
from lab.workshop.exercises import Exercise, Prediction, Step
from lab.workshop.live import LiveState

__all__ = ["AutoRoom", "Room", "TerminalRoom", "Workshop"]

log = logging.getLogger(__name__)

CONVERGENCE_BOUND_S = 30.0  # a step's heal -> settled bound (a broken lab waits this long)
FIX_SETTLE_S = 60.0
MAX_ATTEMPTS = 100  # answers typed, or fixes tried, before the exercise gives up


class Room(ABC):
    """Who answers: the trainer at the terminal, or nobody (``--auto``)."""

    @abstractmethod
    def pause(self, prompt: str) -> None:
        """Wait until the trainer goes on."""

    @abstractmethod
    def ask(self, prediction: Prediction, live: LiveState, hint: str) -> tuple[float, str]:
        """The room's answer and who gave it (``terminal``, ``page`` or ``auto``)."""

    @abstractmethod
    def edited(self, path: Path, hint: str) -> None:
        """A break-fix: wait until the learner has edited ``path``."""


class AutoRoom(Room):
    """Unattended (tests, rehearsals): never reads the terminal. A prediction sent from
    the page is taken; else the exercise's ``auto`` answer."""

    def pause(self, prompt: str) -> None:
        return None

    def ask(self, prediction: Prediction, live: LiveState, hint: str) -> tuple[float, str]:
        answer = live.take_answer()
        if answer is not None:
            try:
                return prediction.parse(str(answer)), "page"
            except ValueError:
                pass
        return prediction.parse(str(prediction.auto)), "auto"

    def edited(self, path: Path, hint: str) -> None:
        return None


class TerminalRoom(Room):
    """The trainer's terminal: Enter goes on; answers are typed, or taken from the page."""

    def __init__(self, read: Callable[[str], str] = input) -> None:
        self._read = read

    def _input(self, prompt: str) -> str:
        try:
            return self._read(prompt)
        except EOFError:
            raise LabError("the workshop waits for Enter but there is no terminal to read "
                           "from; run unattended with --auto") from None

    def pause(self, prompt: str) -> None:
        self._input(f"{prompt} [Enter] ")

    def ask(self, prediction: Prediction, live: LiveState, hint: str) -> tuple[float, str]:
        for i, choice in enumerate(prediction.choices, 1):
            print(f"    {i}. {choice.label}")
        for _attempt in range(MAX_ATTEMPTS):  # bounded, like every loop of the lab
            text = self._input("  The room's answer (Enter: the page's; h: a hint): ").strip()
            if text.lower() == "h":
                print(f"  hint: {hint or 'none for this step'}")
                continue
            by = "terminal"
            if not text:
                answer = live.take_answer()
                if answer is None:
                    print("  no answer from the page yet")
                    continue
                text, by = str(answer), "page"
            try:
                return prediction.parse(text), by
            except ValueError as exc:
                print(f"  {exc}")
        raise LabError(f"no valid answer after {MAX_ATTEMPTS} tries")

    def edited(self, path: Path, hint: str) -> None:
        self._input(f"  Edit {path} ({hint or 'see the step'}), save it, then press Enter ")


class Workshop:
    """Runs exercises on one lab into one run folder; :meth:`run` returns the exit status."""

    def __init__(self, lab: Lab, room: Room, live: LiveState, run_id: str | None = None,
                 publish: Callable[[Path], None] | None = None) -> None:
        runs.require_up(lab)
        self.lab = lab
        self.base = lab  # the lab's own settings, restored after every exercise
        self.room = room
        self.live = live
        self.publish = publish
        self.run_id, self.run_dir = runs.new_run_dir("workshop", run_id)
        self.raw = tomllib.loads(lab.paths.applied_config.read_text(encoding="utf-8"))
        self.base_path = self.run_dir / "lab.toml"
        self.base_path.write_text(tomli_w.dumps(self.raw))
        self.record = RunRecord(self.run_id, lab_record(lab), kind="workshop")
        self.session: ChaosSession | None = None
        self._scenarios = scenario_module.load_all()

    # -- the run ---------------------------------------------------------------------------

    def run(self, exercises: list[Exercise]) -> int:
        self.record.options = RunOptions(exercises=[e.name for e in exercises],
                                         auto=isinstance(self.room, AutoRoom))
        self._write()

        def finish() -> None:
            self._summary()
            if self.publish:
                self.publish(self.run_dir)

        with RecordedRun(self.record, self._write, "workshop: interrupted: healing the lab",
                         finish) as recorded:
            recorded.closing(self)  # the session healed, the live page told it is over
            self._open_session()
            self.record.lab.versions = self.session.versions()
            for exercise in exercises:
                self._exercise(exercise)
            self.record.complete = True
        return self.exit_code()

    def close(self) -> None:
        self._close_session()
        self.live.clear_faults()
        self.live.say(phase="finished", asking=False)

    def exit_code(self) -> int:
        if any(e.error for e in self.record.workshop):
            return 2
        return 1 if any(e.checks_failed for e in self.record.workshop) else 0

    def _exercise(self, exercise: Exercise) -> None:
        record = ExerciseRecord(exercise.name, exercise.title, exercise.learn)
        self.record.workshop.append(record)
        self.live.say(title=exercise.title, exercise=exercise.name, steps=len(exercise.steps),
                      step_number=0, say=exercise.learn, phase="starting", prediction=None,
                      result=None, asking=False)
        _print(f"\n== {exercise.title} ({exercise.name}, about {exercise.minutes} min) ==")
        _print(f"What you learn: {exercise.learn}")
        try:
            if exercise.starts_with:
                _print("The lab starts with these settings changed: "
                       + ", ".join(_flatten(exercise.starts_with)))
                self._reconfigure(exercise.starts_with, f"{exercise.name}-start")
            for number, step in enumerate(exercise.steps, 1):
                record.steps.append(self._step(exercise, number, step))
                self._write()
            record.complete = True
        except KeyboardInterrupt:  # the record stays incomplete: its finished steps are kept
            self._write()
            try:
                self._restore(live_only=True)
            except LabError as exc:  # Ctrl-C goes on: the lab is healed, say what is left
                log.info(f"workshop: could not restore the lab's settings ({exc}); "
                         "`nox -s lab_up` applies lab.toml again")
            raise
        except (LabError, OSError) as exc:
            record.error = str(exc).splitlines()[0]
            log.info(f"workshop: {exercise.name}: ERROR {record.error}")
        except Exception as exc:  # noqa: BLE001 - recorded; the next exercise may still run
            record.error = f"{type(exc).__name__}: {exc}"
            log.info(f"workshop: {exercise.name}: ERROR {record.error}\n"
                     f"{traceback.format_exc()}")
        try:
            self._restore()
        except LabError as exc:  # the next exercise would run on the wrong settings: say so
            record.error = record.error or \
                f"restoring the lab's settings: {str(exc).splitlines()[0]}"
            log.info(f"workshop: {exercise.name}: ERROR {record.error}; `nox -s lab_up` "
                     "applies lab.toml again")
        self._write()

    def _step(self, exercise: Exercise, number: int, step: Step) -> StepRecord:
        self.live.say(step_number=number, say=step.say, phase=step.action, prediction=None,
                      result=None, asking=False)
        _print(f"\n-- step {number} of {len(exercise.steps)} --")
        _print(step.say)
        record = StepRecord(number, step.action, say=step.say, explain=step.explain)
        if step.action == "narrate":
            self.room.pause("  go on?")
            return record
        if step.action == "overlay":
            self.room.pause("  apply it?")
            self._reconfigure(step.overlay, f"{exercise.name}-{number}", record)
        elif step.action == "fix":
            self._fix(exercise, number, step, record)
        else:
            self._fault_step(exercise, number, step, record)
        if step.explain:
            _print(f"  Why: {step.explain}")
        if step.action == "fault":
            self.room.pause("  next?")
        return record

    def _fault_step(self, exercise: Exercise, number: int, step: Step,
                    record: StepRecord) -> None:
        scenario = self._scenario(exercise, number, step)
        answer = None
        if step.predict:
            p = step.predict
            record.question, record.measure = p.question, p.measure
            self.live.say(prediction={"question": p.question, "unit": p.unit,
                                      "choices": [c.label for c in p.choices]},
                          asking=True, phase="predict")
            _print(f"  Predict: {p.question}")
            answer, record.answered_by = self.room.ask(p, self.live, step.hint)
            record.answer = p.describe(answer)
            self.live.say(asking=False, answer=record.answer)
            _print(f"  The room predicts: {record.answer} ({record.answered_by})")
        else:
            self.room.pause("  inject?")
        self.live.say(phase="fault")
        result = run_scenario(self.session, scenario)
        self.record.scenarios.append(result)
        record.scenario = result.scenario
        measured = slo.values(result.measures, result.convergence)
        record.measures = {k: _number(v) for k, v in measured.items()}
        lines = [f"  Measured: {_measures_line(record.measures)}"]
        if step.predict:
            value = measured.get(step.predict.measure)
            record.measured = _number(value)
            grade = step.predict.grade(answer, value)
            record.correct, record.grade = grade.correct, grade.text
            lines.append(f"  Predicted {record.answer}; {grade.text}")
        if step.check:
            value = measured.get(step.check.measure)
            record.check = step.check.describe()
            record.check_held = step.check.holds(value)
            lines.append(f"  Check {record.check}: "
                         + ("HELD" if record.check_held else "FAILED")
                         + (f" ({step.check.says})" if step.check.says else ""))
        for line in lines:
            _print(line)
        self.live.say(phase="measured", result={
            "correct": record.correct if step.predict else record.check_held,
            "text": "\n".join(line.strip() for line in lines)
                    + (f"\nWhy: {step.explain}" if step.explain else "")})

    def _scenario(self, exercise: Exercise, number: int, step: Step) -> Scenario:
        """The step's faults as a scenario named after the exercise and step (its
        history's file name), keeping a named scenario's expectations."""
        name = f"{exercise.name}-{number}"
        if step.scenario:
            scenario = self._scenarios[step.scenario]
            return replace(scenario, name=f"{name}-{scenario.name}",
                           description=f"{exercise.title}, step {number}: "
                                       f"{scenario.description}")
        faults = tuple(scenario_module.Step(f["fault"], {k: v for k, v in f.items()
                                                         if k != "fault"})
                       for f in step.inject)
        return Scenario(name, f"{exercise.title}, step {number}: "
                        + ", ".join(f.fault for f in faults), faults,
                        lambda config: SAVED_EXPECT, step.hold_s)

    # -- settings ------------------------------------------------------------------------------

    def _reconfigure(self, overlay: dict, label: str, record: StepRecord | None = None) -> None:
        self.raw = _merged(self.raw, overlay)
        path = self.run_dir / f"lab-{label}.toml"
        path.write_text(tomli_w.dumps(self.raw))
        self._apply(path, record)

    def _apply(self, path: Path, record: StepRecord | None = None,
               settle_s: float | None = None) -> None:
        new = config_module.load(path)
        self._close_session()
        self.live.say(phase="reconfiguring")
        try:
            self.lab, done = reconfigure.apply(self.lab, new, path, settle_s=settle_s)
        finally:
            self._open_session()
        if done.how != "nothing":
            _print(f"  Settings {', '.join(done.changed)}: applied {done.how} in "
                   f"{done.seconds:.1f} s")
        if record is not None:
            record.changed, record.how, record.seconds = list(done.changed), done.how, \
                done.seconds

    def _fix(self, exercise: Exercise, number: int, step: Step, record: StepRecord) -> None:
        """Break-fix: the learner edits a copy of the lab's settings; it is applied."""
        path = self.run_dir / f"{exercise.name}-lab.toml"
        path.write_text(f"# {exercise.title}: fix the lab here, then press Enter.\n"
                        + tomli_w.dumps(self.raw))
        for _attempt in range(MAX_ATTEMPTS):  # bounded: a room that cannot fix it moves on
            if isinstance(self.room, AutoRoom):
                path.write_text(tomli_w.dumps(_merged(self.raw, step.fix)))
                _print(f"  (--auto) applied the fix: {', '.join(_flatten(step.fix))}")
            else:
                self.room.edited(path, step.hint)
            try:
                self.raw = tomllib.loads(path.read_text(encoding="utf-8"))
                self._apply(path, record, settle_s=FIX_SETTLE_S)
                return
            except (LabError, tomllib.TOMLDecodeError) as exc:
                _print(f"  not fixed yet: {str(exc).splitlines()[0]}")
                if isinstance(exc, NotSettledError):
                    for line in str(exc).splitlines()[1:4]:
                        _print(f"  {line.strip()}")
                if isinstance(self.room, AutoRoom):
                    raise
        raise LabError(f"{exercise.name}: step {number}: the lab was not fixed after "
                       f"{MAX_ATTEMPTS} tries")

    def _restore(self, live_only: bool = False) -> None:
        """The lab's own settings again, after every exercise. Interrupted, only what
        applies live is restored (at once); a re-provision is left to ``lab_up``."""
        changed = reconfigure.changes(self.lab.config, self.base.config)
        if not changed:
            return
        if live_only and not reconfigure.is_live(changed):
            log.info(f"workshop: the lab keeps the exercise's {', '.join(changed)}; "
                     "`nox -s lab_up` applies lab.toml again")
            return
        _print("  Restoring the lab's own settings")
        self.raw = tomllib.loads(self.base_path.read_text(encoding="utf-8"))
        self._apply(self.base_path)

    # -- plumbing ----------------------------------------------------------------------------

    def _open_session(self) -> None:
        session = ChaosSession(self.lab, self.run_dir, self.run_id)
        session.on_event = self.live.feed
        session.convergence_bound_s = CONVERGENCE_BOUND_S
        self.session = session
        self.live.use_topology(self.lab.topology)
        with contextlib.suppress(NotSettledError):  # a broken lab: the next recording draws it
            self.live.seed(session.settle(5, quiet=True))

    def _close_session(self) -> None:
        if self.session:
            self.session.close()
            self.session = None

    def _write(self) -> None:
        self.record.write(self.run_dir / runs.RESULTS)

    def _summary(self) -> None:
        _print("")
        for e in self.record.workshop:
            right, asked = e.predictions
            state = "ERROR: " + e.error if e.error else ("done" if e.complete else "unfinished")
            checks = f", {e.checks_failed} check(s) FAILED" if e.checks_failed else ""
            _print(f"workshop: {e.name}: {state}; predictions right {right}/{asked}{checks}")
        _print(f"workshop: results: {self.run_dir / runs.RESULTS}")


def _merged(base: dict, overlay: dict) -> dict:
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for section, values in overlay.items():
        merged.setdefault(section, {}).update(values)
    return merged


def _flatten(overlay: dict) -> list[str]:
    return [f"{section}.{key} = {value!r}" for section, values in overlay.items()
            for key, value in values.items()]


def _number(value: object) -> float | None:
    """A measured value as recorded: the number, or None (does not apply, or unknown)."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _measures_line(measures: dict) -> str:
    shown = [f"{k} {'-' if v is None else f'{v:g}'}" for k, v in measures.items()]
    return ", ".join(shown)


def _print(text: str) -> None:
    for paragraph in text.split("\n"):
        log.info(textwrap.fill(paragraph, 100, subsequent_indent="  ") if paragraph else "")
