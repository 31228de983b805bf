"""``nox -s matrix``: the same chaos scenarios on each engine, side by side.

For each engine in turn the running lab is brought to it (:func:`lab.reconfigure.apply`:
the machines and the cached images are reused, only the stack is replaced), the chosen
scenarios run as one chaos run, and ``reports/<matrix-id>/matrix.json``
(:class:`~lab.chaos.record.MatrixRecord`) is rewritten, so an interrupted matrix keeps
and reports the engines it finished. Afterwards the lab goes back to the engine it had.

Everything that can be refused is refused before the lab is touched: no or unknown
engines, an engine the mirror cannot provide (every missing image is built first),
unknown scenarios, a lab this machine did not provision.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from lab import config as config_module
from lab import engines, images, reconfigure, runs
from lab.chaos import campaign
from lab.chaos import scenarios as scenario_module
from lab.chaos.record import EngineRun, MatrixRecord
from lab.context import Lab
from lab.errors import LabError

__all__ = ["MatrixOptions", "parse_engines", "run"]

log = logging.getLogger(__name__)

Publish = Callable[[Path], None]


@dataclass(frozen=True)
class MatrixOptions:
    engines: tuple[str, ...]
    patterns: tuple[str, ...] = ()
    repeat: int = 1
    matrix_id: str | None = None
    accept_disruption: bool = False


def parse_engines(text: str) -> tuple[str, ...]:
    """``--engines A,B``: known, distinct, at least one."""
    chosen = tuple(e.strip() for e in text.split(",") if e.strip())
    known = ", ".join(engines.names())
    if not chosen:
        raise LabError(f"--engines is empty: name one or more, e.g. --engines "
                       f"redis-7.0,valkey-8.1 (known: {known})")
    for name in chosen:
        if name not in engines.ENGINES:
            raise LabError(f"--engines: unknown engine {name!r}; known: {known}")
    if len(set(chosen)) != len(chosen):
        raise LabError(f"--engines {text}: an engine is named twice")
    return chosen


def run(lab: Lab, options: MatrixOptions, publish_run: Publish,
        publish_matrix: Publish) -> int:
    """Run the matrix; the exit status is the worst of the engines' chaos runs."""
    chosen = _preflight(lab, options)
    matrix_id, matrix_dir = runs.new_run_dir("matrix", options.matrix_id)
    record = MatrixRecord(matrix_id, list(options.engines), [s.name for s in chosen],
                          options.repeat)
    path = matrix_dir / runs.MATRIX
    original_path = matrix_dir / "lab.toml"  # the lab's own settings, put back at the end
    raw = tomllib.loads(lab.paths.applied_config.read_text(encoding="utf-8"))
    original_path.write_text(tomli_w.dumps(raw))
    original_engine = lab.config.images.engine
    log.info(f"matrix: {matrix_id}: {len(chosen)} scenario(s) x {len(options.engines)} "
             f"engine(s): {', '.join(options.engines)}")
    record.write(path)
    try:
        for name in options.engines:
            entry = EngineRun(name)
            record.runs.append(entry)
            lab = _run_engine(lab, raw, name, entry, options, matrix_dir, publish_run)
            record.write(path)
            publish_matrix(matrix_dir)
        record.complete = True
    except KeyboardInterrupt:
        record.interrupted = True
        log.info(f"matrix: interrupted; the lab stays on engine {lab.config.images.engine}: "
                 "`nox -s lab_up` applies lab.toml again")
        raise
    else:
        record.restored = _restore(lab, original_path, original_engine)
    finally:
        record.write(path)
        publish_matrix(matrix_dir)
        _summary(record, matrix_dir)
    return record.exit_code()


def _preflight(lab: Lab, options: MatrixOptions) -> list:
    """The scenarios to run; refuses (LabError) anything that would fail part way."""
    runs.require_up(lab)
    if lab.config.adopted:
        raise LabError("an adopted deployment runs its own engine: the matrix needs a lab "
                       "that lab_up provisions")
    if lab.config.images.source != "offline":
        raise LabError('the matrix switches between offline images: set [images] source = '
                       '"offline" in lab.toml')
    if lab.is_inventory and not options.accept_disruption:
        raise LabError("a matrix injects faults: on an SSH inventory (real hosts) rerun with "
                       "--i-accept-disruption")
    try:
        chosen = scenario_module.select(scenario_module.load_all(), list(options.patterns))
    except ValueError as exc:
        raise LabError(str(exc)) from None
    if not chosen:
        raise LabError("-k matched no scenario: `nox -s chaos -- --list` lists them")
    log.info("matrix: images of every engine (built once, then cached):")
    mirror, suite = lab.config.images.mirror, lab.config.images.suite
    images.ensure(tuple(images.recipes(engines.get(name), mirror, suite)[0]
                        for name in options.engines), lab.paths)
    return chosen


def _run_engine(lab: Lab, raw: dict, name: str, entry: EngineRun, options: MatrixOptions,
                matrix_dir: Path, publish_run: Publish) -> Lab:
    """Bring ``lab`` to engine ``name`` and run the scenarios on it; the lab as it is now."""
    settings = {**raw, "images": {**raw.get("images", {}), "engine": name}}
    path = matrix_dir / f"lab-{name}.toml"
    path.write_text(tomli_w.dumps(settings))
    log.info(f"matrix: engine {name}: bringing the lab to it")
    try:
        lab, done = reconfigure.apply(lab, config_module.load(path), path)
    except LabError as exc:
        entry.error = f"switching to {name}: {str(exc).splitlines()[0]}"
        log.info(f"matrix: engine {name}: ERROR {entry.error}")
        return lab
    entry.switched, entry.switch_s = done.how, done.seconds
    log.info(f"matrix: engine {name}: {done.how} in {done.seconds:.1f} s")
    entry.run_id = f"{matrix_dir.name}-{name}"
    try:
        entry.exit_code = campaign.run(
            lab, list(options.patterns), profile=None, publish=publish_run,
            run_id=entry.run_id, repeat=options.repeat,
            accept_disruption=options.accept_disruption, slo=lab.config.slo)
    except LabError as exc:  # e.g. never settled: the next engine may still run
        entry.error = f"chaos on {name}: {str(exc).splitlines()[0]}"
        log.info(f"matrix: engine {name}: ERROR {entry.error}")
    return lab


def _restore(lab: Lab, original_path: Path, original_engine: str) -> str:
    if lab.config.images.engine == original_engine:
        return f"the lab stayed on its engine {original_engine}"
    log.info(f"matrix: putting the lab back on engine {original_engine}")
    try:
        _, done = reconfigure.apply(lab, config_module.load(original_path), original_path)
    except LabError as exc:
        return (f"could not put the lab back on {original_engine}: {str(exc).splitlines()[0]}"
                "; `nox -s lab_up` applies lab.toml again")
    return f"the lab is back on engine {original_engine} ({done.seconds:.1f} s)"


def _summary(record: MatrixRecord, matrix_dir: Path) -> None:
    state = "complete" if record.complete else "incomplete"
    for entry in record.runs:
        what = entry.error or f"run {entry.run_id} (exit {entry.exit_code})"
        switch = f", switched in {entry.switch_s:.1f} s" if entry.switch_s is not None else ""
        log.info(f"matrix: {entry.engine:<12} {what}{switch}")
    if record.restored:
        log.info(f"matrix: {record.restored}")
    log.info(f"matrix: {state}: {matrix_dir / 'index.html'}")
