"""Locust workers on the lab's hosts: loads beyond what this machine can generate.

``nox -s load -- --workers redis2,redis3`` runs the Locust master here and one worker per
named host, started over Fabric. The hosts may have no route to PyPI, so the controller
brings everything: a wheelhouse of this Locust and redis-py (downloaded once from the
package index this machine uses, cached under ``.lab/cache/wheelhouse``), the locustfile
and the few lab modules it imports. A host needs Python of the controller's minor version
(the wheels are binary); installing is skipped when the same payload is already there.

The password reaches a worker as a 0600 file read into its environment, never in a
command line; the file goes when the worker stops.
"""

from __future__ import annotations

import hashlib
import io
import logging
import shlex
import socket
import subprocess
import sys
import tarfile
from importlib.metadata import version
from pathlib import Path

from lab.access import Access
from lab.errors import LabError
from lab.paths import PROJECT_ROOT, LabPaths
from lab.remote import Machine

log = logging.getLogger(__name__)

REMOTE = "/opt/redis-ha-lab-load"
MASTER_PORT = 5557
# What the locustfile imports from the lab package (and what those import).
# A name without ".py" is a package, shipped whole (without its __pycache__).
LAB_MODULES = ("__init__.py", "errors.py", "engines.py", "engine_install.py", "routes.py",
               "config.py", "measures", "topology.py", "failures.py", "access.py", "probe.py",
               "clients.py", "adopt_users.py", "acl.py")


def wheelhouse(paths: LabPaths) -> Path:
    """Wheels of this Locust and redis-py (and pip, to install them), downloaded once."""
    # async-timeout: redis-py needs it below Python 3.11.3 (Debian 12 has 3.11.2), and pip
    # judges such markers for this interpreter, even with --python-version: name it.
    pins = [f"locust=={version('locust')}", f"redis=={version('redis')}", "pip",
            "async-timeout>=4.0.3"]
    key = hashlib.sha256(" ".join([*pins, sys.platform, "py-minor-wheels"]).encode())
    target = paths.images.parent / "wheelhouse" / key.hexdigest()[:12]
    if (target / ".complete").exists():
        return target
    log.info(f"load: downloading wheels for the workers ({', '.join(pins[:2])})")
    target.mkdir(parents=True, exist_ok=True)
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:",
                           "--python-version", minor, "-d", str(target), *pins],
                          capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise LabError(f"cannot download Locust's wheels for the workers ({' '.join(tail)}); "
                       "this machine needs access to its package index once")
    (target / ".complete").write_text("\n".join(pins) + "\n")
    return target


def _without_bytecode(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if "__pycache__" in member.name else member


def payload(wheels: Path) -> tuple[bytes, str]:
    """A tarball of the wheels, the locustfile and the lab modules, and its digest."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for wheel in sorted(wheels.glob("*.whl")):
            tar.add(wheel, arcname=f"wheels/{wheel.name}")
        tar.add(PROJECT_ROOT / "loadtests" / "locustfile.py", arcname="src/locustfile.py")
        for module in LAB_MODULES:
            tar.add(PROJECT_ROOT / "lab" / module, arcname=f"src/lab/{module}",
                    filter=_without_bytecode)
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def install(machine: Machine, data: bytes, digest: str) -> str | None:
    """Put the payload on ``machine`` and install it, unless this digest is there."""
    want = f"{sys.version_info.major}.{sys.version_info.minor}"
    have = machine.run("python3 -c 'import sys; print(*sys.version_info[:2], sep=\".\")'",
                       check=False).strip()
    if have != want:
        raise LabError(f"{machine.server.name}: a Locust worker needs Python {want} like this "
                       f"machine (it has {have or 'no python3'}); pick other --workers")
    if machine.run(f"cat {REMOTE}/.digest 2>/dev/null", check=False).strip() == digest:
        return None
    staging = "/tmp/redis-ha-lab-load.tar"
    machine.put(io.BytesIO(data), staging)
    pip = f"$(ls {REMOTE}/wheels/pip-*.whl)/pip"
    machine.run(f"rm -rf {REMOTE} && mkdir -p {REMOTE} && tar -C {REMOTE} -xf {staging} && "
                f"rm -f {staging} && python3 {pip} install -q --no-index --find-links "
                f"{REMOTE}/wheels --target {REMOTE}/site locust redis && "
                f"echo {digest} > {REMOTE}/.digest", timeout=900)
    return "installed Locust for a worker"


def controller_address(toward: str) -> str:
    """This machine's address on the route to ``toward`` (where workers find the master)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((toward, 9))  # UDP: nothing is sent
        return probe.getsockname()[0]


def start(machine: Machine, master: str, access: Access, locust_args: list[str]) -> None:
    """A worker on ``machine``, in the background, connecting to the master as
    ``access`` (the app role's user and password)."""
    secret = f"{REMOTE}/password"
    machine.put(io.BytesIO((access.password or "").encode()), "/tmp/redis-ha-lab-load.pw")
    machine.run(f"install -m 600 /tmp/redis-ha-lab-load.pw {secret} && "
                "rm -f /tmp/redis-ha-lab-load.pw")
    args = " ".join(shlex.quote(a) for a in locust_args)
    # With TLS, the CA (and a client certificate) go with the worker: an adopted
    # deployment's host has no lab bundle holding them.
    tls = []
    for name, path in (access.tls.environment() if access.tls else {}).items():
        there = f"{REMOTE}/{name.lower()}.pem"
        machine.put(io.BytesIO(Path(path).read_bytes()), "/tmp/redis-ha-lab-load.pem")
        machine.run(f"install -m 600 /tmp/redis-ha-lab-load.pem {there} && "
                    "rm -f /tmp/redis-ha-lab-load.pem")
        tls.append(f"{name}={there}")
    user = shlex.quote(access.username or "")
    command = (f"cd {REMOTE} && LAB_REDIS_PASSWORD=$(cat {secret}) LAB_REDIS_USER={user} "
               f"{' '.join(tls)} PYTHONPATH={REMOTE}/site:"
               f"{REMOTE}/src nohup python3 -m locust -f src/locustfile.py --worker "
               f"--master-host {master} --master-port {MASTER_PORT} {args} "
               f"> {REMOTE}/worker.log 2>&1 < /dev/null & echo $! > {REMOTE}/worker.pid")
    machine.run(command)


def stop(machine: Machine, into: Path) -> None:
    """Stop the worker if it still runs, fetch its log, remove the password."""
    machine.run(f"[ ! -f {REMOTE}/worker.pid ] || kill $(cat {REMOTE}/worker.pid) "
                f"2>/dev/null; rm -f {REMOTE}/worker.pid {REMOTE}/password {REMOTE}/lab_tls_*.pem",
                check=False)
    if machine.ok(f"test -f {REMOTE}/worker.log"):  # absent when it never started
        machine.connection.get(f"{REMOTE}/worker.log",
                               str(into / f"worker-{machine.server.name}.log"))
