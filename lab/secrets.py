"""Per-lab secrets: the Redis password, the ACL users' passwords ([security] acl) and the
SSH key the lab's machines trust.

Generated on first use, stored under the lab's state directory with mode 0600, never
committed and never printed. :func:`redact` masks them in anything written for people.
"""

from __future__ import annotations

import json
import os
import secrets as _random
from dataclasses import dataclass, field, replace
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lab import adopt_users
from lab.acl import ROLES
from lab.config import LabConfig
from lab.errors import ConfigError
from lab.paths import LabPaths


@dataclass(frozen=True)
class LabSecrets:
    redis_password: str
    ssh_private_key: Path
    ssh_public_key: str
    acl_passwords: dict[str, str] = field(default_factory=dict)  # by role (lab.acl)
    # An adopted deployment's user per role ([adopt] users_file); the lab's own users
    # are named after their roles.
    acl_users: dict[str, str] = field(default_factory=dict)

    def redact(self, text: str) -> str:
        """Replace every secret in ``text`` by a placeholder."""
        for secret in (self.redis_password, *self.acl_passwords.values()):
            text = text.replace(secret, "<redacted>")
        return text


def load_or_create(paths: LabPaths) -> LabSecrets:
    """Return the lab's secrets, generating whatever is missing."""
    paths.ensure()
    stored = json.loads(paths.secrets.read_text()) if paths.secrets.exists() else {}
    # Hex only: the passwords go into redis.conf, sentinel.conf and HAProxy's tcp-check
    # strings, where other characters would need quoting.
    wanted = {"redis_password": stored.get("redis_password") or _random.token_hex(16),
              "acl": {role: (stored.get("acl") or {}).get(role) or _random.token_hex(16)
                      for role in ROLES}}
    if wanted != stored:  # made, or completed (a file from before the ACL roles)
        _write_private(paths.secrets, json.dumps(wanted) + "\n")
    password = wanted["redis_password"]
    if not paths.ssh_key.exists():
        key = Ed25519PrivateKey.generate()
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        _write_private(paths.ssh_key, private.decode())
        paths.ssh_key.with_suffix(".pub").write_text(public.decode() + " redis-ha-lab\n")
    public_key = paths.ssh_key.with_suffix(".pub").read_text().strip()
    return LabSecrets(password, paths.ssh_key, public_key, wanted["acl"])


def adopted_password(config: LabConfig) -> str:
    """An adopted deployment's Redis password, from [adopt] password_env or password_file."""
    adopt = config.adopt
    if adopt.password_env:
        value = os.environ.get(adopt.password_env, "")
        if not value:
            raise ConfigError(f"{config.source}: [adopt] password_env = {adopt.password_env!r}: "
                              "that environment variable is not set")
        return value
    path = Path(adopt.password_file).expanduser()
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{config.source}: [adopt] password_file = {str(path)!r}: "
                          f"cannot read it ({exc.strerror})") from None
    if not value:
        raise ConfigError(f"{config.source}: [adopt] password_file = {str(path)!r} is empty")
    return value


def with_adopted(config: LabConfig, secrets: LabSecrets) -> LabSecrets:
    """``secrets`` with an adopted deployment's own: its administrator's password and,
    with ``[security] acl``, each role's user and password ([adopt] users_file)."""
    secrets = replace(secrets, redis_password=adopted_password(config))
    if not config.security.acl:
        return secrets
    said = f"{config.source}: [adopt] users_file"
    users = adopt_users.read(config.adopt.users_file, said)
    return replace(secrets, acl_passwords=adopt_users.passwords(users, said),
                   acl_users={role: u.user for role, u in users.items()})


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)
