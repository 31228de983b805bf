"""Locust users for redis-ha-lab: a sharding Redis client along one route.

Every user shards keys like the article's clients (crc32(key) mod shards): writes go to
the shard's master, reads to its replicas, along the route (:mod:`lab.routes`): through
one server's HAProxy (master port 5000/5002/5004, or the Sentinel-checked 5100/5101/5102;
replica port 5001/5003/5005; users are spread over the servers round robin), or through
redis-py's Sentinel client. Each call fires Locust's request event of type the route
(the CSV's ``Type`` column) named ``<OP> :<port>`` (``<OP> shard<N>`` without HAProxy),
so Locust's tables and charts split by route, shard and role, and every failure is
classified (connection-closed, timeout, READONLY, NOREPLICAS, LOADING, MASTERDOWN, ...:
:mod:`lab.failures`, the same names the chaos workload records). redis-py retries are
off: every failure counts.

Run it through ``nox -s load`` (which passes the lab's addresses and keeps the password
in the environment, out of command lines and reports); the options below are Locust's
own ``--lab-*`` arguments.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from pathlib import Path

import redis
from locust import User, constant, constant_throughput, events, task

from lab.access import Access, Tls
from lab.clients import Link, RouteMap
from lab.failures import classify
from lab.topology import shard_number

_user_numbers = itertools.count()


@events.init_command_line_parser.add_listener
def _lab_arguments(parser) -> None:
    group = parser.add_argument_group("redis-ha-lab")
    group.add_argument("--lab-routes", required=True,
                       help="the route and the lab's addresses (lab.clients.RouteMap, JSON)")
    group.add_argument("--lab-shards", type=int, default=3)
    group.add_argument("--lab-read-ratio", type=float, default=0.5,
                       help="share of reads (through replica ports)")
    group.add_argument("--lab-key-space", type=int, default=10_000)
    group.add_argument("--lab-value-size", type=int, default=64, help="bytes per value")
    group.add_argument("--lab-pipeline", type=int, default=1,
                       help="commands sent per round trip")
    group.add_argument("--lab-timeout", type=float, default=1.0, help="seconds per call")
    group.add_argument("--lab-rate", type=float, default=50.0,
                       help="calls per second per user (0: as fast as possible)")


class LabFailure(Exception):
    """A failed call, named by its class so Locust groups failures by cause."""


class ShardedRedisUser(User):
    """One client: SET to the key's shard master, GET from the key's shard replicas."""

    def wait_time(self) -> float:
        return self._pace(self)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self._pace = constant_throughput(options.lab_rate) if options.lab_rate > 0 \
            else constant(0)
        self.routes = RouteMap.from_json(options.lab_routes)
        self.number = next(_user_numbers)
        self.options = options
        # [security] tls: the CA the servers are checked against, and a client
        # certificate where an adopted deployment asks for one.
        ca, cert, key = (os.environ.get(f"LAB_TLS_{k}") for k in ("CA", "CERT", "KEY"))
        tls = Tls(Path(ca), Path(cert) if cert else None, Path(key) if key else None) \
            if ca else None
        self.access = Access(password=os.environ.get("LAB_REDIS_PASSWORD") or None, tls=tls,
                             username=os.environ.get("LAB_REDIS_USER") or None)
        self.value = "x" * options.lab_value_size
        self.links: dict[tuple[int, str], Link] = {}
        self.rng = random.Random()

    def on_stop(self) -> None:
        for link in self.links.values():
            link.close()

    def _link(self, shard: int, kind: str) -> Link:
        link = self.links.get((shard, kind))
        if link is None:
            link = self.links[(shard, kind)] = self.routes.link(
                shard, kind, self.number, self.access, self.options.lab_timeout)
        return link

    @task
    def operate(self) -> None:
        o = self.options
        keys = [f"lab:{self.rng.randrange(o.lab_key_space)}" for _ in range(o.lab_pipeline)]
        # A pipeline stays on one shard: its keys all go where the first one goes.
        shard = shard_number(keys[0], o.lab_shards)
        read = self.rng.random() < o.lab_read_ratio
        link = self._link(shard, "replicas" if read else "master")
        op = "GET" if read else "SET"
        name = f"{op} {link.place}" if o.lab_pipeline == 1 else \
            f"{op} x{o.lab_pipeline} {link.place}"
        started = time.perf_counter()
        exception = None
        try:
            client = link.connect()
            if o.lab_pipeline == 1:
                client.get(keys[0]) if read else client.set(keys[0], self.value)
            else:
                with client.pipeline(transaction=False) as pipe:
                    for key in keys:
                        pipe.get(key) if read else pipe.set(key, self.value)
                    pipe.execute()
        except redis.RedisError as exc:
            exception = LabFailure(classify(exc))
            link.disconnect()
        self.environment.events.request.fire(
            request_type=self.routes.route, name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0 if read else o.lab_value_size * o.lab_pipeline,
            exception=exception, context={"port": link.port, "shard": shard,
                                                  "served": link.served},
        )
