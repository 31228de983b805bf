"""Observe the lab from the host: every Redis instance, Sentinel and HAProxy, at once.

A probe only reads. It returns a :class:`Snapshot`, which :mod:`lab.settle` judges and
:mod:`lab.status` prints. Clients never retry (redis-py retries silently by default,
which would hide exactly what the lab is for) and time out quickly, so a dead instance
costs at most ``TIMEOUT_S``.
"""

from __future__ import annotations

import csv
import http.client
import io
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from lab.access import Access
from lab.config import LabConfig
from lab.topology import RedisInstance, SentinelInstance, Topology, is_check_backend

TIMEOUT_S = 2.0


def client(host: str, port: int, access: Access | None = None,
           timeout: float = TIMEOUT_S, single_connection: bool = False) -> redis.Redis:
    """A redis-py client that never retries and answers in str; ``access``: the
    password and TLS (an instance's, or ``access.sentinels`` for a Sentinel)."""
    return redis.Redis(
        host=host, port=port, socket_timeout=timeout,
        socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0), decode_responses=True,
        single_connection_client=single_connection, **(access or Access()).redis_kwargs(),
    )


@dataclass
class InstanceView:
    instance: RedisInstance
    error: str | None = None
    role: str | None = None  # "master" or "slave", as INFO says
    master_address: tuple[str, int] | None = None
    link_up: bool = False
    offset: int = 0  # master_repl_offset on a master, slave_repl_offset on a replica


@dataclass
class MonitorView:
    """One Sentinel's view of one shard."""

    master_address: tuple[str, int] | None = None
    replicas: int = 0  # known and not flagged down or disconnected
    other_sentinels: int = 0
    ckquorum: str = ""
    flags: str = ""


@dataclass
class SentinelView:
    sentinel: SentinelInstance
    error: str | None = None
    monitors: dict[int, MonitorView] = field(default_factory=dict)
    tilt: bool = False  # in TILT mode: it watches and acts on nothing


@dataclass
class HAProxyView:
    """One HAProxy's backends: name -> UP server names (``redis1_6379``)."""

    server: str
    address: str
    error: str | None = None
    up: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Snapshot:
    instances: list[InstanceView]
    sentinels: list[SentinelView]
    haproxies: list[HAProxyView]
    taken_at: float


def take(config: LabConfig, topology: Topology, access: Access) -> Snapshot:
    """Probe everything in parallel and return one snapshot."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        instances = pool.map(lambda i: _instance(i, access, topology.address_of),
                             topology.instances)
        sentinels = pool.map(lambda s: _sentinel(s, topology, access.sentinels),
                             topology.sentinels)
        haproxies = pool.map(lambda s: haproxy_view(s.name, s.address, config.haproxy.stats_port),
                             topology.servers)
        return Snapshot(list(instances), list(sentinels), list(haproxies), time.time())


def _instance(instance: RedisInstance, access: Access,
              address_of: Callable[[str], str] = str) -> InstanceView:
    view = InstanceView(instance)
    try:
        with client(*instance.address, access) as r:
            info = r.info("replication")
    except redis.RedisError as exc:
        view.error = _describe(exc)
        return view
    view.role = info.get("role")
    if view.role == "master":
        view.offset = int(info.get("master_repl_offset", 0))
        view.link_up = True
    else:
        view.master_address = (address_of(str(info.get("master_host"))),
                               int(info.get("master_port", 0)))
        view.link_up = info.get("master_link_status") == "up"
        view.offset = int(info.get("slave_repl_offset", 0))
    return view


def _sentinel(sentinel: SentinelInstance, topology: Topology, access: Access
              ) -> SentinelView:
    view = SentinelView(sentinel)
    try:
        with client(*sentinel.address, access) as r:
            for number in sentinel.shards:
                name = topology.shard(number).monitor_name
                view.monitors[number] = _monitor(r, name, topology.address_of)
            view.tilt = str(r.info("sentinel").get("sentinel_tilt", 0)) == "1"
    except redis.RedisError as exc:
        view.error = _describe(exc)
    return view


def _monitor(r: redis.Redis, name: str,
             address_of: Callable[[str], str] = str) -> MonitorView:
    # Raw SENTINEL sub-commands: redis-py's parsers for them change between versions.
    monitor = MonitorView()
    addr = r.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
    if addr:  # a name where Sentinel announces hostnames
        monitor.master_address = (address_of(addr[0]), int(addr[1]))
    master = _pairs(r.execute_command("SENTINEL", "MASTER", name))
    monitor.flags = master.get("flags", "")
    replicas = [_pairs(x) for x in r.execute_command("SENTINEL", "REPLICAS", name)]
    monitor.replicas = sum(
        1 for x in replicas
        if not {"s_down", "o_down", "disconnected"} & set(x.get("flags", "").split(","))
    )
    monitor.other_sentinels = len(r.execute_command("SENTINEL", "SENTINELS", name))
    try:
        monitor.ckquorum = str(r.execute_command("SENTINEL", "CKQUORUM", name))
    except redis.ResponseError as exc:
        monitor.ckquorum = str(exc)
    return monitor


def haproxy_view(name: str, address: str, stats_port: int) -> HAProxyView:
    view = HAProxyView(name, address)
    url = f"http://{address}:{stats_port}/;csv"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            text = response.read().decode()
    except (OSError, http.client.HTTPException, UnicodeDecodeError) as exc:
        view.error = _describe(exc)
        return view
    try:
        view.up = parse_stats(text)
    except ValueError as exc:
        view.error = str(exc)
    return view


def parse_stats(text: str) -> dict[str, list[str]]:
    """HAProxy's stats CSV: backend -> its UP servers. An answer cut short (a fault can
    close the connection mid-answer; a whole one ends with a newline) raises ValueError
    rather than read as servers not UP."""
    if not text.endswith("\n"):
        raise ValueError(f"stats answer cut short after {len(text)} characters")
    up: dict[str, list[str]] = {}
    for row in csv.DictReader(io.StringIO(text.lstrip("# "))):
        backend, server = row["pxname"], row["svname"]
        if server in ("FRONTEND", "BACKEND") or backend == "stats" or is_check_backend(backend):
            continue
        ups = up.setdefault(backend, [])
        if row["status"].startswith("UP"):
            ups.append(server)
    return up


def _pairs(reply: list | dict) -> dict[str, str]:
    """A Sentinel reply as a dict: RESP3 sends a map, RESP2 a flat key/value list."""
    if isinstance(reply, dict):
        return {str(k): str(v) for k, v in reply.items()}
    return dict(zip(reply[::2], reply[1::2], strict=False))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
