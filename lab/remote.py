"""SSH access to the lab's machines, through Fabric.

A backend hands out OpenSSH ``ssh_config`` text (``vagrant ssh-config``, or the ssh
backend's inventory); it is parsed by paramiko and given to Fabric as-is, so host, port,
user, key and jump host come from one place. The user's own keys are never looked for;
the SSH agent is used only for an inventory that names no key.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import IO

import fabric
import paramiko

from lab.config import Server
from lab.errors import RemoteCommandError


@dataclass
class Machine:
    """One lab server and an open SSH connection to it."""

    server: Server
    connection: fabric.Connection
    use_sudo: bool = True  # False when the SSH user is root already

    def run(self, command: str, *, sudo: bool = True, check: bool = True,
            timeout: float | None = 600) -> str:
        """Run ``command`` (a shell string) and return its stdout; raise if it fails."""
        result = self._exec(command, sudo, timeout)
        if check and result.exited != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-12:])
            raise RemoteCommandError(
                f"{self.server.name}: `{_short(command)}` failed (exit {result.exited}):\n{tail}"
            )
        return result.stdout

    def ok(self, command: str, *, sudo: bool = True) -> bool:
        """True when ``command`` exits 0."""
        return self._exec(command, sudo, 120).exited == 0

    def _exec(self, command: str, sudo: bool, timeout: float | None):
        # ``sudo -n sh -c`` rather than Fabric's sudo(), which needs a password prompt
        # watcher and breaks with cd; the lab's users have NOPASSWD sudo.
        if sudo and self.use_sudo:
            command = f"sudo -n sh -c {shlex.quote(command)}"
        return self.connection.run(command, hide=True, warn=True, timeout=timeout,
                                   in_stream=False)

    def put(self, local: str | IO[bytes], remote: str) -> None:
        """Upload a local file (a path, or an open binary file) to ``remote``."""
        self.connection.put(local, remote)

    def close(self) -> None:
        self.connection.close()


def connect(server: Server, ssh_config_text: str, alias: str | None = None, *,
            agent: bool = False, sudo: bool = True) -> Machine:
    """A :class:`Machine` for ``server`` using the ``Host`` entry ``alias`` of the config."""
    ssh_config = paramiko.SSHConfig.from_text(ssh_config_text)
    config = fabric.Config(ssh_config=ssh_config, overrides={"load_ssh_configs": False})
    connection = fabric.Connection(
        alias or server.name,
        config=config,
        connect_timeout=15,
        connect_kwargs={"look_for_keys": False, "allow_agent": agent},
    )
    return Machine(server, connection, use_sudo=sudo)


def _short(command: str, limit: int = 120) -> str:
    return command if len(command) <= limit else command[: limit - 3] + "..."
