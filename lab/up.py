"""``lab_up``: machines up, provisioned, and settled, from one command.

Steps (each timed, for ``nox -s bench``):

1. preflight: tools, Docker engine, the lab's address range (nothing is created before
   every check passed);
2. images: the machine image and the offline base image, built once and cached;
3. render: one bundle per server, written under the lab's state directory;
4. machines: ``vagrant up`` each machine that is not running (ssh backend: check that
   every host of the inventory answers);
5. provision: over Fabric, all machines in parallel. A new layout or engine is a new
   deployment: the old stack is stopped on every server first and its data dropped, or
   Sentinels of the new one would learn replicas from instances of the old one still
   running (measured: they then "fix" a new replica back to its old master), and an
   engine would load another engine's RDB files;
6. settle: wait until the lab is settled (:mod:`lab.settle`).

A second run on a healthy lab builds nothing, starts nothing, uploads nothing and says
"nothing to change".

An adopted deployment (ssh backend, ``mode = "adopt"``) skips images, render and
provision: its hosts must answer, and it must be settled; nothing is installed.
"""

from __future__ import annotations

import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from lab import access_check, host, images, settle
from lab import config as config_module
from lab.context import Lab
from lab.errors import LabError
from lab.provision import ImagePlan, Report, provision, retire_stack

log = logging.getLogger(__name__)



@dataclass
class UpResult:
    seconds: dict[str, float] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    # Where provisioning's time went: each of its steps on the slowest machine.
    provision_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def preflight(lab: Lab) -> None:
    """Everything that can be checked before creating anything."""
    if lab.config.adopted:
        return  # nothing is built or installed: only SSH and the deployment itself count
    machines = lab.machines()
    if machines.uses_local_engine:  # running machines are checked against their image
        machines = lab.machines(lab.recipes()[1].image)
    machines.sanity_checks()
    # The offline base image is built here (the docker provider's checks asked already).
    if lab.config.images.source == "offline" and not machines.uses_local_engine:
        host.require_docker_engine()
        host.require_tool(images.BUILDER)
    if lab.config.images.source == "offline" or machines.uses_local_engine:
        lab.recipes()  # fails early when the host's mirror cannot be told


def run(lab: Lab, config_path: Path, *, machines_only: bool = False
        ) -> UpResult:
    """Bring the lab up; with ``machines_only``, stop once the machines run (unprovisioned,
    e.g. to rehearse an SSH inventory on them)."""
    result = UpResult()

    with _timed(result.seconds, "preflight"):
        log.info(f"preflight: {lab.config.name}, {lab.config.layout} layout, {lab.machines_label}")
        preflight(lab)
    if lab.config.adopted:
        return _adopt(lab, config_path, result)

    with _timed(result.seconds, "images"):
        log.info("images:")
        base, machine_image = lab.recipes()
        wanted = []
        if lab.config.images.source == "offline":
            wanted.append(base)
        if lab.machines().uses_local_engine:
            wanted.append(machine_image)
        built = images.ensure(tuple(wanted), lab.paths)
        result.changes += [f"built image {name}" for name in built]
        tarball = images.saved_tarball(base, lab.paths) \
            if lab.config.images.source == "offline" else None

    with _timed(result.seconds, "render"):
        bundles = lab.bundles()
        shutil.rmtree(lab.paths.bundles, ignore_errors=True)
        for bundle in bundles:
            bundle.write(lab.paths.bundles / bundle.server.name)
        replaced = _replaced_deployment(lab)
        lab.record_applied(config_path)

    with _timed(result.seconds, "machines"):
        log.info("machines:")
        machines = lab.machines(machine_image.image)
        started = machines.up()
        result.changes += [f"started machine {name}" for name in started]
        if not started and not lab.is_inventory:
            log.info(f"  {len(lab.config.servers)} machines running")
    if machines_only:
        log.info("lab_up: machines only: not provisioned")
        return result

    with _timed(result.seconds, "provision"):
        log.info("provision:")
        names = lab.image_names()
        plan = ImagePlan(lab.config.images.source,
                         tuple(sorted({names.redis_base, names.haproxy})), tarball)
        connections = lab.connect_all(machines)
        try:
            with ThreadPoolExecutor(max_workers=len(connections)) as pool:
                if replaced:
                    log.info(f"  a new deployment ({replaced}): stopping the old one everywhere")
                    list(pool.map(retire_stack, connections))
                    result.changes.append(f"replaced the deployment ({replaced})")
                reports: list[Report] = list(pool.map(
                    lambda m: provision(m, _bundle_for(bundles, m.server.name), plan),
                    connections))
        finally:
            for connection in connections:
                connection.close()
        for report in reports:
            result.changes += [f"{report.server}: {c}" for c in report.changes]
            for name, seconds in report.seconds.items():
                result.provision_seconds[name] = max(seconds,
                                                     result.provision_seconds.get(name, 0))
        if not any(r.changes for r in reports):
            log.info("  every machine is up to date")

    with _timed(result.seconds, "settle"):
        log.info("settle:")
        settle.wait(lab.config, lab.topology, lab.access_as("observer"))
        log.info("  settled")

    total = sum(result.seconds.values())
    breakdown = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    summary = f"{len(result.changes)} change(s)" if result.changed else "nothing to change"
    log.info(f"lab_up: {summary}; settled in {total:.1f} s ({breakdown})")
    return result


def _adopt(lab: Lab, config_path: Path, result: UpResult) -> UpResult:
    """Take an existing deployment as the lab: reachable hosts, and settled as it is."""
    with _timed(result.seconds, "machines"):
        log.info("machines:")
        lab.machines().up()
    lab.record_applied(config_path)
    access_check.check(lab)  # a wrong CA, password or permission: one line, not a timeout
    with _timed(result.seconds, "settle"):
        log.info("settle (adopted deployment: observed, nothing installed):")
        settle.wait(lab.config, lab.topology, lab.access_as("observer"))
        log.info("  settled")
    log.info(f"lab_up: adopted {lab.config.name}; settled in {sum(result.seconds.values()):.1f} s")
    return result


def _replaced_deployment(lab: Lab) -> str:
    """What makes this a new deployment rather than a change to the running one ("" when
    nothing does): the layout, the engine or the data disks differ from the applied
    lab.toml's (a data directory is not moved onto a disk of its own, or off it)."""
    try:
        applied = config_module.load(lab.paths.applied_config)
    except LabError:
        return ""  # nothing applied yet (or unreadable): a first deployment
    changed = [f"{what} {old} -> {new}" for what, old, new in (
        ("layout", applied.layout, lab.config.layout),
        ("engine", applied.images.engine, lab.config.images.engine),
        ("data_disk_mb", applied.redis.data_disk_mb, lab.config.redis.data_disk_mb))
        if old != new]
    return ", ".join(changed)


def _bundle_for(bundles, name):
    return next(b for b in bundles if b.server.name == name)


@contextmanager
def _timed(into: dict[str, float], name: str):
    """Record the wall time of the ``with`` body as ``into[name]``."""
    started = time.monotonic()
    try:
        yield
    finally:
        into[name] = round(time.monotonic() - started, 2)
