"""The chaos workload: unique-key writes through HAProxy, reads through replica ports.

Each client process writes ``SET <run>:<process>:<seq> <seq>`` to the shard its key
belongs to (:meth:`~lab.topology.Topology.shard_of`, like a sharding client), through that
shard's master port, and now and then
reads back a key it wrote earlier through the shard's replica port. Every operation is
recorded with its start, end and outcome:

``ok``       the server acknowledged it
``fail``     it certainly did not happen: no connection could be made, or the server
             refused it (READONLY, NOREPLICAS, MASTERDOWN, LOADING, ...)
``unknown``  it may have happened: the connection broke or timed out after the request
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

from lab.chaos.history import History
from lab.failures import classify, server_refused
from lab.probe import client
from lab.topology import Shard, Topology

OP_TIMEOUT_S = 0.5


@dataclass
class WorkloadSettings:
    processes: int = 3
    interval_s: float = 0.01  # pause between one process's operations
    read_ratio: float = 0.2
    max_ops: int = 200_000  # a hard bound, whatever the duration


class Workload:
    """Client threads recording into a history until stopped (or bounded by ``max_ops``)."""

    def __init__(self, topology: Topology, password: str, history: History, run_id: str,
                 settings: WorkloadSettings | None = None) -> None:
        self.topology = topology
        self.password = password
        self.history = history
        self.run_id = run_id
        self.settings = settings or WorkloadSettings()
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
        haproxy = self.topology.servers[process % len(self.topology.servers)].address
        clients: dict[int, redis.Redis] = {}
        written: dict[int, list[str]] = {s.number: [] for s in self.topology.shards}
        rng = random.Random(f"{self.run_id}:{process}")
        seq = 0
        while not self._stop.is_set():
            with self._lock:
                if self._ops >= self.settings.max_ops:
                    break
                self._ops += 1
            read = rng.random() < self.settings.read_ratio
            shard_number = rng.choice(list(written)) if read else None
            if read and written[shard_number]:
                shard = self.topology.shard(shard_number)
                key = rng.choice(written[shard_number][-200:])
                self._op(clients, haproxy, shard, shard.replica_port, "read", key, None)
            else:
                seq += 1
                key = f"{self.run_id}:{process}:{seq}"
                shard = self.topology.shard_of(key)
                if self._op(clients, haproxy, shard, shard.master_port, "write", key, str(seq)):
                    written[shard.number].append(key)
            time.sleep(self.settings.interval_s)
        for c in clients.values():
            c.close()

    def _op(self, clients, host: str, shard: Shard, port: int, op: str, key: str,
            value: str | None) -> bool:
        r = clients.get(port)
        if r is None:
            r = clients[port] = client(host, port, self.password, timeout=OP_TIMEOUT_S,
                                       single_connection=True)
        start = time.time()
        outcome, error, found = "ok", None, None
        try:
            # Connect first (a no-op when connected): a failure here certainly did not
            # reach the server.
            r.connection.connect()
        except redis.RedisError as exc:
            outcome, error = "fail", classify(exc)
            r.connection.disconnect()
        else:
            try:
                if op == "write":
                    r.set(key, value)
                else:
                    found = r.get(key) is not None
            except redis.RedisError as exc:
                error = classify(exc)
                # Refused by the server (READONLY, LOADING, ...): it did not happen. Sent,
                # then the connection broke: a write may or may not have landed.
                refused = server_refused(exc)
                outcome = "fail" if refused or op == "read" else "unknown"
                if not isinstance(exc, redis.ResponseError):
                    r.connection.disconnect()
        event = {"op": op, "shard": shard.number, "port": port, "host": host, "key": key,
                 "start": start, "end": time.time(), "outcome": outcome, "error": error}
        if op == "read":
            event["found"] = found
        self.history.record("op", t=event["end"], **event)
        return outcome == "ok"
