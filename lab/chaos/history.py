"""The history of one scenario: every operation, observation and fault, timestamped.

Every event is a dict with ``type`` and ``t`` (seconds since the epoch, from the
controlling host's clock: all observation happens there). Events are appended from
many threads; the file is JSONL, one event per line, in the order they were recorded,
which is not always time order: readers sort by ``t``.

Event types:

``meta``        scenario, layout, settings, topology (first line)
``op``          a client operation: ``op`` write/read, ``shard``, ``port``, ``key``,
                ``start``, ``end``, ``outcome`` ok/fail/unknown, ``error`` class, and for
                reads ``found``
``sentinel``    a Sentinel pub/sub event: ``sentinel``, ``channel``, ``data``
``role``        an instance's role changed: ``instance``, ``shard``, ``role`` (or None when
                unreachable), ``master``, ``link`` (a replica's master_link_status)
``haproxy``     a backend's UP servers changed: ``haproxy``, ``backend``, ``up``
``named``       the master a Sentinel names for a shard changed: ``sentinel``, ``shard``,
                ``master`` (``ip:port``, or None when the Sentinel does not answer)
``fault``       ``phase`` inject/heal/skipped, ``id``, ``fault``, ``target``; an inject's ``t``
                is when its destructive command was issued (``injected_by``: when the
                injection returned), a heal's when healing began
``readback``    after heal and settle: per shard, the final master and the workload keys
                present there
``acl-log``     before the workload starts and after read-back (``phase``), per instance:
                its ACL LOG ``entries`` (count, reason, context, object, username,
                entry-id), or ``error``
``convergence`` after heal: ``settled`` bool, ``seconds``, ``problems``, per shard the
                masters, Sentinel agreement and whether the replicas' datasets match
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class History:
    """Thread-safe JSONL recorder, flushed per event so an interrupted run keeps its data.
    ``listener`` (e.g. the workshop's live page) is handed every event once it is written."""

    def __init__(self, path: Path, listener: Callable[[dict], None] | None = None) -> None:
        self.path = path
        self.listener = listener
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def record(self, type_: str, t: float | None = None, **fields: Any) -> dict:
        event = {"type": type_, "t": time.time() if t is None else t, **fields}
        line = json.dumps(event, default=str)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
        if self.listener:
            try:
                self.listener(event)
            except Exception:  # noqa: BLE001 - a watcher's failure never loses the history
                log.exception("history: the listener failed on an event (it was recorded)")
        return event

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read(path: Path) -> list[dict]:
    """Every event of a history file, sorted by time; a torn last line is ignored."""
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # the run was killed mid-write
    return sorted(events, key=lambda e: e.get("t", 0))
