"""Who runs where: a layout turns the servers into shards, instances and Sentinels.

A layout is data, not code paths: both layouts produce the same :class:`Topology`
shape, and everything downstream (rendering, probing, chaos) reads only that.

``article``
    Shard *i* lives entirely on server *i*: master on ``master_port``, replica *k* on
    ``master_port + 1 + k``, and ``per_server`` Sentinels that watch only that master.
    One server is one failure domain: the layout's known weakness.

``spread``
    Shard *i*'s master on server *i*; replica *k* on server *i + 1 + k* (mod n) at port
    ``master_port + 1 + k``, so each server still uses the same ports once each. One
    Sentinel per server watches every shard.

The wire facts live here and nowhere else: shard *i* (1-based) is reached through
HAProxy on ``first_port + 2(i-1)`` (its master) and ``first_port + 2(i-1) + 1`` (its
replicas), on every server, through the backends ``shard<i>_master`` and
``shard<i>_replicas``; the Sentinel-checked master (route ``haproxy-sentinel``) on
``checked_first_port + i - 1`` through ``shard<i>_master_checked``, whose servers are named
``<instance>_by_<sentinels>`` (:func:`haproxy_instance`); a key belongs to shard
``crc32(key) mod shards + 1`` (:func:`shard_number`, the client-side sharding the article
implies).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

from lab.config import LabConfig, Server


def haproxy_port(first_port: int, shard: int, kind: str) -> int:
    """The HAProxy port of shard ``shard`` (1-based): ``kind`` "master" or "replicas"."""
    return first_port + 2 * (shard - 1) + (1 if kind == "replicas" else 0)


def backend_name(shard: int, kind: str) -> str:
    """HAProxy's name for shard ``shard``'s "master" or "replicas" backend."""
    return f"shard{shard}_{kind}"


def haproxy_instance(server: str) -> str:
    """The instance an HAProxy server name stands for: ``redis1_6379`` for itself and for
    the Sentinel-checked ``redis1_6379_by_1_2``."""
    return server.split("_by_", 1)[0]


def is_check_backend(backend: str) -> bool:
    """An HAProxy backend that only checks (a Sentinel majority), never takes clients."""
    return "_by_" in backend


def shard_number(key: str, shards: int) -> int:
    """1-based shard of ``key``: crc32 mod the number of shards, like a sharding client."""
    return zlib.crc32(key.encode()) % shards + 1


@dataclass(frozen=True)
class RedisInstance:
    shard: int
    server: Server
    port: int
    initial_role: str  # "master" or "replica": roles change at the first failover

    @property
    def address(self) -> tuple[str, int]:
        return (self.server.address, self.port)

    @property
    def service(self) -> str:
        """The compose service (and container) name on its server."""
        return f"redis-{self.port}"

    @property
    def label(self) -> str:
        return f"{self.server.name}:{self.port}"

    @property
    def haproxy_server(self) -> str:
        """The name HAProxy's backends give this instance (``redis1_6379``)."""
        return f"{self.server.name}_{self.port}"


@dataclass(frozen=True)
class SentinelInstance:
    server: Server
    port: int
    shards: tuple[int, ...]

    @property
    def address(self) -> tuple[str, int]:
        return (self.server.address, self.port)

    @property
    def service(self) -> str:
        return f"sentinel-{self.port}"

    @property
    def label(self) -> str:
        return f"{self.server.name}:{self.port}"


@dataclass(frozen=True)
class Shard:
    number: int
    instances: tuple[RedisInstance, ...]
    master_port: int  # HAProxy port that routes to the current master
    replica_port: int  # HAProxy port that balances over the replicas
    # The name Sentinels monitor this shard's master under: shard<N> in the lab's own
    # stack, whatever [adopt] monitor_names says for an adopted deployment.
    monitor_name: str = ""
    # HAProxy port of the Sentinel-checked master route; 0: the lab offers none.
    checked_port: int = 0

    def __post_init__(self) -> None:
        if not self.monitor_name:
            object.__setattr__(self, "monitor_name", f"shard{self.number}")

    @property
    def master_backend(self) -> str:
        return backend_name(self.number, "master")

    @property
    def replica_backend(self) -> str:
        return backend_name(self.number, "replicas")

    @property
    def checked_backend(self) -> str:
        """The Sentinel-checked master backend (route ``haproxy-sentinel``)."""
        return backend_name(self.number, "master_checked")

    def port(self, kind: str) -> int:
        """The HAProxy port for "master" or "replicas"."""
        return self.master_port if kind == "master" else self.replica_port

    @property
    def initial_master(self) -> RedisInstance:
        return next(i for i in self.instances if i.initial_role == "master")

    def instance_at(self, host: str, port: int) -> RedisInstance | None:
        return next((i for i in self.instances if i.address == (host, port)), None)


@dataclass(frozen=True)
class Topology:
    layout: str
    servers: tuple[Server, ...]
    shards: tuple[Shard, ...]
    sentinels: tuple[SentinelInstance, ...]
    # How many shards keys are spread over (the client's sharding): the lab's number of
    # shards, also in a view of some of them (:meth:`only`). 0: all of ``shards``.
    key_shards: int = 0

    def __post_init__(self) -> None:
        if not self.key_shards:
            object.__setattr__(self, "key_shards", len(self.shards))

    def only(self, numbers: tuple[int, ...]) -> Topology:
        """The view of shards ``numbers``: their instances and the Sentinels watching them
        (every server stays: each HAProxy routes every shard). What a recording on some
        shards probes, observes, writes to and waits for (a parallel lane, issue 23)."""
        shards = tuple(self.shard(n) for n in numbers)
        sentinels = tuple(replace(s, shards=tuple(n for n in s.shards if n in numbers))
                          for s in self.sentinels if set(s.shards) & set(numbers))
        return Topology(self.layout, self.servers, shards, sentinels, self.key_shards)

    @property
    def instances(self) -> tuple[RedisInstance, ...]:
        return tuple(i for shard in self.shards for i in shard.instances)

    def instances_on(self, server: Server) -> tuple[RedisInstance, ...]:
        return tuple(i for i in self.instances if i.server == server)

    def sentinels_on(self, server: Server) -> tuple[SentinelInstance, ...]:
        return tuple(s for s in self.sentinels if s.server == server)

    def sentinels_of(self, shard: Shard) -> tuple[SentinelInstance, ...]:
        return tuple(s for s in self.sentinels if shard.number in s.shards)

    def shard(self, number: int) -> Shard:
        for shard in self.shards:
            if shard.number == number:
                return shard
        raise KeyError(f"shard {number} is not among shards "
                       f"{', '.join(str(s.number) for s in self.shards)}")

    def shard_of(self, key: str) -> Shard:
        """The shard a client writes ``key`` to."""
        return self.shard(shard_number(key, self.key_shards))

    @property
    def haproxy_ports(self) -> tuple[int, int]:
        """(first, last) HAProxy port, e.g. (5000, 5005)."""
        return self.shards[0].master_port, self.shards[-1].replica_port

    def server_at(self, position: int | str) -> Server:
        """A server by its 1-based position in ``[[servers]]`` or by its name (scenarios say
        1, so they run on inventories whose hosts have other names)."""
        names = [s.name for s in self.servers]
        if isinstance(position, int) and 1 <= position <= len(names):
            return self.servers[position - 1]
        if position in names:
            return self.server(str(position))
        raise ValueError(f"no server {position!r}; the servers are {', '.join(names)} (or 1.."
                         f"{len(names)} by position)")

    def server(self, name: str) -> Server:
        for server in self.servers:
            if server.name == name:
                return server
        raise KeyError(name)

    def address_of(self, host: str) -> str:
        """``host`` as an address: a server's name ([machines] hostnames: a replica that
        follows ``replicaof redis1 6379`` reports ``master_host:redis1``) becomes its
        address; anything else is returned as it is."""
        for server in self.servers:
            if server.name == host:
                return server.address
        return host

    def as_dict(self) -> dict:
        """Plain data for results.json: what a report draws without the lab at hand."""
        return {
            "layout": self.layout,
            "servers": [{"name": s.name, "address": s.address} for s in self.servers],
            "shards": [{"number": shard.number, "monitor": shard.monitor_name,
                        "master_port": shard.master_port,
                        "replica_port": shard.replica_port,
                        "master_backend": shard.master_backend,
                        "checked_port": shard.checked_port,
                        "instances": [{"label": i.label, "server": i.server.name,
                                       "port": i.port, "initial_role": i.initial_role}
                                      for i in shard.instances]}
                       for shard in self.shards],
            "sentinels": [{"label": s.label, "server": s.server.name, "port": s.port,
                           "shards": list(s.shards)} for s in self.sentinels],
        }


def build(config: LabConfig) -> Topology:
    """Place every instance and Sentinel of ``config`` on its server."""
    servers = config.servers
    n = len(servers)
    base = config.redis.master_port
    shards = []
    monitors = config.adopt.monitors(n) if config.adopted else ()
    for index, home in enumerate(servers):
        instances = [RedisInstance(index + 1, home, base, "master")]
        for k in range(config.redis.replicas_per_shard):
            host = home if config.layout == "article" else servers[(index + 1 + k) % n]
            instances.append(RedisInstance(index + 1, host, base + 1 + k, "replica"))
        first, checked = config.haproxy.first_port, config.haproxy.checked_first_port
        shards.append(Shard(index + 1, tuple(instances),
                            haproxy_port(first, index + 1, "master"),
                            haproxy_port(first, index + 1, "replicas"),
                            monitors[index] if monitors else "",
                            checked + index if checked else 0))

    sentinels = []
    for index, server in enumerate(servers):
        if config.layout == "article":
            for k in range(config.sentinel.per_server):
                sentinels.append(SentinelInstance(server, config.sentinel.port + k, (index + 1,)))
        else:
            all_shards = tuple(range(1, n + 1))
            sentinels.append(SentinelInstance(server, config.sentinel.port, all_shards))
    return Topology(config.layout, servers, tuple(shards), tuple(sentinels))
