"""Adopt mode: a stack started by hand (plain `docker run`, no compose, nothing of the
lab's installed) is observed and attacked, and lab_down leaves it running.

Runs after test_1_provision_mode (file order), on the same hosts, once that lab is
down. The configs come from the lab's renderer for convenience; what is adopted is how
they are run: by hand, under other names, with other Sentinel monitor names.
"""

from __future__ import annotations

import secrets
import shlex
from pathlib import Path

import pytest

from lab import images, render
from lab.context import Lab
from lab.leftovers import TOUCHED
from lab.render import COMPOSE_PROJECT, REMOTE_ROOT
from tests.chaos.conftest import scenario
from tests.inventory.conftest import ssh_lab_toml
from tests.labs import recorded, run_lab

HANDMADE = "/srv/handmade"
MONITORS = ("cache-a", "cache-b", "cache-c")


def adopt_toml(directory: Path, key: Path, password_file: Path) -> Path:
    return ssh_lab_toml(
        directory, "rhl-adopted", key, mode="adopt",
        extra='[redis]\nrestart = "no"\n'  # docker run --restart=no, as started below
              f'[adopt]\nmonitor_names = "{",".join(MONITORS)}"\n'
              f'password_file = "{password_file}"\n')


def start_by_hand(machine, bundle, base_image: str, tarball: Path) -> None:
    """Each process in its own `docker run`, host networking, no compose, no labels."""
    machine.run(f"docker image inspect {base_image} >/dev/null 2>&1 || "
                f"docker load -q -i /lab-images/{tarball.name}")
    machine.run(f"mkdir -p {HANDMADE}")
    for f in bundle.files:
        if not f.path.startswith("conf/"):
            continue
        name = Path(f.path).name
        machine.run(f"printf %s {shlex.quote(f.content)} > {HANDMADE}/{name}")
        if name == "haproxy.cfg":
            command = f"haproxy -W -db -f {HANDMADE}/haproxy.cfg"
        else:  # redis and sentinel rewrite their config: run from a copy
            sentinel = " --sentinel" if name.startswith("sentinel") else ""
            command = (f"sh -c 'cp {HANDMADE}/{name} /data/{name} && "
                       f"exec redis-server /data/{name}{sentinel}'")
        machine.run(f"docker run -d --name handmade-{Path(name).stem} --network host "
                    f"--restart=no --tmpfs /data -v {HANDMADE}:{HANDMADE}:ro {base_image} "
                    f"{command}")


def remove_by_hand(machine) -> None:
    machine.run(f"docker ps -aq --filter name=handmade- | xargs -r docker rm -f; "
                f"rm -rf {HANDMADE}")


@pytest.fixture(scope="module")
def adopted(inventory, tmp_path_factory):
    directory = tmp_path_factory.mktemp("adopted")
    password = secrets.token_hex(16)
    password_file = directory / "redis-password"
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    config = adopt_toml(directory, inventory.vm_lab.secrets.ssh_private_key, password_file)
    lab = Lab.load(config)
    assert lab.secrets.redis_password == password
    base = lab.recipes()[0]
    names = render.Images(base.image, base.image)
    bundles = render.render(lab.config, lab.topology, password, names)
    tarball = images.saved_tarball(base, inventory.vm_lab.paths)
    machines = lab.connect_all()
    try:
        for machine, bundle in zip(machines, bundles, strict=True):
            start_by_hand(machine, bundle, base.image, tarball)
        yield config, lab, password
    finally:
        run_lab("down", config=config, env=inventory.env)
        for machine in machines:
            remove_by_hand(machine)
            machine.close()


def lab_things(lab) -> list[str]:
    """Anything of the lab's own stack on the hosts (there must be none)."""
    found = []
    for machine in lab.connect_all():
        try:
            if machine.ok(f"test -e {REMOTE_ROOT}"):
                found.append(f"{machine.server.name}: {REMOTE_ROOT}")
            labelled = machine.run(
                f"docker ps -aq --filter label=com.docker.compose.project={COMPOSE_PROJECT}")
            if labelled.strip():
                found.append(f"{machine.server.name}: compose containers")
        finally:
            machine.close()
    return found


def test_adopt_observes_the_deployment_and_installs_nothing(adopted, inventory):
    config, lab, password = adopted
    up = run_lab("up", config=config, env=inventory.env)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "nothing installed" in up.stdout and "compose" not in up.stdout
    status = run_lab("status", config=config, env=inventory.env)
    assert status.returncode == 0, status.stdout
    assert all(m in status.stdout for m in MONITORS)
    assert lab_things(lab) == []


def test_crash_master_against_the_adopted_stack(adopted, inventory):
    config, lab, password = adopted
    result = recorded("chaos", "-k", "crash-master", "-k", "partition-sentinels",
                      "--no-hypothesis", "--i-accept-disruption", config=config,
                      env=inventory.env)
    results = result.results
    assert result.returncode == 0, result.stdout
    crash = scenario(results, "crash-master")
    assert crash["status"] in ("pass", "finding"), crash
    # Its shard: with partition-sentinels beside it, it may have run in any lane.
    measures = crash["measures"][str(crash["target_shard"])]
    assert measures["failover_s"] is not None  # --restart=no: Sentinel had to fail over
    assert crash["convergence"]["settled"] is True  # heal started the killed container
    partition = scenario(results, "partition-sentinels")
    assert partition["status"] == "skipped"
    assert "adopt mode" in partition["findings"][0]
    page = result.page.read_text()
    assert password not in page
    assert "adopted deployment on an ssh inventory" in page and "watches cache-a" in page
    for machine in lab.connect_all():
        try:
            assert not machine.ok(f"test -e {TOUCHED}")  # healed: nothing left to put back
        finally:
            machine.close()
    assert lab_things(lab) == []


def test_lab_down_on_an_adopted_deployment_removes_nothing(adopted, inventory):
    config, lab, _ = adopted
    down = run_lab("down", config=config, env=inventory.env)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "removing nothing of the deployment" in down.stdout
    for machine in lab.connect_all():
        try:
            running = machine.run("docker ps -q --filter name=handmade- | wc -l").strip()
            assert int(running) == 7, machine.server.name  # 3 redis, 3 sentinels, haproxy
        finally:
            machine.close()
