"""The ssh backend: servers that already exist, reached over SSH as the inventory says.

Nothing is created or destroyed here: :meth:`up` only checks that every host answers on
its SSH port, and :meth:`ssh_config` writes the ``Host`` entries Fabric connects with
(user, port, key or agent, optional jump host), the same way the Vagrant backend hands
out ``vagrant ssh-config``. Provisioning, status, chaos and load then run unchanged.
"""

from __future__ import annotations

import logging
import os
import socket

from lab.at_once import each_at_once
from lab.config import LabConfig, Server
from lab.errors import LabError
from lab.machines.base import Machines

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 5


class SshInventory(Machines):
    def __init__(self, config: LabConfig) -> None:
        self.config = config
        self.ssh = config.ssh
        self.sudo = config.ssh.sudo

    def host_of(self, server: Server) -> str:
        return server.ssh_host or server.address

    def status(self) -> dict[str, str]:
        """Server name -> "reachable" or "unreachable" (its SSH port answers or not)."""
        answers = each_at_once(self._answers, self.config.servers)
        return {s.name: "reachable" if ok else "unreachable"
                for s, ok in zip(self.config.servers, answers, strict=True)}

    def _answers(self, server: Server) -> bool:
        if self.ssh.jump:
            return True  # only the jump host is reachable from here; Fabric will tell
        try:
            with socket.create_connection((self.host_of(server), self.ssh.port),
                                          timeout=PROBE_TIMEOUT_S):
                return True
        except OSError:
            return False

    def up(self) -> list[str]:
        """Nothing to start: fail with one line when a host does not answer."""
        states = self.status()
        down = [f"{s.name} ({self.host_of(s)}:{self.ssh.port})"
                for s in self.config.servers if states[s.name] != "reachable"]
        if down:
            raise LabError(f"no SSH answer from {', '.join(down)}; check the addresses and "
                           "[ssh] in lab.toml, and that sshd runs there")
        log.info(f"  {len(self.config.servers)} hosts answer on SSH (inventory, nothing to start)")
        return []

    def ssh_config(self, name: str) -> str:
        server = next(s for s in self.config.servers if s.name == name)
        lines = [f"Host {name}", f"  HostName {self.host_of(server)}",
                 f"  User {self.ssh.user}", f"  Port {self.ssh.port}"]
        if self.ssh.key:
            lines.append(f"  IdentityFile {os.path.expanduser(self.ssh.key)}")
        if self.ssh.jump:
            lines.append(f"  ProxyJump {self.ssh.jump}")
        return "\n".join(lines) + "\n"

    def destroy(self) -> None:
        """The hosts exist outside the lab: nothing to destroy (``lab_down`` removes what
        the lab put on them)."""

    @property
    def uses_agent(self) -> bool:
        return not self.ssh.key
