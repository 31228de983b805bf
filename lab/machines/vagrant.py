"""The Vagrant backend, driven through python-vagrant.

Vagrant reads the machine list from a JSON file rendered from ``lab.toml`` (the
Vagrantfile itself never changes per lab) and keeps its state under the lab's state
directory, not in the source tree.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from lab import host, images
from lab.config import LabConfig
from lab.errors import LabError, PreflightError
from lab.machines.base import Machines, RestartUnsupported
from lab.paths import VAGRANTFILE_DIR, LabPaths
from lab.secrets import LabSecrets

log = logging.getLogger(__name__)



class VagrantMachines(Machines):
    # How Fabric logs in: with the key in ssh_config, then sudo (as on every Vagrant box).
    uses_agent = False
    sudo = True

    def __init__(self, config: LabConfig, paths: LabPaths, secrets: LabSecrets,
                 machine_image: str = "") -> None:
        self.config = config
        self.paths = paths
        self.secrets = secrets
        self.machine_image = machine_image
        self.provider = config.machines.provider
        self.uses_local_engine = self.provider == "docker"

    def sanity_checks(self) -> None:
        host.require_tool("vagrant")
        if self.uses_local_engine:  # the machines are containers of this host's engine
            host.require_docker_engine()
            host.check_address_range(self.config.machines.network, self.config.name)
            host.require_tool(images.BUILDER)  # the machine image is built here
            self._refuse_another_machine_image()
        else:  # VMs: a broken Vagrantfile or machine list is caught before `vagrant up`
            self.validate()

    def validate(self) -> None:
        """``vagrant validate`` on this lab's machine list with its provider (Vagrant's
        checks and the provider's own); the list is written to a scratch file, so nothing
        of the lab is created."""
        with tempfile.TemporaryDirectory(prefix="lab-validate-") as scratch:
            listing = Path(scratch) / "machines.json"
            self.write_machine_list(listing)
            env = self._env(listing)
            env["VAGRANT_DOTFILE_PATH"] = str(Path(scratch) / ".vagrant")
            result = subprocess.run(["vagrant", "validate"], cwd=VAGRANTFILE_DIR, env=env,
                                    capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            lines = [line.strip() for line in (result.stdout + result.stderr).splitlines()
                     if line.strip()]
            reasons = [line.lstrip("* ") for line in lines if line.startswith("*")]
            raise PreflightError(
                f"`vagrant validate` failed for provider {self.provider}: "
                f"{'; '.join(reasons) or (lines[-1] if lines else 'no output')}")

    def container_name(self, name: str) -> str:
        """The host container that *is* machine ``name`` (docker provider; the
        Vagrantfile names it so)."""
        return f"{self.config.name}-{name}"

    def restart(self, name: str) -> None:
        if not self.uses_local_engine:
            raise RestartUnsupported("restarting a whole machine is implemented for the docker "
                                     "provider only (VMs: use restart-server)")
        subprocess.run(["docker", "restart", "-t", "2", self.container_name(name)],
                       check=True, capture_output=True, timeout=120)

    # -- what Vagrant is told -------------------------------------------------------------

    def write_machine_list(self, target: Path | None = None) -> None:
        m = self.config.machines
        net = ipaddress.ip_network(m.network)
        data = {
            "name": self.config.name,
            "provider": self.provider,
            "machine_image": self.machine_image,
            "ssh_key": str(self.secrets.ssh_private_key),
            "public_key": self.secrets.ssh_public_key,
            "images_dir": str(self.paths.images),
            "netmask": str(net.netmask),
            "prefixlen": str(net.prefixlen),
            "box": m.box,
            "box_url": m.box_url,
            "cpus": m.cpus,
            "memory_mb": m.memory_mb,
            "servers": [{"name": s.name, "address": s.address} for s in self.config.servers],
        }
        if target is None:
            self.paths.ensure()
            target = self.paths.machines_json
        target.write_text(json.dumps(data, indent=2) + "\n")

    def _vagrant(self, quiet: bool = True):
        # Imported here: python-vagrant prints a warning at import when vagrant is missing,
        # and preflight has a clearer one-line message for that.
        import vagrant

        return vagrant.Vagrant(root=str(VAGRANTFILE_DIR), env=self._env(),
                               quiet_stdout=quiet, quiet_stderr=quiet)

    def _env(self, machine_list: Path | None = None) -> dict[str, str]:
        # python-vagrant's env= replaces the whole environment: start from ours.
        env = dict(os.environ)
        env.update({
            "LAB_MACHINES_JSON": str(machine_list or self.paths.machines_json),
            "VAGRANT_DOTFILE_PATH": str(self.paths.vagrant_dotfile),
            "VAGRANT_CHECKPOINT_DISABLE": "1",
            "VAGRANT_DEFAULT_PROVIDER": self.provider,
        })
        return env

    # -- lifecycle ------------------------------------------------------------------------

    def status(self) -> dict[str, str]:
        """Machine name -> Vagrant state ("running", "not_created", "stopped", ...)."""
        if not self.paths.machines_json.exists():
            return {s.name: "not_created" for s in self.config.servers}
        try:
            return {s.name: s.state for s in self._vagrant().status()}
        except subprocess.CalledProcessError as exc:
            raise LabError(f"`vagrant status` failed (exit {exc.returncode})") from None

    def up(self, retried: bool = False) -> list[str]:
        """Start every machine that is not running, in one ``vagrant up`` (Vagrant starts
        them in parallel where the provider can: the docker provider can, and locks the
        network it creates); return their names.

        The docker provider's parallel start is racy (one machine's action inspecting
        another's container as it is being created: "No such object";
        hashicorp/vagrant#5027): a failed start on it is tried once more, for the
        machines still not running."""
        self.write_machine_list()
        states = self.status()
        stopped = [s for s in self.config.servers if states.get(s.name) != "running"]
        if not stopped:
            return []
        for server in stopped:
            log.info(f"  vagrant up {server.name} ({server.address}, provider {self.provider})")
        # One machine: named; every machine: none named (the whole list, at once).
        vm_name = stopped[0].name if len(stopped) == 1 else None
        try:
            lines = self._vagrant(quiet=False).up(
                vm_name=vm_name, provider=self.provider, stream_output=True)
            for line in lines:
                line = line.rstrip()
                if line:
                    log.info(f"    {line}")
        except subprocess.CalledProcessError as exc:
            names = " ".join(s.name for s in stopped)
            if self.provider == "docker" and not retried:
                log.info(f"  vagrant up of {names} failed (exit {exc.returncode}); trying "
                         "once more for the machines not running")
                self.up(retried=True)
                return [s.name for s in stopped]
            raise LabError(
                f"`vagrant up` of {names} failed (exit {exc.returncode}); see the lines "
                "above, then `nox -s lab_down` to remove what was created"
            ) from None
        return [s.name for s in stopped]

    def _refuse_another_machine_image(self) -> None:
        """Vagrant keeps a created container as it is: machines of another image (bare or
        not, another Debian release) are only replaced by lab_down, so say so."""
        if not (self.uses_local_engine and self.machine_image):
            return
        for name in (s.name for s in self.config.servers):
            image = subprocess.run(  # "" when the machine was never created
                ["docker", "inspect", "-f", "{{.Config.Image}}", self.container_name(name)],
                capture_output=True, text=True).stdout.strip()
            if image and image != self.machine_image:
                raise LabError(
                    f"machine {name} of lab {self.config.name} runs {image}, but lab.toml now "
                    f"asks for {self.machine_image} ([machines] image, [images] suite); run "
                    "`nox -s lab_down` first: machines are only recreated from scratch")

    def ssh_config(self, name: str) -> str:
        """``vagrant ssh-config NAME``. It takes about 3 s a machine (Vagrant asks the
        provider), and every command that connects asks it. A container keeps its
        forwarded SSH port for life, so on the docker provider the answer is kept per
        running container and asked again only when the container is another one."""
        container = self._running_container(name)
        kept = self.paths.home / "ssh-config" / f"{name}.json"
        if container:
            try:
                saved = json.loads(kept.read_text())
                if saved["container"] == container:
                    return saved["text"]
            except (OSError, ValueError, KeyError):
                pass  # none kept yet, or unreadable: ask Vagrant
        text = self._vagrant().ssh_config(vm_name=name)
        if container:
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_text(json.dumps({"container": container, "text": text}))
        return text

    def _running_container(self, name: str) -> str:
        """The id of machine ``name``'s container when the docker provider runs it ("" on
        other providers, or when it does not run)."""
        if self.provider != "docker":
            return ""
        try:
            container = (self.paths.vagrant_dotfile / "machines" / name / "docker" / "id"
                         ).read_text().strip()
        except OSError:
            return ""
        answer = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", container],
                                capture_output=True, text=True, timeout=60)
        return container if answer.stdout.strip() == "true" else ""

    def destroy(self) -> None:
        """Destroy every machine Vagrant knows, then whatever of this lab it forgot."""
        if self.uses_local_engine and not host.docker_engine_answers():
            log.info("  no Docker engine answers, so no machine container can be running")
            return
        if self.paths.machines_json.exists():
            try:
                self._vagrant(quiet=False).destroy()
            except subprocess.CalledProcessError as exc:
                log.info(f"  vagrant destroy failed (exit {exc.returncode}); removing by label")
        if self.provider == "docker":
            self._remove_leftover_containers()
        shutil.rmtree(self.paths.home / "ssh-config", ignore_errors=True)  # see ssh_config

    def _remove_leftover_containers(self) -> None:
        leftovers = host.lab_containers(self.config.name)
        if leftovers:
            subprocess.run(["docker", "rm", "-f", "-v", *leftovers], capture_output=True)
            log.info(f"  removed {len(leftovers)} leftover machine container(s)")
        for network in host.lab_networks(self.config.machines.network, self.config.name):
            subprocess.run(["docker", "network", "rm", network["Id"]], capture_output=True)
            log.info(f"  removed network {network['Name']}")

