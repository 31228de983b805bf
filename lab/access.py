"""How the lab's own clients reach its instances and Sentinels: one object, built once
per lab (:attr:`lab.context.Lab.access`), instead of a password handed through every call.

The observers, settle, status, the workload, the faults, Locust and the bench all connect
with it; with TLS (``[security] tls = true``) it carries the lab CA the servers'
certificates are checked against, with ACL users (``acl = true``) the role's user
(:meth:`lab.context.Lab.access_as`). Nothing here is ever written to a report: the
passwords stay in memory and in the lab's private files.

Shipped to remote Locust workers (lab/load_workers.py): it imports nothing of the lab.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

__all__ = ["Access", "Tls"]


@dataclass(frozen=True)
class Tls:
    """TLS as a client of the lab: the CA that signed every server's certificate (the
    server's address must be in it), and optionally a client certificate."""

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None

    def redis_kwargs(self) -> dict:
        """redis-py's connection options for TLS, the server verified against the CA."""
        kwargs: dict = {"ssl": True, "ssl_ca_certs": str(self.ca_file),
                        "ssl_cert_reqs": "required", "ssl_check_hostname": True}
        if self.cert_file:
            kwargs.update(ssl_certfile=str(self.cert_file), ssl_keyfile=str(self.key_file))
        return kwargs

    def environment(self) -> dict[str, str]:
        """The same for the locustfile (loadtests/), which reads it from its environment."""
        files = {"LAB_TLS_CA": self.ca_file, "LAB_TLS_CERT": self.cert_file,
                 "LAB_TLS_KEY": self.key_file}
        return {name: str(path) for name, path in files.items() if path}

    def cli_args(self) -> list[str]:
        """The same for redis-cli and redis-benchmark."""
        args = ["--tls", "--cacert", str(self.ca_file)]
        if self.cert_file:
            args += ["--cert", str(self.cert_file), "--key", str(self.key_file)]
        return args


@dataclass(frozen=True)
class Access:
    """Credentials and TLS for one kind of endpoint: :attr:`sentinels` gives the
    Sentinels' (no password: the lab's Sentinels take none)."""

    password: str | None = None
    tls: Tls | None = None
    username: str | None = None  # an ACL user ([security] acl); None: the default user

    @property
    def sentinels(self) -> Access:
        return replace(self, password=None, username=None)

    def redis_kwargs(self) -> dict:
        """What redis-py needs besides the address."""
        user = {"username": self.username} if self.username else {}
        return {"password": self.password, **user,
                **(self.tls.redis_kwargs() if self.tls else {})}

    def __repr__(self) -> str:  # never the password, in a traceback or a log line
        return (f"Access(username={self.username!r}, "
                f"password={'set' if self.password else None}, tls={self.tls!r})")
