"""Provision one machine over Fabric: engine, images, bundle, ``compose up``.

Every step looks before it acts, so a second run on a healthy lab changes nothing and
says so. The steps, in order:

1. detect the OS (``/etc/os-release``) and check that commands can run as root;
2. make sure a Docker engine and a compose command exist and answer: on a bare host,
   install them with the OS's steps (:mod:`lab.engine_install`), one at a time, so a
   failure names the host and the step, and stop what was started when one fails;
3. make sure the images the bundle names are present (load the offline base image, or
   pull from a registry);
4. upload the bundle when its digest differs from the one on the machine;
5. ``compose up -d --build`` when the bundle changed or a service is not running.
"""

from __future__ import annotations

import io
import logging
import shlex
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lab.engine_install import START_ENGINE, STOP_ENGINE, OsRelease, Step, install_plan
from lab.errors import LabError, ProvisionError, RemoteCommandError
from lab.remote import Machine
from lab.render import COMPOSE_PROJECT, DATA_DISK_SOURCE, DATA_DISKS, REMOTE_ROOT, Bundle

log = logging.getLogger(__name__)


# Unmount the instances' own data disks ([redis] data_disk_mb), found by their source
# name, before their directories are removed (a mount point cannot be).
UNMOUNT_DATA_DISKS = (f"findmnt -rn -S {DATA_DISK_SOURCE} -o TARGET | "
                      f"grep '^{REMOTE_ROOT}/data/' | xargs -r umount -l")

ENGINE_WAIT_S = 60
INSTALL_STEP_TIMEOUT_S = 1800  # a package manager on a slow mirror


@dataclass(frozen=True)
class ImagePlan:
    """How a machine gets the images its bundle names."""

    source: str  # "offline" or "registry"
    images: tuple[str, ...]  # image names the bundle uses
    offline_tarball: Path | None = None  # docker-save tarball of the offline base image


@dataclass
class Report:
    """What provisioning did on one machine, and how long each step took."""

    server: str
    changes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def provision(machine: Machine, bundle: Bundle, plan: ImagePlan) -> Report:
    report = Report(machine.server.name)

    def step(name: str, fn: Callable[[], str | None]) -> str | None:
        started = time.monotonic()
        change = fn()
        report.seconds[name] = round(time.monotonic() - started, 2)
        if change:
            report.changes.append(change)
            log.info(f"  {machine.server.name}: {change} ({report.seconds[name]:.1f} s)")
        return change

    os = detect_os(machine)
    require_sudo(machine)
    installed = step("engine", lambda: ensure_engine(machine, os))
    compose = compose_command(machine)  # found once, used by every later step
    if installed is None:
        log.info(f"  {machine.server.name}: {engine_versions(machine, compose)} on "
                 f"{os.label}: nothing to install")
    step("images", lambda: ensure_images(machine, plan))
    bundle_changed = step("bundle", lambda: upload_bundle(machine, bundle)) is not None
    step("compose", lambda: compose_up(machine, compose, bundle, bundle_changed))
    return report


def detect_os(machine: Machine) -> OsRelease:
    return OsRelease.parse(machine.run("cat /etc/os-release", sudo=False))


def require_sudo(machine: Machine) -> None:
    """Provisioning runs as root: through ``sudo -n`` unless the SSH user is root."""
    if machine.use_sudo and not machine.ok("true"):
        user = getattr(getattr(machine, "connection", None), "user", "the SSH user")
        raise ProvisionError(
            f"{machine.server.name}: step 'sudo': {user} cannot run commands as root without "
            "a password (`sudo -n true` failed); give it NOPASSWD sudo, or log in as root "
            "([ssh] user = \"root\", sudo = false)")


def ensure_engine(machine: Machine, os: OsRelease) -> str | None:
    """A Docker engine that answers, and a compose command; install or start them where
    needed, step by step (:mod:`lab.engine_install`). A step that fails stops what this
    call started and names the host and the step."""
    was_running = machine.ok("docker info >/dev/null 2>&1")
    if was_running and _compose_or_none(machine):
        return None
    change, installed = "engine started", False
    if not (machine.ok("command -v dockerd >/dev/null") and _compose_or_none(machine)):
        steps = install_plan(os)
        if steps is None:
            raise ProvisionError(
                f"{machine.server.name}: step 'install the engine': cannot install Docker on "
                f"{os.label}; supported are Debian/Ubuntu, CentOS 7 and EL9: install Docker "
                "and compose yourself, then run lab_up again")
        for step in steps:
            _run_step(machine, os, step)
        change = "engine installed"
        installed = True
    try:
        _run_step(machine, os, START_ENGINE)
        _wait_for_engine(machine, os)
        compose = _compose_or_none(machine)
        if not compose:
            raise ProvisionError(
                f"{machine.server.name}: step 'compose': neither `docker compose` nor "
                f"`docker-compose` answers on {os.label} after the install")
    except LabError:
        if not was_running:  # nothing half-installed left running; a host's own engine stays
            machine.run(STOP_ENGINE.command, check=False)
        raise
    return f"{change}: {engine_versions(machine, compose)} on {os.label}" if installed \
        else change


def engine_versions(machine: Machine, compose: str) -> str:
    """``Docker 26.1.5, docker compose 2.26.1``: what provisioning found or installed, with
    ``compose`` the command :func:`compose_command` found."""
    engine = machine.run("docker version --format '{{.Server.Version}}'", check=False).strip()
    version = machine.run(f"{compose} version --short", check=False).strip()
    return f"Docker {engine or '?'}, {compose} {version or '?'}"


def _run_step(machine: Machine, os: OsRelease, step: Step) -> None:
    try:
        machine.run(step.command, timeout=INSTALL_STEP_TIMEOUT_S)
    except RemoteCommandError as exc:
        raise ProvisionError(
            f"{machine.server.name}: step '{step.name}' failed on {os.label}: "
            f"{_telling_line(str(exc))}; fix the host (its package sources, its network), "
            "then run lab_up again (lab_down removes the lab)") from None


def _telling_line(error: str) -> str:
    """The line of a failed command's output that says why: the package manager's error
    line where there is one, else the last line."""
    lines = [line.strip() for line in error.splitlines()[1:] if line.strip()] \
        or [error.splitlines()[0]]
    for line in lines:
        if line.startswith(("E:", "Error", "No package", "No match", "Cannot find", "sudo:",
                            "W: Failed to fetch")):
            return line
    return lines[-1]


def _wait_for_engine(machine: Machine, os: OsRelease) -> None:
    if not machine.ok("command -v docker >/dev/null"):
        raise ProvisionError(
            f"{machine.server.name}: step 'engine answers': no `docker` command on {os.label} "
            "after the install (its CLI is a package of its own there?)")
    deadline = time.monotonic() + ENGINE_WAIT_S
    while not machine.ok("docker info >/dev/null 2>&1"):
        if time.monotonic() > deadline:
            tail = machine.run("tail -3 /var/log/dockerd.log /var/log/docker.log 2>/dev/null",
                               check=False).strip().splitlines()
            raise ProvisionError(
                f"{machine.server.name}: step 'engine answers': the Docker engine on "
                f"{os.label} did not answer within {ENGINE_WAIT_S} s"
                + (f": {tail[-1]}" if tail else ""))
        time.sleep(1)


def _compose_or_none(machine: Machine) -> str | None:
    try:
        return compose_command(machine)
    except RemoteCommandError:
        return None


def compose_command(machine: Machine) -> str:
    """``docker compose`` (v2) where present, else ``docker-compose`` (the article's)."""
    if machine.ok("docker compose version >/dev/null 2>&1"):
        return "docker compose"
    if machine.ok("docker-compose version >/dev/null 2>&1"):
        return "docker-compose"
    raise RemoteCommandError(
        f"{machine.server.name}: neither `docker compose` nor `docker-compose` is installed"
    )


def ensure_images(machine: Machine, plan: ImagePlan) -> str | None:
    missing = [i for i in plan.images
               if not machine.ok(f"docker image inspect {shlex.quote(i)} >/dev/null 2>&1")]
    if not missing:
        return None
    if plan.source == "registry":
        for image in missing:
            if not machine.ok(f"docker pull -q {shlex.quote(image)}"):
                raise RemoteCommandError(
                    f"{machine.server.name}: cannot pull {image}; without a registry use "
                    '[images] source = "offline" in lab.toml'
                )
        return f"pulled {', '.join(missing)}"
    tarball = plan.offline_tarball
    assert tarball is not None
    shared = f"/lab-images/{tarball.name}"
    if machine.ok(f"test -s {shared}"):
        machine.run(f"docker load -q -i {shared}")
        return f"loaded {', '.join(missing)} from the shared image cache"
    remote = f"/tmp/{tarball.name}"
    machine.put(str(tarball), remote)
    machine.run(f"docker load -q -i {remote} && rm -f {remote}")
    return f"uploaded and loaded {', '.join(missing)}"


def upload_bundle(machine: Machine, bundle: Bundle) -> str | None:
    digest_file = f"{REMOTE_ROOT}/.bundle-digest"
    current = machine.run(f"cat {digest_file} 2>/dev/null", check=False).strip()
    if current == bundle.digest:
        return None
    staging = "/tmp/redis-ha-lab-bundle.tar"
    machine.put(io.BytesIO(_tar(bundle)), staging)
    data_dirs = " ".join(f"{REMOTE_ROOT}/{d}" for d in bundle.data_dirs)
    machine.run(
        f"mkdir -p {REMOTE_ROOT} && rm -rf {REMOTE_ROOT}/conf {REMOTE_ROOT}/image && "
        f"tar -C {REMOTE_ROOT} -xf {staging} && rm -f {staging} && "
        f"mkdir -p {data_dirs} && echo {bundle.digest} > {digest_file}"
    )
    if any(f.path == DATA_DISKS for f in bundle.files):
        machine.run(f"{REMOTE_ROOT}/{DATA_DISKS}")
        return "bundle updated, data disks mounted"
    return "bundle updated"


def compose_up(machine: Machine, compose: str, bundle: Bundle, bundle_changed: bool) -> str | None:
    expected = _service_count(bundle)
    running = _running_services(machine)
    if not bundle_changed and running == expected:
        return None
    machine.run(
        f"{compose} -f {REMOTE_ROOT}/docker-compose.yml -p {COMPOSE_PROJECT} "
        "up -d --build --remove-orphans",
        timeout=900,
    )
    return f"compose up ({expected} services)"


def compose_down(machine: Machine, compose: str) -> None:
    """Stop and remove the lab's containers on ``machine`` (used by ``lab_down`` on SSH)."""
    machine.run(
        f"[ ! -f {REMOTE_ROOT}/docker-compose.yml ] || {compose} -f "
        f"{REMOTE_ROOT}/docker-compose.yml -p {COMPOSE_PROJECT} down -v --remove-orphans",
        timeout=300,
    )


def retire_stack(machine: Machine) -> None:
    """Stop the running deployment and drop its data (a new layout or engine is a new
    deployment: nothing of the old one may linger, see :func:`lab.up.run`)."""
    if not machine.ok(f"test -e {REMOTE_ROOT}/docker-compose.yml"):
        return  # never provisioned this far
    compose_down(machine, compose_command(machine))
    machine.run(f"{UNMOUNT_DATA_DISKS} && rm -rf {REMOTE_ROOT}/data")


def remove_stack(machine: Machine, images: tuple[str, ...] = ()) -> str:
    """Everything provisioning put on an existing host: containers, volumes, the bundle,
    and (when named) the images. The Docker engine stays: it may have been there before."""
    try:
        compose_down(machine, compose_command(machine))
    except RemoteCommandError:
        if machine.ok(f"test -e {REMOTE_ROOT}/docker-compose.yml"):
            raise  # a stack is there and compose cannot remove it: say so
    machine.run(f"{UNMOUNT_DATA_DISKS} && rm -rf {REMOTE_ROOT}")
    removed = "stack removed"
    present = [i for i in images
               if machine.ok(f"docker image inspect {shlex.quote(i)} >/dev/null 2>&1")]
    if present:
        machine.run("docker image rm " + " ".join(shlex.quote(i) for i in present))
        removed += f", images {', '.join(present)} removed"
    return removed


def _running_services(machine: Machine) -> int:
    out = machine.run(
        f"docker ps --filter label=com.docker.compose.project={COMPOSE_PROJECT} "
        "--filter status=running --format '{{.Names}}'",
        check=False,
    )
    return len(out.split())


def _service_count(bundle: Bundle) -> int:
    # One service per instance/Sentinel config, plus HAProxy.
    return len(bundle.data_dirs) + 1


def _tar(bundle: Bundle) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for f in bundle.files:
            data = f.content.encode()
            info = tarfile.TarInfo(f.path)
            info.size = len(data)
            info.mode = f.mode
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
