"""Watch the lab while it is attacked, and write what changes into the history.

* every Sentinel's pub/sub events (``PSUBSCRIBE *``: ``+sdown``, ``+odown``,
  ``+switch-master``, ``+convert-to-slave``, ...);
* every instance's role (and a replica's master and link status, and the error it answers
  PING with, if any: MISCONF when it cannot persist), polled every ``POLL_S``
  (one thread per instance, so a frozen one does not slow the others down); recorded when
  it changes, ``None`` = unreachable;
* every HAProxy's backends (the stats CSV), recorded when a backend's UP servers change;
* which master every Sentinel names for each shard it watches
  (``SENTINEL get-master-addr-by-name``, polled every ``NAMED_POLL_S``), and whether it
  answered at all, when either changes.

Observers only read, never retry, and stop with the scenario. An observer that meets an
error it does not expect records ``observer_error`` (where its observations have a gap,
and why), says so in the log and starts again: it never dies silently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

from lab.access import Access
from lab.chaos.history import History
from lab.config import LabConfig
from lab.failures import classify
from lab.probe import client, haproxy_view
from lab.topology import RedisInstance, SentinelInstance, Topology

log = logging.getLogger(__name__)

POLL_S = 0.1
NAMED_POLL_S = 0.25


class Observers:
    def __init__(self, config: LabConfig, topology: Topology, access: Access,
                 history: History) -> None:
        self.config = config
        self.topology = topology
        self.access = access
        self.history = history
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        targets = [
            *((self._sentinel, s) for s in self.topology.sentinels),
            *((self._role, i) for i in self.topology.instances),
            *((self._haproxy, s) for s in self.topology.servers),
            *((self._named, s) for s in self.topology.sentinels),
        ]
        for fn, target in targets:
            thread = threading.Thread(target=self._guarded, args=(fn, target), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=3)

    def _guarded(self, observe: Callable, target) -> None:
        """Run ``observe(target)`` until stopped, recording and logging what breaks it."""
        while not self._stop.is_set():
            try:
                observe(target)
                return
            except Exception as exc:  # a bug or an answer we did not foresee: keep watching
                watched = getattr(target, "label", None) or target.name  # instance or server
                name = f"{observe.__name__.lstrip('_')} {watched}"
                error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
                self.history.record("observer_error", observer=name, error=error)
                log.warning(f"chaos: observer {name} failed ({error}); it starts again")
                self._stop.wait(POLL_S)

    def _sentinel(self, sentinel: SentinelInstance) -> None:
        while not self._stop.is_set():
            try:
                with client(*sentinel.address, self.access.sentinels, timeout=1) as r, \
                        r.pubsub() as pubsub:
                    pubsub.psubscribe("*")
                    while not self._stop.is_set():
                        message = pubsub.get_message(timeout=0.2)
                        if message and message["type"] == "pmessage":
                            self.history.record("sentinel", sentinel=sentinel.label,
                                                channel=message["channel"],
                                                data=message["data"])
            except redis.RedisError:
                # The Sentinel is down or cut off (a fault): try again shortly.
                self._stop.wait(0.5)

    def _role(self, instance: RedisInstance) -> None:
        last: tuple | None = ("never",)
        r = client(*instance.address, self.access, timeout=0.3)
        while not self._stop.is_set():
            try:
                # PING as Sentinel sends it, in the same round trip: an instance can
                # answer INFO and yet refuse PING (MISCONF: it cannot persist).
                pipe = r.pipeline(transaction=False)
                pipe.ping().info("replication")
                pong, info = pipe.execute(raise_on_error=False)
                if isinstance(info, Exception):
                    raise info
                role = info.get("role")
                master = None if role == "master" else \
                    f"{self.topology.address_of(str(info.get('master_host')))}:" \
                    f"{info.get('master_port')}"
                link = None if role == "master" else info.get("master_link_status")
                refused = classify(pong) if isinstance(pong, Exception) else None
                state = (role, master, link, refused)
            except redis.RedisError:
                state = (None, None, None, None)
                r.close()
            if state != last:
                self.history.record("role", instance=instance.label, shard=instance.shard,
                                    role=state[0], master=state[1], link=state[2],
                                    refused=state[3])
                last = state
            self._stop.wait(POLL_S)
        r.close()

    def _named(self, sentinel: SentinelInstance) -> None:
        last: dict[int, tuple[str | None, bool]] = {}
        r = client(*sentinel.address, self.access.sentinels, timeout=0.5)
        monitors = {n: self.topology.shard(n).monitor_name for n in sentinel.shards}
        while not self._stop.is_set():
            for number, monitor in monitors.items():
                try:
                    reply = r.execute_command("SENTINEL", "get-master-addr-by-name", monitor)
                    named = f"{self.topology.address_of(reply[0])}:{reply[1]}" if reply \
                        else None
                    answered = True
                except redis.RedisError:
                    named, answered = None, False  # down, cut off, or unable to start
                    r.close()
                if last.get(number) != (named, answered):
                    self.history.record("named", sentinel=sentinel.label, shard=number,
                                        master=named, answered=answered)
                    last[number] = (named, answered)
            self._stop.wait(NAMED_POLL_S)
        r.close()

    def _haproxy(self, server) -> None:
        last: dict[str, list[str]] = {}
        while not self._stop.is_set():
            view = haproxy_view(server.name, server.address, self.config.haproxy.stats_port)
            now = time.time()
            current = {} if view.error else view.up
            for backend in sorted(set(current) | set(last)):
                if current.get(backend) != last.get(backend):
                    self.history.record("haproxy", t=now, haproxy=server.name, backend=backend,
                                        up=current.get(backend, []))
            last = current
            self._stop.wait(POLL_S * 2)
