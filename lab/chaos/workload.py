"""The chaos workload: unique-key writes to each shard's master, reads from its replicas;
and (``[clients] workload = "list-append"`` or ``"both"``) appends to lists and whole-list
reads, what :mod:`lab.chaos.anomalies` judges.

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

The list-append half: each client appends values unique in the run (``RPUSH k
<client>-<seq>``, op ``append``) to one of :data:`LISTS_PER_SHARD` lists of a shard, the
set renewed every :data:`LIST_ROTATE_S` seconds so lists stay short, and reads whole lists
(``LRANGE k 0 -1``, op ``lrange``, its ``value`` the list) through the master port or
the replica port (``kind``), half and half. Appends count like writes (acknowledgement,
WAIT, outcome); a read that fails shows nothing.
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
from lab.routes import DEFAULT_ROUTE, DEFAULT_WORKLOAD, Ack
from lab.topology import Shard, Topology, shard_number

OP_TIMEOUT_S = 0.5
LISTS_PER_SHARD = 4  # lists appended to at once: a few, so clients meet on them
LIST_ROTATE_S = 5.0  # a new set of lists this often: a read stays short
LIST_READ_RATIO = 0.5  # of list operations; reads are what show anomalies


@dataclass
class WorkloadSettings:
    processes: int = 3
    interval_s: float = 0.01  # pause between one process's operations
    read_ratio: float = 0.2
    max_ops: int = 200_000  # a hard bound, whatever the duration
    route: str = DEFAULT_ROUTE
    ack: Ack = Ack()
    kind: str = DEFAULT_WORKLOAD  # lab.routes.WORKLOADS


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
        lists = random.Random(f"{self.run_id}:{process}:lists")
        kind = self.settings.kind
        started = time.monotonic()
        seq = 0
        while not self._stop.is_set():
            with self._lock:
                if self._ops >= self.settings.max_ops:
                    break
                self._ops += 1
            if kind == "list-append" or (kind == "both" and lists.random() < 0.5):
                seq += 1
                self._list_op(links, process, lists, seq, time.monotonic() - started, mine)
                time.sleep(self.settings.interval_s)
                continue
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

    def _list_op(self, links: dict, process: int, rng: random.Random, seq: int,
                 elapsed_s: float, mine: set[int]) -> None:
        """One list operation on a shard of the whole lab (sent when the shard is in this
        view, as :meth:`_run` does for the register half)."""
        number = rng.randrange(1, self.topology.key_shards + 1)
        key = f"{self.run_id}:list:{number}:{int(elapsed_s // LIST_ROTATE_S)}:" \
              f"{rng.randrange(LISTS_PER_SHARD)}"
        read = rng.random() < LIST_READ_RATIO
        port = rng.choice(("master", "replicas")) if read else "master"
        if number in mine:
            self._op(links, process, self.topology.shard(number), port, key,
                     None if read else f"{process}-{seq}",
                     op="lrange" if read else "append")

    def _op(self, links: dict, process: int, shard: Shard, kind: str, key: str,
            value: str | None, op: str | None = None) -> str:
        """One operation (``op``: write or read of a register, by ``kind``; or a list's
        ``append`` or ``lrange``), recorded with its outcome."""
        link = links.get((shard.number, kind))
        if link is None:
            link = links[(shard.number, kind)] = self.routes.link(
                shard, kind, process, self.access, OP_TIMEOUT_S)
        op = op or ("write" if kind == "master" else "read")
        ack = self.settings.ack
        start = time.time()
        outcome, error, found, confirmed, served = "ok", None, None, None, None
        listed = None
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
                if op in ("write", "append"):
                    if op == "write":
                        r.set(key, value)
                    else:
                        r.rpush(key, value)
                    acknowledged = True
                    if ack.replicas:
                        confirmed = r.wait(ack.replicas, ack.timeout_ms)
                        if confirmed < ack.replicas:
                            outcome = "unconfirmed"
                elif op == "lrange":
                    listed = r.lrange(key, 0, -1)  # every route's client answers in str
                else:
                    found = r.get(key) is not None
            except redis.RedisError as exc:
                error = classify(exc)
                # Refused by the server (READONLY, LOADING, ...): it did not happen. Sent,
                # then the connection broke: a write may or may not have landed. WAIT that
                # failed after the master's acknowledgement: unconfirmed.
                refused = server_refused(exc)
                outcome = "unconfirmed" if acknowledged else \
                    "fail" if refused or op in ("read", "lrange") else "unknown"
                if not isinstance(exc, redis.ResponseError):
                    link.disconnect()
        event = {"op": op, "shard": shard.number, "port": link.port, "host": link.entry,
                 "route": self.routes.route, "client": process, "served": served,
                 "key": key, "start": start, "end": time.time(), "outcome": outcome,
                 "error": error}
        if op == "read":
            event["found"] = found
        elif op == "append":
            event.update(value=value, kind=kind)
        elif op == "lrange":
            event.update(value=listed, kind=kind)
        if ack.replicas and op in ("write", "append"):
            event["confirmed"] = confirmed
        self.history.record("op", t=event["end"], **event)
        return outcome
