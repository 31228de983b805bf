"""Build the lab's images offline, with debootstrap and ``docker import``.

No container registry is reachable here, so ``FROM redis:...`` cannot be pulled. Two
images are bootstrapped from the host's own apt mirror instead (or ``[images] mirror``):

``base``
    redis-server, redis-sentinel and HAProxy: what every Redis, Sentinel and HAProxy
    container of the lab runs (``[images] source = "offline"``).
``machine``
    what a Vagrant docker-provider *machine* runs: sshd, the ``vagrant`` user, dockerd,
    docker-compose, iptables and redis-tools (Docker-in-Docker).

Each image is tagged with a digest of its recipe, so a cached image is reused until the
recipe changes. The base image is also saved as a tarball under the lab's image cache,
which provisioning loads on each machine.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lab import host
from lab.errors import PreflightError
from lab.paths import MACHINE_IMAGE_DIR, LabPaths

BASE_PACKAGES = ("redis-server", "redis-sentinel", "haproxy")
MACHINE_PACKAGES = (
    "openssh-server", "sudo", "docker.io", "docker-compose", "iptables", "iproute2",
    "redis-tools", "procps", "tini", "ca-certificates", "kmod",
)

log = logging.getLogger(__name__)
# Trimmed from every image: package caches, docs, manuals and translations.
_TRIM = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
         "usr/share/locale", "usr/share/info")


@dataclass(frozen=True)
class Recipe:
    """What an image is made of; its digest is the image's tag."""

    name: str
    suite: str
    mirror: str
    packages: tuple[str, ...]
    setup_dir: Path | None = None  # chroot setup script and files, for the machine image
    entrypoint: tuple[str, ...] = ()

    @property
    def tag(self) -> str:
        h = hashlib.sha256(f"{self.suite}|{self.mirror}|{','.join(self.packages)}".encode())
        if self.setup_dir:
            for f in sorted(self.setup_dir.rglob("*")):
                if f.is_file():
                    h.update(f.name.encode() + f.read_bytes())
        h.update(repr(self.entrypoint).encode())
        return f"{self.suite}-{h.hexdigest()[:12]}"

    @property
    def image(self) -> str:
        return f"redis-ha-lab/{self.name}:{self.tag}"


def recipes(mirror: str = "", suite: str = "") -> tuple[Recipe, Recipe]:
    """The (base, machine) recipes for the configured or the host's own mirror and suite."""
    if not (mirror and suite):
        host_mirror, host_suite = host.apt_source()
        mirror, suite = mirror or host_mirror, suite or host_suite
    base = Recipe("base", suite, mirror, BASE_PACKAGES)
    machine = Recipe(
        "machine", suite, mirror, MACHINE_PACKAGES, MACHINE_IMAGE_DIR,
        ("/usr/bin/tini", "--", "/usr/local/sbin/lab-machine-init"),
    )
    return base, machine


def ensure(recipes_: tuple[Recipe, ...], paths: LabPaths) -> dict[str, float]:
    """Build whichever images are missing (in parallel); return seconds spent per image."""
    missing = [r for r in recipes_ if not docker_image_exists(r.image)]
    for r in recipes_:
        if r not in missing:
            log.info(f"  image {r.image}: cached")
    if missing and not shutil.which("debootstrap"):
        raise PreflightError(
            "debootstrap is not installed; run scripts/setup-host (or apt-get install debootstrap)"
        )
    timings: dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for recipe, seconds in pool.map(lambda r: (r, _build(r, paths)), missing):
            timings[recipe.name] = seconds
    return timings


def saved_tarball(recipe: Recipe, paths: LabPaths) -> Path:
    """The image as a ``docker save`` tarball in the cache (written once per tag)."""
    target = paths.images / f"{recipe.name}-{recipe.tag}.tar"
    if not target.exists():
        paths.images.mkdir(parents=True, exist_ok=True)
        for stale in paths.images.glob(f"{recipe.name}-*.tar"):
            stale.unlink()
        partial = target.with_suffix(".partial")
        subprocess.run(["docker", "save", "-o", str(partial), recipe.image], check=True)
        partial.rename(target)
    return target


def docker_image_exists(image: str) -> bool:
    return subprocess.run(
        ["docker", "image", "inspect", image], capture_output=True
    ).returncode == 0


def _build(recipe: Recipe, paths: LabPaths) -> float:
    started = time.monotonic()
    log.info(f"  image {recipe.image}: debootstrap {recipe.suite} from {recipe.mirror} ...")
    # One cache per recipe: two debootstraps may run at once.
    cache = paths.images.parent / "debs" / recipe.name
    cache.mkdir(parents=True, exist_ok=True)
    workdir = paths.images.parent
    with tempfile.TemporaryDirectory(prefix=f"lab-{recipe.name}-", dir=workdir) as tmp:
        root = Path(tmp) / "root"
        _run([
            "debootstrap", "--variant=minbase", f"--cache-dir={cache}",
            f"--include={','.join(recipe.packages)}", recipe.suite, str(root), recipe.mirror,
        ], f"debootstrap of the {recipe.name} image")
        if recipe.setup_dir:
            staged = root / "tmp" / "lab-setup"
            shutil.copytree(recipe.setup_dir, staged)
            _run(["chroot", str(root), "/bin/sh", "/tmp/lab-setup/setup.sh"],
                 f"setup of the {recipe.name} image")
            shutil.rmtree(staged)
        for sub in _TRIM:
            shutil.rmtree(root / sub, ignore_errors=True)
        (root / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
        changes = []
        if recipe.entrypoint:
            quoted = ",".join(f'"{part}"' for part in recipe.entrypoint)
            changes = ["--change", f"ENTRYPOINT [{quoted}]"]
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        _run(["docker", "import", *changes, "-", recipe.image], f"import of {recipe.name}",
             stdin=tar.stdout)
        tar.wait()
    seconds = time.monotonic() - started
    log.info(f"  image {recipe.image}: built in {seconds:.0f} s")
    return seconds


def _run(cmd: list[str], what: str, stdin=None) -> None:
    result = subprocess.run(cmd, stdin=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise PreflightError(f"{what} failed (exit {result.returncode}):\n{tail}")


def remove_all() -> None:
    """Delete every redis-ha-lab image from the host engine (``nox -s lab_down -- --images``)."""
    out = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True, text=True,
    ).stdout
    names = [n for n in out.split() if re.match(r"^redis-ha-lab/", n)]
    if names:
        subprocess.run(["docker", "rmi", "-f", *names], capture_output=True)
        log.info(f"  removed images: {', '.join(names)}")
