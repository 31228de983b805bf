"""Errors that reach the user as one clear line.

Every error the user can fix (bad ``lab.toml``, no Docker engine, no ``vagrant``, an
address range already taken) is a :class:`LabError`: its message names what is wrong and
how to fix it, and the CLI turns it into exit status 2 without a traceback.
"""


class LabError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""

    exit_code = 2


class ConfigError(LabError):
    """``lab.toml`` is missing, unreadable, or has a bad field."""


class PreflightError(LabError):
    """The host is not ready: a missing tool, engine, or a taken address range."""


class NotSettledError(LabError):
    """The lab did not reach the settled state within the timeout."""

    exit_code = 1


class RemoteCommandError(LabError):
    """A command on a lab machine failed."""

    exit_code = 1


class ProvisionError(LabError):
    """A machine cannot be provisioned: the message names the host and the step (no sudo,
    an unsupported OS, a package manager that failed); nothing it started is left running."""
