"""A lab as the verbs see it: config, topology, state paths, secrets and machines.

``lab_up`` records the ``lab.toml`` it applied; ``lab_down`` and ``status`` read that
record first, so they act on what is deployed even after ``lab.toml`` was edited or broken.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from lab import certificates, engine_install, images, render, topology
from lab import config as config_module
from lab.access import Access, Tls
from lab.at_once import each_at_once
from lab.config import LabConfig, Server
from lab.errors import ConfigError, LabError
from lab.machines import Machines, SshInventory, VagrantMachines
from lab.paths import LabPaths
from lab.remote import Machine, connect
from lab.secrets import LabSecrets, load_or_create, with_adopted
from lab.topology import Topology

log = logging.getLogger(__name__)


@dataclass
class Lab:
    config: LabConfig
    topology: Topology
    paths: LabPaths
    secrets: LabSecrets

    @classmethod
    def load(cls, config_path: Path, *, prefer_applied: bool = False) -> Lab:
        """The lab of ``config_path``; with ``prefer_applied``, the config it was brought
        up with (and, when ``config_path`` is broken, the only lab brought up here)."""
        try:
            config = config_module.load(config_path)
        except ConfigError as exc:
            applied = LabPaths.applied_labs()
            if not prefer_applied or len(applied) != 1:
                raise
            log.info(f"{exc}\n  -> acting on the lab that was brought up: {applied[0].parent.name}")
            config = config_module.load(applied[0])
        paths = LabPaths.for_lab(config.name)
        if prefer_applied and paths.applied_config.exists():
            wanted, config = config, config_module.load(paths.applied_config)
            changed = config_module.differences(config, wanted)
            if changed:
                log.info(f"{config_path} differs from the lab that is up "
                         f"({'; '.join(changed)}): acting on the lab as it was brought "
                         "up; `nox -s lab_up` applies the change")
        secrets = load_or_create(paths)
        if config.adopted:  # the deployment's own passwords, not ones the lab made up
            secrets = with_adopted(config, secrets)
        return cls(config, topology.build(config), paths, secrets)

    def record_applied(self, config_path: Path) -> None:
        shutil.copyfile(config_path, self.paths.applied_config)

    def forget_applied(self) -> None:
        self.paths.applied_config.unlink(missing_ok=True)

    @cached_property
    def _recipes(self) -> tuple[images.Recipe, images.Recipe]:
        return images.recipes(self.config.engine, self.config.images.mirror,
                              self.config.images.suite, self.config.machines.image)

    def recipes(self) -> tuple[images.Recipe, images.Recipe]:
        """(base, machine) image recipes; the host's apt sources are read once per lab."""
        return self._recipes

    def image_names(self) -> render.Images:
        if self.config.images.source == "registry":
            return render.Images(self.config.images.redis_image, self.config.images.haproxy_image)
        base = self.recipes()[0].image
        return render.Images(base, base)

    def needs_consent(self, accepted: bool) -> bool:
        """Faults touch real hosts (an SSH inventory) only with the user's explicit
        ``--i-accept-disruption``: the one consent rule of chaos, replay, the workshop and
        the matrix."""
        return self.is_inventory and not accepted

    def require_consent(self, accepted: bool, what: str) -> None:
        """:meth:`needs_consent`, refused in one line naming ``what`` would disrupt."""
        if self.needs_consent(accepted):
            raise LabError(f"{what} injects faults: on an SSH inventory (real hosts) rerun "
                           "with --i-accept-disruption")

    @property
    def access(self) -> Access:
        """How the lab's own clients connect to its instances and Sentinels."""
        return Access(password=self.secrets.redis_password, tls=self._tls())

    def _tls(self) -> Tls | None:
        """The CA the servers' certificates are checked against: the lab's own, or an
        adopted deployment's (with its client certificate, if it asks for one)."""
        if not self.config.security.tls:
            return None
        adopt = self.config.adopt
        if not self.config.adopted:
            return Tls(certificates.ca_file(self.paths))
        return Tls(Path(adopt.ca_file).expanduser(),
                   Path(adopt.client_cert_file).expanduser() if adopt.client_cert_file
                   else None,
                   Path(adopt.client_key_file).expanduser() if adopt.client_key_file else None)

    def access_as(self, role: str) -> Access:
        """How one role (lab.acl: app, observer, ...) connects: its own ACL user with
        ``[security] acl``, the lab's password otherwise (and, in an adopted deployment,
        the administrator's for a role its users file leaves out)."""
        if not self.config.security.acl or role not in self.secrets.acl_passwords:
            return self.access
        return replace(self.access, username=self.secrets.acl_users.get(role, role),
                       password=self.secrets.acl_passwords[role])

    @property
    def masterauth(self) -> str:
        """The password replicas authenticate with (the replication user's with ACL)."""
        return self.secrets.acl_passwords["replication"] if self.config.security.acl \
            else self.secrets.redis_password

    @property
    def is_inventory(self) -> bool:
        """True for the ssh backend: hosts that exist, which chaos must not touch unasked."""
        return self.config.machines.backend == "ssh"

    @property
    def machines_label(self) -> str:
        """How the report and the logs name the machines' backend."""
        if self.is_inventory:
            what = "adopted deployment on an ssh inventory" if self.config.adopted \
                else "ssh inventory"
            return f"{what} ({self.config.ssh.user}@, port {self.config.ssh.port})"
        m, suite = self.config.machines, self.config.images.suite
        what = f"vagrant, provider {m.provider}"
        if m.provider == "docker":  # which machines: bare or not, which Debian
            what += (", bare machines" if m.image == "bare" else "") + (
                f", Debian {engine_install.DEBIAN_RELEASES[suite]}" if suite else "")
        return what

    def machines(self, machine_image: str = "") -> Machines:
        if self.is_inventory:
            return SshInventory(self.config)
        return VagrantMachines(self.config, self.paths, self.secrets, machine_image)

    def connect(self, server: Server, machines: Machines | None = None,
                ssh_config_text: str | None = None) -> Machine:
        """One SSH connection to ``server`` as its backend says."""
        machines = machines or self.machines()
        text = ssh_config_text or machines.ssh_config(server.name)
        return connect(server, text, agent=machines.uses_agent, sudo=machines.sudo)

    def bundles(self) -> list[render.Bundle]:
        tls = certificates.ensure(self.paths, self.config.servers) \
            if self.config.security.tls else None
        return render.render(self.config, self.topology, self.secrets.redis_password,
                             self.image_names(), tls,
                             self.secrets.acl_passwords if self.config.security.acl else None)

    def connect_all(self, machines: Machines | None = None) -> list[Machine]:
        """One SSH connection per server (``vagrant ssh-config`` read in parallel)."""
        machines = machines or self.machines()
        servers = self.config.servers
        configs = each_at_once(lambda s: machines.ssh_config(s.name), servers)
        return [self.connect(s, machines, text) for s, text in zip(servers, configs, strict=True)]
