"""Provision one machine over Fabric: engine, images, bundle, ``compose up``.

Every step looks before it acts, so a second run on a healthy lab changes nothing and
says so. The steps, in order:

1. detect the OS (``/etc/os-release``);
2. make sure a Docker engine and a compose command exist and answer (installing them on
   CentOS 7, EL9 and Debian/Ubuntu where missing);
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

from lab.errors import RemoteCommandError
from lab.remote import Machine
from lab.render import COMPOSE_PROJECT, REMOTE_ROOT, Bundle

log = logging.getLogger(__name__)


DOCKER_CE_EL7 = "26.1.4"  # Docker CE's last release line for el7
ENGINE_WAIT_S = 60


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

    os_id = detect_os(machine)
    step("engine", lambda: ensure_engine(machine, os_id))
    compose = compose_command(machine)
    step("images", lambda: ensure_images(machine, plan))
    bundle_changed = step("bundle", lambda: upload_bundle(machine, bundle)) is not None
    step("compose", lambda: compose_up(machine, compose, bundle, bundle_changed))
    return report


def detect_os(machine: Machine) -> str:
    """``id-version`` from os-release, e.g. ``debian-12``, ``centos-7``, ``rocky-9.4``."""
    text = machine.run("cat /etc/os-release", sudo=False)
    values = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line
    )
    os_id = values.get("ID", "unknown").strip('"')
    version = values.get("VERSION_ID", "").strip('"')
    return f"{os_id}-{version}"


def ensure_engine(machine: Machine, os_id: str) -> str | None:
    """A Docker engine that answers; install or start it where needed."""
    if machine.ok("docker info >/dev/null 2>&1"):
        return None
    change = "engine started"
    if not machine.ok("command -v dockerd >/dev/null"):
        machine.run(_install_engine_script(os_id), timeout=1800)
        change = "engine installed"
    if machine.ok("[ -d /run/systemd/system ]"):
        machine.run("systemctl enable --now docker")
    elif not machine.ok("pgrep -x dockerd >/dev/null"):
        machine.run("nohup dockerd >/var/log/dockerd.log 2>&1 </dev/null &")
    deadline = time.monotonic() + ENGINE_WAIT_S
    while not machine.ok("docker info >/dev/null 2>&1"):
        if time.monotonic() > deadline:
            tail = machine.run("tail -5 /var/log/dockerd.log 2>/dev/null", check=False)
            raise RemoteCommandError(
                f"{machine.server.name}: the Docker engine did not answer within "
                f"{ENGINE_WAIT_S} s:\n{tail}"
            )
        time.sleep(1)
    return change


def _install_engine_script(os_id: str) -> str:
    family, _, version = os_id.partition("-")
    major = version.split(".")[0]
    if family in ("debian", "ubuntu"):
        return ("export DEBIAN_FRONTEND=noninteractive; apt-get update -q && "
                "apt-get install -y -q docker.io docker-compose iptables redis-tools")
    if family == "centos" and major == "7":
        # CentOS 7 is end-of-life: its mirrors moved to vault.centos.org.
        return (
            "sed -i -e 's|^mirrorlist=|#mirrorlist=|' "
            "-e 's|^#\\?baseurl=http://mirror.centos.org|baseurl=http://vault.centos.org|' "
            "/etc/yum.repos.d/CentOS-*.repo && yum install -y yum-utils iptables && "
            "yum-config-manager --add-repo https://download.docker.com/linux/centos/docker-ce.repo"
            f" && yum install -y docker-ce-{DOCKER_CE_EL7} docker-ce-cli-{DOCKER_CE_EL7} "
            "containerd.io docker-compose-plugin"
        )
    if family in ("rocky", "almalinux", "rhel", "centos") and major == "9":
        return (
            "dnf install -y dnf-plugins-core iptables && dnf config-manager --add-repo "
            "https://download.docker.com/linux/centos/docker-ce.repo && "
            "dnf install -y docker-ce docker-ce-cli containerd.io docker-compose-plugin"
        )
    raise RemoteCommandError(
        f"cannot install Docker on {os_id}: supported are Debian/Ubuntu, CentOS 7 and EL9; "
        "install Docker and compose yourself, then run lab_up again"
    )


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
    machine.run(f"rm -rf {REMOTE_ROOT}/data")


def remove_stack(machine: Machine, images: tuple[str, ...] = ()) -> str:
    """Everything provisioning put on an existing host: containers, volumes, the bundle,
    and (when named) the images. The Docker engine stays: it may have been there before."""
    try:
        compose_down(machine, compose_command(machine))
    except RemoteCommandError:
        if machine.ok(f"test -e {REMOTE_ROOT}/docker-compose.yml"):
            raise  # a stack is there and compose cannot remove it: say so
    machine.run(f"rm -rf {REMOTE_ROOT}")
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
