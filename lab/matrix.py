"""``nox -s matrix``: the same chaos scenarios on each variant of the lab, side by side.

A variant is one value of each dimension the command names:

``--engines A,B``    the Redis or Valkey release (:mod:`lab.engines`);
``--overlays F,G``   a ``lab.toml`` overlay: a TOML file whose tables are merged over the
                     lab's own (``base`` names no overlay), e.g. ``[redis]
                     min_replicas_to_write = 1``;
``--routes A,B``     how the workload reaches Redis (:mod:`lab.routes`);
``--acks A,B``       when its writes count (``plain``, ``wait:1``, ...).

Every combination runs, lab settings (engine x overlay) in the outer loop since changing
them means bringing the lab there (:func:`lab.reconfigure.apply`: the machines and the
cached images are reused), routes x acks inside (they only change the clients). Each
variant is one chaos run; ``reports/<matrix-id>/matrix.json``
(:class:`~lab.chaos.record.MatrixRecord`) is rewritten after each, so an interrupted
matrix keeps and reports what it finished. Afterwards the lab goes back to its settings.

Everything that can be refused is refused before the lab is touched: no dimension, an
unknown engine, route or ack mode, a bad overlay, a route a variant cannot offer, an engine
the mirror cannot provide (every missing image is built first), unknown scenarios.
"""

from __future__ import annotations

import itertools
import logging
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from lab import config as config_module
from lab import engines, images, reconfigure, routes, runs
from lab.chaos import campaign
from lab.chaos import scenarios as scenario_module
from lab.chaos.record import MatrixRecord, VariantRun
from lab.context import Lab
from lab.errors import LabError
from lab.recorded import RecordedRun

__all__ = ["BASE", "MatrixOptions", "Variant", "parse_acks", "parse_engines",
           "parse_overlays", "parse_routes", "run", "variants"]

log = logging.getLogger(__name__)

Publish = Callable[[Path], None]
BASE = "base"  # --overlays: the lab's own settings, no overlay


@dataclass(frozen=True)
class MatrixOptions:
    engines: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    repeat: int = 1
    matrix_id: str | None = None
    accept_disruption: bool = False
    routes: tuple[str, ...] = ()
    acks: tuple[str, ...] = ()
    overlays: tuple[Path | None, ...] = ()  # None: the base settings

    @property
    def dimensions(self) -> dict[str, list[str]]:
        """The dimensions named, with their values (what the columns' labels show)."""
        found = {"engine": list(self.engines),
                 "overlay": [_overlay_name(o) for o in self.overlays],
                 "route": list(self.routes), "ack": list(self.acks)}
        return {k: v for k, v in found.items() if v}

    @property
    def switches_lab(self) -> bool:
        return bool(self.engines or self.overlays)


@dataclass(frozen=True)
class Variant:
    engine: str
    overlay: Path | None
    route: str
    ack: str

    def label(self, dimensions: dict[str, list[str]]) -> str:
        """``valkey-8.1``, ``haproxy-sentinel · wait:1``: the values of what varies."""
        values = {"engine": self.engine, "overlay": _overlay_name(self.overlay),
                  "route": self.route, "ack": self.ack}
        return " · ".join(values[d] for d in dimensions) or self.engine


def _overlay_name(overlay: Path | None) -> str:
    return overlay.stem if overlay else BASE


def _listed(text: str, flag: str, example: str) -> tuple[str, ...]:
    chosen = tuple(e.strip() for e in text.split(",") if e.strip())
    if not chosen:
        raise LabError(f"{flag} is empty: name one or more, e.g. {flag} {example}")
    if len(set(chosen)) != len(chosen):
        raise LabError(f"{flag} {text}: a value is named twice")
    return chosen


def parse_engines(text: str) -> tuple[str, ...]:
    """``--engines A,B``: known, distinct, at least one."""
    chosen = _listed(text, "--engines", "redis-7.0,valkey-8.1")
    known = ", ".join(engines.names())
    for name in chosen:
        if name not in engines.ENGINES:
            raise LabError(f"--engines: unknown engine {name!r}; known: {known}")
    return chosen


def parse_routes(text: str) -> tuple[str, ...]:
    chosen = _listed(text, "--routes", "haproxy,haproxy-sentinel")
    for name in chosen:
        if name not in routes.ROUTES:
            raise LabError(f"--routes: unknown route {name!r}; known: "
                           f"{', '.join(routes.ROUTES)}")
    return chosen


def parse_acks(text: str) -> tuple[str, ...]:
    """``--acks plain,wait:1``: each a valid mode, by its canonical name."""
    return tuple(routes.parse_ack(a, "--acks").name
                 for a in _listed(text, "--acks", "plain,wait:1"))


def parse_overlays(text: str) -> tuple[Path | None, ...]:
    """``--overlays base,min-replicas.toml``: readable TOML files, or ``base``."""
    found: list[Path | None] = []
    for name in _listed(text, "--overlays", f"{BASE},min-replicas.toml"):
        if name == BASE:
            found.append(None)
            continue
        path = Path(name)
        config_module.read_toml(path, f"--overlays {name}", error=LabError)
        found.append(path)
    if len({_overlay_name(o) for o in found}) != len(found):
        raise LabError(f"--overlays {text}: two overlays have the same name (file stem)")
    return tuple(found)


def variants(options: MatrixOptions, config: config_module.LabConfig) -> list[Variant]:
    """Every combination, lab settings outermost; unnamed dimensions take the lab's own."""
    return [Variant(engine, overlay, route, ack) for engine, overlay, route, ack in
            itertools.product(options.engines or (config.images.engine,),
                              options.overlays or (None,),
                              options.routes or (config.clients.route,),
                              options.acks or (routes.parse_ack(config.clients.ack).name,))]


def run(lab: Lab, options: MatrixOptions, publish_run: Publish,
        publish_matrix: Publish) -> int:
    """Run the matrix; the exit status is the worst of the variants' chaos runs."""
    runs.require_up(lab)
    raw = tomllib.loads(lab.paths.applied_config.read_text(encoding="utf-8"))
    chosen, planned = _preflight(lab, options, raw)
    dimensions = options.dimensions
    matrix_id, matrix_dir = runs.new_run_dir("matrix", options.matrix_id)
    labels = [v.label(dimensions) for v in planned]
    record = MatrixRecord(matrix_id, list(dict.fromkeys(v.engine for v in planned)),
                          [s.name for s in chosen], options.repeat, dimensions=dimensions,
                          variants=labels)
    path = matrix_dir / runs.MATRIX
    original_path = matrix_dir / "lab.toml"  # the lab's own settings, put back at the end
    original_path.write_text(tomli_w.dumps(raw))
    log.info(f"matrix: {matrix_id}: {len(chosen)} scenario(s) x {len(planned)} variant(s): "
             f"{', '.join(labels)}")
    record.write(path)

    def finish() -> None:
        publish_matrix(matrix_dir)
        _summary(record, matrix_dir)

    with RecordedRun(record, lambda: record.write(path),
                     "matrix: interrupted; the lab keeps the variant it was on: "
                     "`nox -s lab_up` applies lab.toml again", finish):
        for variant, label in zip(planned, labels, strict=True):
            entry = VariantRun(variant.engine, route=variant.route, ack=variant.ack,
                               overlay=_overlay_name(variant.overlay) if variant.overlay
                               else "", label=label)
            record.runs.append(entry)
            entry.skipped = cannot_run(raw, variant)
            if entry.skipped:
                log.info(f"matrix: {label}: {entry.skipped}")
            else:
                lab = _run_variant(lab, raw, variant, entry, options, matrix_dir, publish_run)
            record.write(path)
            publish_matrix(matrix_dir)
        record.complete = True
        record.restored = _restore(lab, original_path)
    return record.exit_code()


def _preflight(lab: Lab, options: MatrixOptions, raw: dict) -> tuple[list, list[Variant]]:
    """The scenarios and the variants; refuses (LabError) anything that would fail part
    way."""
    if not options.dimensions:
        raise LabError("name what the matrix varies: one or more of --engines, --routes, "
                       "--acks, --overlays")
    runs.require_up(lab)
    if options.switches_lab and lab.config.adopted:
        raise LabError("an adopted deployment runs its own engine and settings: the matrix "
                       "can vary --routes and --acks there, not --engines or --overlays")
    if options.engines and lab.config.images.source != "offline":
        raise LabError('the matrix switches between offline images: set [images] source = '
                       '"offline" in lab.toml')
    lab.require_consent(options.accept_disruption, "a matrix")
    try:
        chosen = scenario_module.select(scenario_module.load_all(), list(options.patterns))
    except ValueError as exc:
        raise LabError(str(exc)) from None
    if not chosen:
        raise LabError("-k matched no scenario: `nox -s chaos -- --list` lists them")
    planned = variants(options, lab.config)
    for variant in planned:  # each variant's settings are valid and offer its clients
        if cannot_run(raw, variant):
            continue  # recorded as skipped, with the reason
        config = config_module.from_dict(_settings(raw, variant), source=_source(variant))
        config.clients_for(variant.route, variant.ack)
    if options.engines:
        log.info("matrix: images of every engine (built once, then cached):")
        mirror, suite = lab.config.images.mirror, lab.config.images.suite
        runnable = dict.fromkeys(v.engine for v in planned if not cannot_run(raw, v))
        images.ensure(tuple(images.recipes(engines.get(name), mirror, suite)[0]
                            for name in runnable), lab.paths)
    return chosen, planned


def cannot_run(raw: dict, variant: Variant) -> str:
    """Why the variant cannot run on this lab ("" when it can): a TLS lab and an engine
    built without TLS."""
    engine = engines.get(variant.engine)
    tls = _settings(raw, variant).get("security", {}).get("tls", False)
    return f"skipped: {engine.name} cannot speak TLS ({engine.no_tls})" \
        if tls and engine.no_tls else ""


def _settings(raw: dict, variant: Variant) -> dict:
    """The lab's own settings with the variant's overlay and engine."""
    merged = _merge(raw, tomllib.loads(variant.overlay.read_text(encoding="utf-8"))
                    if variant.overlay else {})
    return _merge(merged, {"images": {"engine": variant.engine}})


def _merge(base: dict, over: dict) -> dict:
    """``over``'s tables merged into ``base``'s, key by key (other values replace)."""
    merged = dict(base)
    for key, value in over.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and \
            isinstance(base.get(key), dict) else value
    return merged


def _source(variant: Variant) -> str:
    return f"lab.toml + {variant.overlay}" if variant.overlay else "lab.toml"


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", label.lower()).strip("-")


def _run_variant(lab: Lab, raw: dict, variant: Variant, entry: VariantRun,
                 options: MatrixOptions, matrix_dir: Path, publish_run: Publish) -> Lab:
    """Bring ``lab`` to the variant's settings and run the scenarios with its clients; the
    lab as it is now."""
    name = entry.name
    path = matrix_dir / f"lab-{_slug(variant.engine)}-{_overlay_name(variant.overlay)}.toml"
    path.write_text(tomli_w.dumps(_settings(raw, variant)))
    try:
        lab, done = reconfigure.apply(lab, config_module.load(path), path)
    except LabError as exc:
        entry.error = f"switching to {name}: {str(exc).splitlines()[0]}"
        log.info(f"matrix: {name}: ERROR {entry.error}")
        return lab
    entry.switched, entry.switch_s = done.how, done.seconds
    if done.how != "nothing":
        log.info(f"matrix: {name}: lab {done.how} in {done.seconds:.1f} s")
    entry.run_id = f"{matrix_dir.name}-{_slug(name)}"
    try:
        entry.exit_code = campaign.run(lab, campaign.CampaignOptions(
            tuple(options.patterns), profile=None, run_id=entry.run_id, repeat=options.repeat,
            accept_disruption=options.accept_disruption, slo=lab.config.slo,
            clients=lab.config.clients_for(variant.route, variant.ack)), publish=publish_run)
    except LabError as exc:  # e.g. never settled: the next variant may still run
        entry.error = f"chaos on {name}: {str(exc).splitlines()[0]}"
        log.info(f"matrix: {name}: ERROR {entry.error}")
    return lab


def _restore(lab: Lab, original_path: Path) -> str:
    original = config_module.load(original_path)
    if not reconfigure.changes(lab.config, original):
        return f"the lab stayed on its own settings (engine {original.images.engine})"
    log.info("matrix: putting the lab back on its own settings")
    try:
        _, done = reconfigure.apply(lab, original, original_path)
    except LabError as exc:
        return (f"could not put the lab back on its own settings: "
                f"{str(exc).splitlines()[0]}; `nox -s lab_up` applies lab.toml again")
    return f"the lab is back on its own settings (engine {original.images.engine}, " \
           f"{done.seconds:.1f} s)"


def _summary(record: MatrixRecord, matrix_dir: Path) -> None:
    state = "complete" if record.complete else "incomplete"
    width = max([len(e.name) for e in record.runs] + [12])
    for entry in record.runs:
        what = entry.skipped or entry.error or f"run {entry.run_id} (exit {entry.exit_code})"
        switch = f", lab {entry.switched} in {entry.switch_s:.1f} s" \
            if entry.switch_s and entry.switched != "nothing" else ""
        log.info(f"matrix: {entry.name:<{width}} {what}{switch}")
    if record.restored:
        log.info(f"matrix: {record.restored}")
    log.info(f"matrix: {state}: {matrix_dir / 'index.html'}")
