"""How clients reach Redis (routes) and when a write counts as done (acknowledgement modes).

Routes, for the chaos workload and for Locust alike:

``haproxy``           the article's: HAProxy's ``tcp-check role:master`` backends (ports
                      ``[haproxy] first_port`` ...). Two instances that both answer
                      ``role:master`` share the writes.
``haproxy-sentinel``  the Sentinel-checked HAProxy (docs/design.md, Facts; ports
                      ``[haproxy] checked_first_port`` ...): an instance takes writes only
                      while it answers ``role:master`` *and* a majority of the shard's
                      Sentinels name it
                      (``SENTINEL get-master-addr-by-name``), with ``balance first``.
``sentinel-client``   no HAProxy: redis-py's ``Sentinel`` client asks the shard's Sentinels
                      for the master (and the replicas), as its documentation shows.

Acknowledgement modes (``--ack``):

``plain``             a write is done when the master acknowledges it;
``wait:N[:MS]``       each write is followed by ``WAIT N MS`` (default 200 ms): confirmed by
                      fewer than N replicas in time, it is *unconfirmed*, not acknowledged.

This module is pure (names, parsing, what a lab offers); :mod:`lab.clients` connects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lab.errors import LabError

__all__ = ["ACK_TIMEOUT_MS", "DEFAULT_ACK", "DEFAULT_ROUTE", "DEFAULT_WORKLOAD", "ROUTES",
           "WORKLOADS", "Ack", "Clients", "RouteError", "master_backend", "parse_ack",
           "parse_route", "parse_workload", "unavailable"]

ROUTES: dict[str, str] = {
    "haproxy": "HAProxy, tcp-check role:master (the article's)",
    "haproxy-sentinel": "HAProxy that also needs a majority of Sentinels to name the master",
    "sentinel-client": "no HAProxy: redis-py's Sentinel client",
}
DEFAULT_ROUTE = "haproxy"
DEFAULT_ACK = "plain"
# What the chaos workload's clients do (lab.chaos.workload).
WORKLOADS: dict[str, str] = {
    "register": "unique keys written once (SET), read back from the replicas (GET)",
    "list-append": "unique values appended to a few lists per shard (RPUSH), whole lists "
                   "read through the master and replica ports (LRANGE): what the anomaly "
                   "checker reads",
    "both": "each client operation one or the other, half and half",
}
DEFAULT_WORKLOAD = "register"
ACK_TIMEOUT_MS = 200
# WAIT must answer before the workload's socket timeout (0.5 s) gives up on the write.
MAX_ACK_TIMEOUT_MS = 400

_WAIT = re.compile(r"wait:(\d+)(?::(\d+))?")


class RouteError(LabError):
    """A route or acknowledgement mode that does not exist or that this lab cannot offer."""


@dataclass(frozen=True)
class Ack:
    """``replicas`` = 0: plain; else each write is followed by ``WAIT replicas timeout_ms``."""

    replicas: int = 0
    timeout_ms: int = 0

    @property
    def name(self) -> str:
        if not self.replicas:
            return "plain"
        suffix = "" if self.timeout_ms == ACK_TIMEOUT_MS else f":{self.timeout_ms}"
        return f"wait:{self.replicas}{suffix}"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Clients:
    """How a run's clients reach Redis and when their writes count: route and ack mode."""

    route: str = DEFAULT_ROUTE
    ack: Ack = Ack()
    workload: str = DEFAULT_WORKLOAD

    @property
    def label(self) -> str:
        """``haproxy``, ``sentinel-client, wait:1``, ``haproxy, list-append``: the
        defaults (plain, register) are left out."""
        return ", ".join([self.route, *([str(self.ack)] if self.ack.replicas else []),
                          *([self.workload] if self.workload != DEFAULT_WORKLOAD else [])])

    def to_json(self) -> dict:
        return {"route": self.route, "ack": self.ack.name, "workload": self.workload}


def parse_workload(text: str, where: str = "--workload") -> str:
    if text not in WORKLOADS:
        raise RouteError(f"{where} {text!r} is not a workload; choose one of "
                         f"{', '.join(WORKLOADS)}")
    return text


def parse_route(text: str, where: str = "--route") -> str:
    name = text.strip()
    if name not in ROUTES:
        raise RouteError(f"{where} {text!r}: unknown route; known: {', '.join(ROUTES)}")
    return name


def parse_ack(text: str, where: str = "--ack") -> Ack:
    """``plain`` or ``wait:N`` / ``wait:N:MS`` (N replicas, 1..5; MS 1..400)."""
    text = text.strip()
    if text == "plain":
        return Ack()
    match = _WAIT.fullmatch(text)
    if not match:
        raise RouteError(f"{where} {text!r}: use plain, wait:N or wait:N:MS "
                         f"(e.g. wait:1 or wait:1:{ACK_TIMEOUT_MS})")
    replicas = int(match[1])
    timeout_ms = int(match[2]) if match[2] else ACK_TIMEOUT_MS
    if not 1 <= replicas <= 5:
        raise RouteError(f"{where} {text!r}: N (replicas to wait for) must be 1..5")
    if not 1 <= timeout_ms <= MAX_ACK_TIMEOUT_MS:
        raise RouteError(f"{where} {text!r}: MS must be 1..{MAX_ACK_TIMEOUT_MS} (the "
                         f"workload gives up on a write after 500 ms)")
    return Ack(replicas, timeout_ms)


def master_backend(shard, route: str) -> str | None:
    """The HAProxy backend ``route`` sends ``shard``'s writes through (a
    :class:`~lab.topology.Shard`); None: the route has no HAProxy."""
    return {"haproxy": shard.master_backend,
            "haproxy-sentinel": shard.checked_backend}.get(route)


def unavailable(route: str, checked_first_port: int, ack: Ack | None = None,
                replicas_per_shard: int = 0) -> str:
    """Why this lab cannot offer ``route`` (with ``ack``), or "" when it can."""
    if route == "haproxy-sentinel" and not checked_first_port:
        return ("route haproxy-sentinel: this deployment has no Sentinel-checked HAProxy "
                "(set [haproxy] checked_first_port to the ports where it listens, or use "
                "--route haproxy or sentinel-client)")
    if ack and replicas_per_shard and ack.replicas > replicas_per_shard:
        return (f"--ack {ack}: a shard has only {replicas_per_shard} replica(s); "
                f"wait for at most {replicas_per_shard}")
    return ""
