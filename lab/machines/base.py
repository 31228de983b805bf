"""The machine-backend protocol: what every backend answers for the rest of the lab.

A backend is a protocol, not a union type with flags (Molecule's ``Driver``): up,
status, SSH access, destroy, the checks it needs before creating anything, and, where
the backend can, restarting one machine (the ``restart-machine`` fault).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

__all__ = ["Machines", "RestartUnsupported"]


class RestartUnsupported(Exception):
    """This backend cannot restart a whole machine; the message says why."""


class Machines(ABC):
    """The lab's servers as one backend sees them."""

    # How Fabric logs in: the SSH agent (no key named) or the key in ssh_config; and
    # whether commands run through sudo.
    uses_agent: bool = False
    sudo: bool = True
    # True when the machines are containers of this host's Docker engine (Vagrant's
    # docker provider): they need the machine image, and the engine here must run.
    uses_local_engine: bool = False

    @abstractmethod
    def status(self) -> dict[str, str]:
        """Server name -> state ("running", "not_created", "reachable", ...)."""

    @abstractmethod
    def up(self) -> list[str]:
        """Make every machine run; return the names of those started."""

    @abstractmethod
    def ssh_config(self, name: str) -> str:
        """OpenSSH ``ssh_config`` text with a ``Host <name>`` entry for Fabric."""

    @abstractmethod
    def destroy(self) -> None:
        """Remove the machines this backend created (an inventory's hosts stay)."""

    def sanity_checks(self) -> None:  # noqa: B027 - most backends need nothing here
        """Raise :class:`~lab.errors.PreflightError` when this host cannot run the
        backend (a missing tool, engine, or a taken address range)."""

    def restart(self, name: str) -> None:
        """Restart machine ``name`` as a power cycle would; blocks until it was restarted
        (not until its services answer)."""
        raise RestartUnsupported(f"the {type(self).__name__} backend cannot restart a whole "
                                 "machine (use restart-server)")
