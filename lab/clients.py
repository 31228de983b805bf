"""Clients along a route (:mod:`lab.routes`): one connection per shard and kind, and which
instance serves it.

:class:`RouteMap` is the plain data a route needs (HAProxy addresses and ports, each
shard's Sentinels and monitor name), built from the topology here or read from JSON by a
Locust worker that has no lab.toml. :class:`Link` is one connection of one client to a
shard's master or replicas: built lazily (building may fail as any call may), never
retrying, and after each (re)connect asking ``CLIENT INFO`` which instance answered
(``laddr``: HAProxy forwards a connection to one instance for its whole life), so every
operation can say which instance served it.

``sentinel-client`` uses redis-py's own ``Sentinel(...).master_for/slave_for`` as its
documentation shows (Sentinel sockets time out after 0.1 s), with one connection per
client so that the connection that served an operation is known. Where Sentinel answers
with the servers' names (``[machines] announce_hostnames``) the client reads them as the
lab's addresses, as the machines' resolvers do: the host driving the lab is never edited.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from lab.access import Access
from lab.probe import client as plain_client
from lab.routes import ROUTES
from lab.topology import Shard, Topology

__all__ = ["SENTINEL_TIMEOUT_S", "Link", "NamedSentinel", "RouteMap", "ShardRoute"]

SENTINEL_TIMEOUT_S = 0.1  # redis-py's documented example


@dataclass(frozen=True)
class ShardRoute:
    number: int
    master_port: int
    replica_port: int
    checked_port: int
    monitor: str
    sentinels: tuple[tuple[str, int], ...]

    def port(self, route: str, kind: str) -> int | None:
        """The HAProxy port ``route`` uses for ``kind`` (None: the route has no HAProxy)."""
        if route == "sentinel-client":
            return None
        if kind == "replicas":
            return self.replica_port
        return self.checked_port if route == "haproxy-sentinel" else self.master_port


@dataclass(frozen=True)
class RouteMap:
    """Everything a client needs to reach each shard by ``route`` (no secret in it)."""

    route: str
    haproxies: tuple[str, ...]
    shards: tuple[ShardRoute, ...] = field(default_factory=tuple)
    # Each server's (name, address): what a name in Sentinel's answers stands for.
    names: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, topology: Topology, route: str) -> RouteMap:
        assert route in ROUTES, route
        return cls(route, tuple(s.address for s in topology.servers), tuple(
            ShardRoute(s.number, s.master_port, s.replica_port, s.checked_port, s.monitor_name,
                       tuple(x.address for x in topology.sentinels_of(s)))
            for s in topology.shards), tuple((s.name, s.address) for s in topology.servers))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RouteMap:
        data = json.loads(text)
        shards = tuple(ShardRoute(**{**s, "sentinels": tuple(map(tuple, s["sentinels"]))})
                       for s in data["shards"])
        return cls(data["route"], tuple(data["haproxies"]), shards,
                   tuple(map(tuple, data.get("names", ()))))

    def shard(self, number: int) -> ShardRoute:
        return next(s for s in self.shards if s.number == number)

    def entry(self, client: int) -> str | None:
        """The HAProxy client number ``client`` goes through (round robin), None without."""
        return None if self.route == "sentinel-client" else \
            self.haproxies[client % len(self.haproxies)]

    def link(self, shard: int | Shard, kind: str, client: int, access: Access,
             timeout_s: float) -> Link:
        """Client ``client``'s connection to ``shard``'s "master" or "replicas"."""
        route = self.shard(shard if isinstance(shard, int) else shard.number)
        port = route.port(self.route, kind)
        place = self.place(route.number, kind)
        if port is not None:
            host = self.entry(client)
            return Link(lambda: plain_client(host, port, access, timeout=timeout_s,
                                             single_connection=True), host, port, place)
        # Each client starts with another Sentinel first (redis-py moves the one that
        # answered to the front).
        addresses = list(route.sentinels)
        addresses = addresses[client % len(addresses):] + addresses[:client % len(addresses)]

        def build() -> redis.Redis:
            sentinel = NamedSentinel(addresses, dict(self.names), sentinel_kwargs={
                "socket_timeout": SENTINEL_TIMEOUT_S,
                "socket_connect_timeout": SENTINEL_TIMEOUT_S,
                "retry": Retry(NoBackoff(), 0), **access.sentinels.redis_kwargs()})
            find = sentinel.master_for if kind == "master" else sentinel.slave_for
            return find(route.monitor, redis_class=_OneConnection,
                        socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                        retry=Retry(NoBackoff(), 0), decode_responses=True,
                        **access.redis_kwargs())
        return Link(build, None, None, place)

    def place(self, shard: int, kind: str) -> str:
        """Where a call goes, as Locust names it: ``:5000`` (an HAProxy port) or
        ``shard1`` (the Sentinel client, no port)."""
        port = self.shard(shard).port(self.route, kind)
        return f":{port}" if port else f"shard{shard}"


class NamedSentinel(Sentinel):
    """redis-py's Sentinel reading a server's name in Sentinel's answers (announce-hostnames)
    as that server's address; any other host is used as it is."""

    def __init__(self, sentinels, names: dict[str, str], **kwargs) -> None:
        super().__init__(sentinels, **kwargs)
        self.names = names

    def discover_master(self, service_name):
        host, port = super().discover_master(service_name)
        return self.names.get(host, host), port

    def filter_slaves(self, slaves):
        return [(self.names.get(host, host), port)
                for host, port in super().filter_slaves(slaves)]


class _OneConnection(redis.Redis):
    """redis-py's client holding one connection (what a Sentinel pool hands out)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(single_connection_client=True, **kwargs)


class Link:
    """One connection along a route: where it enters (``entry``: an HAProxy address, None
    for the Sentinel client), the HAProxy ``port`` (or None), Locust's name for it
    (``place``) and the instance (``ip:port``) serving it."""

    def __init__(self, build: Callable[[], redis.Redis], entry: str | None = None,
                 port: int | None = None, place: str = "") -> None:
        self._build = build
        self.entry, self.port, self.place = entry, port, place
        self.client: redis.Redis | None = None
        self.served: str | None = None
        self._fresh = False

    def connect(self) -> redis.Redis:
        """Connected (a no-op when it is), and ``served`` known; raises redis errors."""
        if self.client is None:
            self.client = self._build()  # a one-connection client connects at once
            self.client.connection.register_connect_callback(self._connected)
            self._fresh = True
        self.client.connection.connect()
        if self._fresh:
            self._fresh = False
            self.served = None
            self.served = _laddr(self.client.client_info())
        return self.client

    def disconnect(self) -> None:
        self.served = None
        if self.client is not None:
            self.client.connection.disconnect()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def _connected(self, connection) -> None:
        self._fresh = True


def _laddr(info: dict) -> str | None:
    """``CLIENT INFO``'s ``laddr``: the instance's own address of this connection."""
    value = info.get("laddr")
    return str(value) if value else None
