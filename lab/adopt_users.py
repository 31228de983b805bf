"""An adopted deployment's ACL users: which user each of the lab's client roles connects
as, and where its password comes from (``[adopt] users_file``, never a command line).

The file is TOML, one table per role the lab connects as (``app``: the workload and
Locust; ``observer``: the observers, settle and status)::

    [app]
    user = "orders-service"
    password_file = "/etc/lab/app.pw"     # or password_env = "APP_REDIS_PASSWORD"

    [observer]
    user = "monitoring"
    password_env = "MONITORING_REDIS_PASSWORD"

A role left out connects as the deployment's administrator (``[adopt] password_env`` or
``password_file``, the default user). The other roles of :mod:`lab.acl` (replication,
sentinel, check) are the deployment's own business: the lab never connects as them.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from lab.acl import CLIENTS
from lab.errors import ConfigError

__all__ = ["AdoptedUser", "passwords", "read"]

_KEYS = {"user", "password_env", "password_file"}


@dataclass(frozen=True)
class AdoptedUser:
    role: str
    user: str
    password_env: str = ""
    password_file: str = ""


def read(path: str, said: str) -> dict[str, AdoptedUser]:
    """The roles of ``path`` by name, checked; ``said`` names the setting in errors."""
    where = f"{said} = {path!r}"
    try:
        data = tomllib.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read it ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not TOML ({exc})") from None
    users = {}
    for role, table in data.items():
        if role not in CLIENTS:
            raise ConfigError(f"{where}: unknown role {role!r}; the lab connects as "
                              f"{' and '.join(CLIENTS)} (the others are the deployment's own)")
        if not isinstance(table, dict) or set(table) - _KEYS or not table.get("user") \
                or bool(table.get("password_env")) == bool(table.get("password_file")):
            raise ConfigError(f"{where}: [{role}] needs user and exactly one of password_env "
                              "or password_file")
        users[role] = AdoptedUser(role, str(table["user"]), str(table.get("password_env", "")),
                                  str(table.get("password_file", "")))
    return users


def passwords(users: dict[str, AdoptedUser], said: str) -> dict[str, str]:
    """Each role's password, read from its environment variable or file."""
    found = {}
    for role, u in users.items():
        if u.password_env:
            value = os.environ.get(u.password_env, "")
            if not value:
                raise ConfigError(f"{said} [{role}] password_env = {u.password_env!r}: that "
                                  "environment variable is not set")
        else:
            try:
                value = Path(u.password_file).expanduser().read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{said} [{role}] password_file = {u.password_file!r}: "
                                  f"cannot read it ({exc.strerror})") from None
            if not value:
                raise ConfigError(f"{said} [{role}] password_file = {u.password_file!r} is "
                                  "empty")
        found[role] = value
    return found
