"""A fake :class:`lab.remote.Machine`: records every command, answers canned output.

Faults, heal and provisioning speak to machines only through ``run``/``ok``/``put``, so
their commands can be checked in milliseconds, beside the real-lab tests that prove the
commands work. Answers are ``(regex, stdout, exit status)``, first match wins; anything
unmatched answers "" with status 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lab.config import Server
from lab.errors import RemoteCommandError


@dataclass
class FakeMachine:
    server: Server
    answers: list[tuple[str, str, int]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    uploads: list[tuple[str, str]] = field(default_factory=list)
    closed: int = 0
    use_sudo: bool = True

    def answer(self, pattern: str, stdout: str = "", status: int = 0) -> FakeMachine:
        self.answers.append((pattern, stdout, status))
        return self

    def _reply(self, command: str) -> tuple[str, int]:
        self.commands.append(command)
        for pattern, stdout, status in self.answers:
            if re.search(pattern, command):
                return stdout, status
        return "", 0

    def run(self, command: str, *, sudo: bool = True, check: bool = True,
            timeout: float | None = 600) -> str:
        stdout, status = self._reply(command)
        if check and status != 0:
            raise RemoteCommandError(f"{self.server.name}: `{command}` failed (exit {status})")
        return stdout

    def ok(self, command: str, *, sudo: bool = True) -> bool:
        return self._reply(command)[1] == 0

    def put(self, local, remote: str) -> None:
        self.uploads.append((local if isinstance(local, str) else "<bytes>", remote))

    def close(self) -> None:
        self.closed += 1

    def ran(self, pattern: str) -> list[str]:
        """The recorded commands matching ``pattern``."""
        return [c for c in self.commands if re.search(pattern, c)]
