"""The chaos workload: unique-key writes to each shard's master, reads from its replicas.

Each client process writes ``SET <run>:<process>:<seq> <seq>`` to the shard its key
belongs to (:meth:`~lab.topology.Topology.shard_of`, like a sharding client), along the
session's route (:mod:`lab.routes`: through HAProxy, the Sentinel-checked HAProxy, or
redis-py's Sentinel client), and now and then reads back a key it wrote earlier from the
shard's replicas. Every operation is recorded with its start, end, outcome, the route,
the entry it used (``host``: an HAProxy address; None for the Sentinel client) and the
instance that served it (``served``, ``ip:port``, from ``CLIENT INFO``):

``ok``           the server acknowledged it (with ``--ack wait:N``: and N replicas
                 confirmed it in time)
``unconfirmed``  with ``--ack wait:N``: the master acknowledged it, fewer than N replicas
                 confirmed it (``confirmed``: how many did)
``fail``         it certainly did not happen: no connection could be made, or the server
                 refused it (READONLY, NOREPLICAS, MASTERDOWN, LOADING, ...)
``unknown``      it may have happened: the connection broke or timed out after the request
                 was sent (Jepsen's ``info``)

Clients never retry (redis-py retries silently by default: that would hide outages)
and time out fast, so a frozen master shows up as a gap, not as one slow call.
Processes use the HAProxies of different servers, round robin.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

import redis

from lab.access import Access
from lab.chaos.history import History
from lab.clients import Link, RouteMap
from lab.failures import classify, server_refused
from lab.routes import DEFAULT_ROUTE, Ack
from lab.topology import Shard, Topology, shard_number

OP_TIMEOUT_S = 0.5


@dataclass
class WorkloadSettings:
    processes: int = 3
    interval_s: float = 0.01  # pause between one process's operations
    read_ratio: float = 0.2
    max_ops: int = 200_000  # a hard bound, whatever the duration
    route: str = DEFAULT_ROUTE
    ack: Ack = Ack()


class Workload:
    """Client threads recording into a history until stopped (or bounded by ``max_ops``)."""

    def __init__(self, topology: Topology, access: Access, history: History, run_id: str,
                 settings: WorkloadSettings | None = None) -> None:
        self.topology = topology
        self.access = access
        self.history = history
        self.run_id = run_id
        self.settings = settings or WorkloadSettings()
        self.routes = RouteMap.of(topology, self.settings.route)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ops = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        for process in range(self.settings.processes):
            thread = threading.Thread(target=self._run, args=(process,), daemon=True,
                                      name=f"workload-{process}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _run(self, process: int) -> None:
        """One client process. In a view of some shards (a parallel lane) it goes through
        the lab-wide workload's sequence and sends only the operations that land in its
        shards; the others' time passes all the same, so each shard sees the rate, keys
        and mix of reads and writes it sees when the whole lab is recorded."""
        links: dict[tuple[int, str], Link] = {}
        numbers = range(1, self.topology.key_shards + 1)  # every shard of the lab
        mine = {s.number for s in self.topology.shards}
        # Per shard, the keys a read may ask for: acknowledged ones; another shard's as
        # the lab-wide workload would have them (every one, taken as acknowledged).
        written: dict[int, list[str]] = {n: [] for n in numbers}
        rng = random.Random(f"{self.run_id}:{process}")
        picks = {n: random.Random(f"{self.run_id}:{process}:{n}") for n in numbers}
        seq = 0
        while not self._stop.is_set():
            with self._lock:
                if self._ops >= self.settings.max_ops:
                    break
                self._ops += 1
            read = rng.random() < self.settings.read_ratio
            number = rng.choice(numbers) if read else None
            if read and written[number]:
                if number in mine:
                    key = picks[number].choice(written[number][-200:])
                    self._op(links, process, self.topology.shard(number), "replicas", key,
                             None)
            else:
                seq += 1
                key = f"{self.run_id}:{process}:{seq}"
                number = shard_number(key, self.topology.key_shards)
                if number not in mine or self._op(
                        links, process, self.topology.shard(number), "master", key,
                        str(seq)) in ("ok", "unconfirmed"):
                    written[number].append(key)
            time.sleep(self.settings.interval_s)
        for link in links.values():
            link.close()

    def _op(self, links: dict, process: int, shard: Shard, kind: str, key: str,
            value: str | None) -> str:
        link = links.get((shard.number, kind))
        if link is None:
            link = links[(shard.number, kind)] = self.routes.link(
                shard, kind, process, self.access, OP_TIMEOUT_S)
        op = "write" if kind == "master" else "read"
        ack = self.settings.ack
        start = time.time()
        outcome, error, found, confirmed, served = "ok", None, None, None, None
        try:
            # Connect first (a no-op when connected): a failure here certainly did not
            # reach the server.
            r = link.connect()
            served = link.served
        except redis.RedisError as exc:
            outcome, error = "fail", classify(exc)
            link.disconnect()
        else:
            acknowledged = False
            try:
                if op == "write":
                    r.set(key, value)
                    acknowledged = True
                    if ack.replicas:
                        confirmed = r.wait(ack.replicas, ack.timeout_ms)
                        if confirmed < ack.replicas:
                            outcome = "unconfirmed"
                else:
                    found = r.get(key) is not None
            except redis.RedisError as exc:
                error = classify(exc)
                # Refused by the server (READONLY, LOADING, ...): it did not happen. Sent,
                # then the connection broke: a write may or may not have landed. WAIT that
                # failed after the master's acknowledgement: unconfirmed.
                refused = server_refused(exc)
                outcome = "unconfirmed" if acknowledged else \
                    "fail" if refused or op == "read" else "unknown"
                if not isinstance(exc, redis.ResponseError):
                    link.disconnect()
        event = {"op": op, "shard": shard.number, "port": link.port, "host": link.entry,
                 "route": self.routes.route, "client": process, "served": served,
                 "key": key, "start": start, "end": time.time(), "outcome": outcome,
                 "error": error}
        if op == "read":
            event["found"] = found
        if ack.replicas and op == "write":
            event["confirmed"] = confirmed
        self.history.record("op", t=event["end"], **event)
        return outcome
