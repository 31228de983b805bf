"""The live view for the projector: a page served by the controller while a workshop runs.

:class:`LiveState` folds the events the chaos observers and the workload record into the
history (roles, Sentinels' named masters, HAProxy's UP servers, faults, operations), so
the numbers on the page are the numbers in the history; the workshop adds what it is
doing (exercise, step, prediction, the measured answer).

:class:`LiveServer` serves it with Flask (already in the dependency tree through Locust)
on loopback by default: ``/`` the page (no CDN: one file, its script inline), ``/state``
the state as JSON (the page polls it every 250 ms), ``/predict`` the room's answer.
Binding another address (``--bind``) lets a classroom open the page; anyone who reaches it
sees the lab's addresses (never its password) and can submit a prediction, nothing more.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import threading
import time
from collections import deque
from pathlib import Path

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from lab.errors import LabError
from lab.probe import Snapshot
from lab.topology import Topology

__all__ = ["DEFAULT_PORT", "LiveServer", "LiveState", "check_bind"]

DEFAULT_PORT = 8090
PAGE = Path(__file__).with_name("live.html")
RATE_WINDOW_S = 1.0  # writes/s and errors/s: over the last second of operations
MAX_OPS = 20_000  # operations kept for the rates (bounded)


class LiveState:
    """What the page shows, thread-safe; fed every history event (:meth:`feed`)."""

    def __init__(self, topology: Topology) -> None:
        self._lock = threading.Lock()
        self._ops: deque[tuple[float, int, bool]] = deque(maxlen=MAX_OPS)
        self.version = 0
        self._answer: float | None = None
        self._answer_event = threading.Event()
        self.use_topology(topology)
        self.workshop: dict = {}

    def use_topology(self, topology: Topology) -> None:
        """A new lab shape (an overlay switched the layout): forget what was seen."""
        with self._lock:
            self.topology = topology
            self._labels = {f"{i.server.address}:{i.port}": i.label for i in topology.instances}
            self.roles: dict[str, dict] = {}
            self.named: dict[str, dict[int, str | None]] = {}
            self.haproxy: dict[str, dict[str, list[str]]] = {}
            self.faults: dict[str, dict] = {}
            self.version += 1

    # -- what the history says -------------------------------------------------------------

    def feed(self, event: dict) -> None:
        """One history event (called from the recording threads)."""
        kind = event["type"]
        with self._lock:
            if kind == "op":
                if event.get("op") == "write":
                    self._ops.append((event["t"], event["shard"], event["outcome"] == "ok"))
                return
            if kind == "role":
                self.roles[event["instance"]] = {"role": event["role"],
                                                 "master": event.get("master"),
                                                 "link": event.get("link"),
                                                 "since": event["t"]}
            elif kind == "named":
                self.named.setdefault(event["sentinel"], {})[event["shard"]] = event["master"]
            elif kind == "haproxy":
                self.haproxy.setdefault(event["haproxy"], {})[event["backend"]] = event["up"]
            elif kind == "fault" and event.get("phase") == "inject":
                self.faults[event["id"]] = {"fault": event["fault"],
                                            "target": _target(event.get("target")),
                                            "since": event["t"]}
            elif kind == "fault" and event.get("phase") == "heal":
                self.faults.pop(event["id"], None)
            else:
                return
            self.version += 1

    def seed(self, snapshot: Snapshot) -> None:
        """What a settle snapshot saw, in the history's event shapes: the page is drawn
        before the first recording starts (and after each reset)."""
        t = snapshot.taken_at
        for view in snapshot.instances:
            master = f"{view.master_address[0]}:{view.master_address[1]}" \
                if view.role != "master" and view.master_address else None
            self.feed({"type": "role", "t": t, "instance": view.instance.label,
                       "role": None if view.error else view.role, "master": master,
                       "link": None if view.role == "master" or view.error
                       else ("up" if view.link_up else "down")})
        for sentinel in snapshot.sentinels:
            for shard, monitor in sentinel.monitors.items():
                named = monitor.master_address
                self.feed({"type": "named", "t": t, "sentinel": sentinel.sentinel.label,
                           "shard": shard, "master": f"{named[0]}:{named[1]}" if named else None})
        for haproxy in snapshot.haproxies:
            for backend, up in haproxy.up.items():
                self.feed({"type": "haproxy", "t": t, "haproxy": haproxy.server,
                           "backend": backend, "up": up})

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()
            self.version += 1

    # -- what the workshop says --------------------------------------------------------------

    def say(self, **fields) -> None:
        """Update the workshop's part (exercise, step, phase, prediction, result...)."""
        with self._lock:
            self.workshop.update(fields)
            self.version += 1

    def submit(self, answer: float) -> None:
        """The room's answer, from the page."""
        with self._lock:
            self._answer = answer
            self.workshop["answer_from_page"] = answer
            self.version += 1
        self._answer_event.set()

    def take_answer(self) -> float | None:
        """The page's answer for the open question, if one came (then forgotten)."""
        with self._lock:
            answer, self._answer = self._answer, None
            self._answer_event.clear()
            return answer

    def wait_answer(self, timeout_s: float) -> bool:
        return self._answer_event.wait(timeout_s)

    # -- the page's view -----------------------------------------------------------------------

    def snapshot(self, now: float | None = None) -> dict:
        now = time.time() if now is None else now
        with self._lock:
            topology = self.topology
            recent = [(shard, ok) for t, shard, ok in self._ops if now - t <= RATE_WINDOW_S]
            servers = []
            for server in topology.servers:
                instances = []
                for i in topology.instances_on(server):
                    seen = self.roles.get(i.label, {})
                    master = seen.get("master")
                    instances.append({"label": i.label, "shard": i.shard, "port": i.port,
                                      "role": seen.get("role", "unknown") if seen else "unknown",
                                      "master": self._labels.get(master, master),
                                      "link": seen.get("link")})
                sentinels = [{"label": s.label, "port": s.port,
                              "named": {str(n): self._labels.get(m, m) for n, m in
                                        sorted(self.named.get(s.label, {}).items())}}
                             for s in topology.sentinels_on(server)]
                backends = self.haproxy.get(server.name, {})
                servers.append({"name": server.name, "address": server.address,
                                "instances": instances, "sentinels": sentinels,
                                "haproxy": {b: [u.replace("_", ":") for u in up]
                                            for b, up in sorted(backends.items())}})
            shards = []
            for shard in topology.shards:
                masters = [i.label for i in shard.instances
                           if self.roles.get(i.label, {}).get("role") == "master"]
                writes = [ok for s, ok in recent if s == shard.number]
                shards.append({"number": shard.number, "masters": masters,
                               "master_port": shard.master_port,
                               "replica_port": shard.replica_port,
                               "writes_per_s": round(sum(writes) / RATE_WINDOW_S, 1),
                               "errors_per_s": round(
                                   (len(writes) - sum(writes)) / RATE_WINDOW_S, 1)})
            return {"version": self.version, "t": now, "layout": topology.layout,
                    "servers": servers, "shards": shards,
                    "faults": sorted(self.faults.values(), key=lambda f: f["since"]),
                    "workshop": dict(self.workshop)}


def _target(target: object) -> str:
    """A fault's target for the banner: the instance or server it hit."""
    if isinstance(target, dict):
        return str(target.get("instance") or target.get("server")
                   or ", ".join(f"{k}={v}" for k, v in target.items()))
    return str(target)


def check_bind(host: str, port: int) -> None:
    """Exit 2 (LabError) when this machine cannot serve on ``host``:``port``."""
    if not 0 <= port <= 65535:
        raise LabError(f"--live-port {port}: a TCP port is 1..65535")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise LabError(f"--bind {host!r}: not an IP address (e.g. 127.0.0.1, or this "
                       "machine's address on the classroom network)") from None
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise LabError(f"--bind {host}: this machine has no such address; use one "
                               "`ip -brief address` lists (default 127.0.0.1)") from None
            if exc.errno == errno.EADDRINUSE:
                raise LabError(f"--live-port {port}: in use on {host}; choose another "
                               "--live-port") from None
            raise LabError(f"--bind {host} --live-port {port}: {exc.strerror}") from None


class LiveServer:
    """The page and its JSON, served from a thread until :meth:`stop`."""

    def __init__(self, state: LiveState, host: str = "127.0.0.1",
                 port: int = DEFAULT_PORT) -> None:
        check_bind(host, port)
        self.state = state
        app = Flask("redis-ha-lab-live")
        page = PAGE.read_text(encoding="utf-8")

        @app.get("/")
        def index():
            return page, 200, {"Content-Type": "text/html; charset=utf-8",
                               "Cache-Control": "no-store"}

        @app.get("/state")
        def state_json():
            response = jsonify(state.snapshot())
            response.headers["Cache-Control"] = "no-store"
            return response

        @app.post("/predict")
        def predict():
            data = request.get_json(silent=True) or {}
            try:
                answer = float(data["answer"])
            except (KeyError, TypeError, ValueError):
                return jsonify(ok=False, error="send {\"answer\": NUMBER}"), 400
            if not state.workshop.get("asking"):
                return jsonify(ok=False, error="no question is open"), 409
            state.submit(answer)
            return jsonify(ok=True)

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = make_server(host, port, app, threaded=True)
        self.host, self.port = host, self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="live-page")

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
