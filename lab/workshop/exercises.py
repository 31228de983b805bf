"""Exercises as data: one TOML file each under ``scenarios/exercises/``, no Python needed.

An exercise is a title, what the audience learns, and steps. Each step narrates (``say``)
and does at most one thing:

``scenario = "NAME"``  run a chaos scenario (its faults, hold and expectations), heal it
                       and measure it: one recorded history
``inject = [...]``     the same with faults named here: ``{ fault = "...", <params> }``,
                       held ``hold_s`` seconds (the wait), then healed
``overlay = {...}``    change the lab's settings for the rest of the exercise, e.g.
                       ``{ redis = { min_replicas_to_write = 1 } }`` or
                       ``{ lab = { layout = "spread" } }``; undone when the exercise ends
``fix = {...}``        break-fix: the learner edits the exercise's ``lab.toml`` copy (``--auto``
                       applies these values instead); the change is then applied

A fault step may carry a ``predict`` (the room's guess, asked before the fault) and a
``check`` (a rule the measured numbers must meet, e.g. after a fix); both name a
``measure`` from the one vocabulary of measures (:mod:`lab.measures`). A
prediction is either multiple choice (each choice a range of the measure: the right one
is the one the measured value falls in) or a number (right when within ``within`` of the
measured value). ``explain`` is shown after the measurement, ``hint`` on request.

:func:`load` validates a file and raises :class:`ExerciseError` with one line naming the
field, e.g. ``happy-failover.toml: steps[2].predict.measure = 'speed': unknown measure``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab import config as config_module
from lab import measures
from lab.chaos import faults
from lab.chaos import scenarios as scenario_module
from lab.errors import ConfigError
from lab.paths import PROJECT_ROOT

__all__ = ["EXERCISE_DIR", "OVERLAY_KEYS", "Check", "Choice", "Exercise", "ExerciseError",
           "Grade", "Prediction", "Step", "load", "load_all", "select"]

EXERCISE_DIR = PROJECT_ROOT / "scenarios" / "exercises"

# What an overlay (or a fix) may change: settings a running lab can take, live or by
# re-provisioning what they touch (lab.reconfigure).
OVERLAY_KEYS = {
    "lab": ("layout",),
    "redis": ("min_replicas_to_write", "min_replicas_max_lag", "repl_diskless_sync_delay",
              "masterauth_on_masters", "persistence"),
    "sentinel": ("quorum", "down_after_ms", "failover_timeout_ms", "parallel_syncs"),
    "haproxy": ("check_interval_ms",),
}
MAX_HOLD_S = 120.0


class ExerciseError(ConfigError):
    """An exercise file that cannot be run, or an unknown exercise (exit status 2)."""


def _no_value(value: object) -> bool:
    """The measure does not apply, or could not be measured (never settled)."""
    return value is None or not isinstance(value, int | float)


@dataclass(frozen=True)
class Choice:
    """One answer of a multiple-choice prediction: a range of the measure (bounds
    inclusive), or ``absent`` (the measure does not apply: no failover happened, the lab
    never settled)."""

    label: str
    at_least: float | None = None
    at_most: float | None = None
    absent: bool = False

    def matches(self, value: object) -> bool:
        if _no_value(value):
            return self.absent
        if self.absent:
            return False
        return ((self.at_least is None or value >= self.at_least)
                and (self.at_most is None or value <= self.at_most))


@dataclass(frozen=True)
class Grade:
    """A prediction against the measurement: right or not, and the sentence saying so."""

    correct: bool
    text: str


@dataclass(frozen=True)
class Prediction:
    """What the room is asked before the fault, and how its answer is graded."""

    question: str
    measure: str
    unit: str = ""
    choices: tuple[Choice, ...] = ()  # multiple choice; empty: a number
    low: float = 0.0  # a number: the answers allowed
    high: float = math.inf
    within: float = 0.0  # a number: right when |answer - measured| <= within
    auto: float = 1  # what --auto answers (a choice's number, or a number)

    @property
    def kind(self) -> str:
        return "choice" if self.choices else "number"

    def parse(self, text: str) -> float:
        """The room's answer typed as text; ValueError saying what is allowed."""
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(self.allowed()) from None
        if self.choices:
            if not value.is_integer() or not 1 <= value <= len(self.choices):
                raise ValueError(self.allowed())
            return int(value)
        if not self.low <= value <= self.high:
            raise ValueError(self.allowed())
        return value

    def allowed(self) -> str:
        if self.choices:
            return f"answer with a choice's number, 1..{len(self.choices)}"
        bounds = f"of at least {self.low:g}" if math.isinf(self.high) \
            else f"{self.low:g}..{self.high:g}"
        return f"answer with a number {bounds}" + (f" ({self.unit})" if self.unit else "")

    def describe(self, answer: float) -> str:
        """The answer as the room gave it: ``2. a few (1-100)`` or ``4 s``."""
        if self.choices:
            return f"{int(answer)}. {self.choices[int(answer) - 1].label}"
        return f"{answer:g}{(' ' + self.unit) if self.unit else ''}"

    def grade(self, answer: float, measured: object) -> Grade:
        """Right or wrong, against the measured value (``None``: not applicable)."""
        shown = _shown(measured, self.unit)
        if self.choices:
            right = [i for i, c in enumerate(self.choices, 1) if c.matches(measured)]
            correct = int(answer) in right
            best = ", ".join(self.describe(i) for i in right) or "none of the choices"
            return Grade(correct, f"measured {shown}: " + (
                "the room was right" if correct else f"the right answer was {best}"))
        if _no_value(measured):
            return Grade(False, f"measured {shown}: nothing to compare the guess with")
        off = abs(answer - float(measured))
        correct = off <= self.within
        return Grade(correct, f"measured {shown}: the guess was {off:.3g}"
                              f"{(' ' + self.unit) if self.unit else ''} off "
                              + ("(within " if correct else "(more than ")
                              + f"{self.within:g})")


@dataclass(frozen=True)
class Check:
    """A rule the measured numbers must meet (a break-fix's proof that the fix worked)."""

    measure: str
    at_most: float | None = None
    at_least: float | None = None
    absent: bool = False
    says: str = ""  # what it proves, in words

    def holds(self, measured: object) -> bool:
        return Choice("", self.at_least, self.at_most, self.absent).matches(measured)

    def describe(self) -> str:
        if self.absent:
            return f"{self.measure} does not apply"
        parts = [f">= {self.at_least:g}" if self.at_least is not None else "",
                 f"<= {self.at_most:g}" if self.at_most is not None else ""]
        return f"{self.measure} " + " and ".join(p for p in parts if p)


@dataclass(frozen=True)
class Step:
    say: str
    scenario: str = ""
    inject: tuple[dict, ...] = ()  # {"fault": name, **params}
    hold_s: float = 8.0
    overlay: dict = field(default_factory=dict)
    fix: dict = field(default_factory=dict)
    predict: Prediction | None = None
    check: Check | None = None
    explain: str = ""
    hint: str = ""

    @property
    def action(self) -> str:
        """``fault``, ``overlay``, ``fix`` or ``narrate``."""
        if self.scenario or self.inject:
            return "fault"
        if self.overlay:
            return "overlay"
        if self.fix:
            return "fix"
        return "narrate"


@dataclass(frozen=True)
class Exercise:
    name: str  # the file's stem: what `nox -s workshop -- NAME` takes
    title: str
    learn: str
    steps: tuple[Step, ...]
    minutes: int = 5
    order: int = 100  # where --all and the list put it
    starts_with: dict = field(default_factory=dict)  # an overlay before the first step
    path: Path | None = None

    @property
    def fault_steps(self) -> list[int]:
        return [i for i, s in enumerate(self.steps, 1) if s.action == "fault"]


# -- loading ---------------------------------------------------------------------------


def load_all(directory: Path = EXERCISE_DIR) -> dict[str, Exercise]:
    """Every exercise in ``directory`` by name, in their ``order`` (a bad one:
    ExerciseError)."""
    found = [load(path) for path in sorted(directory.glob("*.toml"))]
    return {e.name: e for e in sorted(found, key=lambda e: e.order)}


def select(names: list[str], directory: Path = EXERCISE_DIR) -> list[Exercise]:
    """The exercises named, in the order given; an unknown name: ExerciseError."""
    paths = {p.stem: p for p in sorted(directory.glob("*.toml"))}
    for name in names:
        if name not in paths:
            raise ExerciseError(f"no exercise {name!r}; known: {', '.join(paths) or 'none'} "
                                "(`nox -s workshop` lists them)")
    return [load(paths[name]) for name in names]


def load(path: Path) -> Exercise:
    """Read and validate one exercise file."""
    raw = config_module.read_toml(path, path.name, error=ExerciseError)
    f = _Fields(path.name, raw, "")
    f.only("title", "learn", "minutes", "order", "starts_with", "steps")
    steps_raw = f.get("steps", list, required=True)
    if not steps_raw:
        f.fail("steps", steps_raw, "an exercise needs at least one step ([[steps]])")
    steps = tuple(_step(_Fields(path.name, s, f"steps[{i}]") if isinstance(s, dict)
                        else f.fail(f"steps[{i}]", s, "must be a table"))
                  for i, s in enumerate(steps_raw, 1))
    exercise = Exercise(
        name=path.stem, title=f.get("title", str, required=True),
        learn=f.get("learn", str, required=True), steps=steps,
        minutes=f.get("minutes", int, 5), order=f.get("order", int, 100),
        starts_with=_overlay(f, "starts_with", f.get("starts_with", dict, {})), path=path)
    if not exercise.fault_steps:
        f.fail("steps", "...", "no step runs a scenario or injects a fault: nothing to measure")
    return exercise


def _step(f: _Fields) -> Step:
    f.only("say", "scenario", "inject", "hold_s", "overlay", "fix", "predict", "check",
           "explain", "hint")
    actions = [k for k in ("scenario", "inject", "overlay", "fix") if k in f.raw]
    if len(actions) > 1:
        f.fail(actions[1], f.raw[actions[1]], f"a step does one thing; it already has "
                                              f"{actions[0]}: split it into two steps")
    scenario = f.get("scenario", str, "")
    if scenario:
        known = scenario_module.load_all()
        if scenario not in known:
            f.fail("scenario", scenario, f"unknown scenario; known: {', '.join(known)}")
    inject = tuple(_fault(f, i, item) for i, item in enumerate(f.get("inject", list, []), 1))
    hold_s = f.get("hold_s", float, 8.0)
    if not 0 <= hold_s <= MAX_HOLD_S:
        f.fail("hold_s", hold_s, f"must be 0..{MAX_HOLD_S:g} seconds")
    step = Step(
        say=f.get("say", str, required=True), scenario=scenario, inject=inject, hold_s=hold_s,
        overlay=_overlay(f, "overlay", f.get("overlay", dict, {})),
        fix=_overlay(f, "fix", f.get("fix", dict, {})),
        predict=_prediction(f.sub("predict")) if "predict" in f.raw else None,
        check=_check(f.sub("check")) if "check" in f.raw else None,
        explain=f.get("explain", str, ""), hint=f.get("hint", str, ""))
    if (step.predict or step.check) and step.action != "fault":
        f.fail("predict" if step.predict else "check", "...",
               "only a step that runs a scenario or injects faults measures anything")
    return step


def _fault(f: _Fields, i: int, item: Any) -> dict:
    where = f"inject[{i}]"
    if not isinstance(item, dict) or not isinstance(item.get("fault"), str):
        f.fail(where, item, 'must be a table like { fault = "stop-master", shard = 1 }')
    try:
        fault = faults.get(item["fault"])
    except ValueError as exc:
        f.fail(f"{where}.fault", item["fault"], str(exc).split("; ", 1)[-1])
    params = {k: v for k, v in item.items() if k != "fault"}
    unknown = sorted(set(params) - {p.name for p in fault.params})
    if unknown:
        f.fail(f"{where}.{unknown[0]}", params[unknown[0]],
               f"fault {fault.name} has no such parameter; its parameters: "
               f"{', '.join(p.name for p in fault.params) or 'none'}")
    return dict(item)


def _overlay(f: _Fields, key: str, table: dict) -> dict:
    for section, values in table.items():
        allowed = OVERLAY_KEYS.get(section)
        if allowed is None or not isinstance(values, dict):
            f.fail(f"{key}.{section}", values,
                   f"an overlay changes tables of settings: {', '.join(OVERLAY_KEYS)}")
        for name in values:
            if name not in allowed:
                f.fail(f"{key}.{section}.{name}", values[name],
                       f"cannot be changed by an exercise; [{section}] allows: "
                       f"{', '.join(allowed)}")
    try:  # the values too, as lab.toml would take them
        config_module.from_dict({section: dict(values) for section, values in table.items()},
                                source=f.source)
    except ConfigError as exc:
        f.fail(key, table, str(exc).split(": ", 1)[-1])
    return table


def _measure(f: _Fields) -> str:
    measure = f.get("measure", str, required=True)
    if measure not in measures.registered():
        f.fail("measure", measure, f"unknown measure; known: {', '.join(measures.registered())}")
    return measure


def _prediction(f: _Fields) -> Prediction:
    f.only("question", "measure", "unit", "choices", "range", "within", "auto")
    measure = _measure(f)
    choices = tuple(_choice(f.sub(f"choices[{i}]", c))
                    for i, c in enumerate(f.get("choices", list, []), 1))
    if "choices" in f.raw and len(choices) < 2:
        f.fail("choices", f.raw["choices"], "a multiple-choice prediction needs 2 or more")
    low, high = 0.0, math.inf
    if "range" in f.raw:
        bounds = f.raw["range"]
        if choices or not (isinstance(bounds, list) and len(bounds) == 2
                           and all(_number(b) for b in bounds) and bounds[0] < bounds[1]):
            f.fail("range", bounds, "a number prediction's allowed answers, [low, high] "
                                    "(and no choices)")
        low, high = float(bounds[0]), float(bounds[1])
    if not choices and "within" not in f.raw:
        f.fail("within", None, "a number prediction needs a grading rule: within = how far "
                               "from the measured value still counts as right")
    prediction = Prediction(
        question=f.get("question", str, required=True), measure=measure,
        unit=f.get("unit", str, ""), choices=choices, low=low, high=high,
        within=f.get("within", float, 0.0), auto=f.get("auto", float, 1 if choices else low))
    try:
        prediction.parse(str(prediction.auto))
    except ValueError as exc:
        f.fail("auto", prediction.auto, str(exc))
    return prediction


def _choice(f: _Fields) -> Choice:
    f.only("label", "at_least", "at_most", "absent")
    choice = Choice(f.get("label", str, required=True), f.get("at_least", float, None),
                    f.get("at_most", float, None), f.get("absent", bool, False))
    if not choice.absent and choice.at_least is None and choice.at_most is None:
        f.fail("label", choice.label, "a choice needs at_least, at_most or absent = true")
    return choice


def _check(f: _Fields) -> Check:
    f.only("measure", "at_most", "at_least", "absent", "says")
    check = Check(_measure(f), f.get("at_most", float, None), f.get("at_least", float, None),
                  f.get("absent", bool, False), f.get("says", str, ""))
    if not check.absent and check.at_least is None and check.at_most is None:
        f.fail("measure", check.measure, "a check needs at_most, at_least or absent = true")
    return check


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: object, unit: str) -> str:
    if _no_value(value):
        return "nothing (does not apply, or never settled)"
    return f"{value:g}{(' ' + unit) if unit else ''}"


class _Fields:
    """One TOML table of an exercise: typed reads, and errors naming the field."""

    def __init__(self, source: str, raw: dict, where: str) -> None:
        self.source, self.raw, self.where = source, raw, where

    def fail(self, key: str, value: object, why: str):
        name = f"{self.where}.{key}" if self.where else key
        shown = "" if value is None else f" = {value!r}"
        raise ExerciseError(f"{self.source}: {name}{shown}: {why}")

    def only(self, *keys: str) -> None:
        for key in self.raw:
            if key not in keys:
                self.fail(key, None, f"unknown field; known: {', '.join(keys)}")

    def sub(self, key: str, value: Any = None) -> _Fields:
        value = self.raw.get(key) if value is None else value
        if not isinstance(value, dict):
            self.fail(key, value, "must be a table")
        return _Fields(self.source, value, f"{self.where}.{key}" if self.where else key)

    def get(self, key: str, kind: type, default: Any = None, required: bool = False) -> Any:
        if key not in self.raw:
            if required:
                self.fail(key, None, "missing (required)")
            return default
        value = self.raw[key]
        if kind is float and _number(value):
            return float(value)
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            names = {str: "a string", int: "a whole number", float: "a number",
                     bool: "true or false", list: "a list", dict: "a table"}
            self.fail(key, value, f"must be {names[kind]}")
        return value
