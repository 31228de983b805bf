"""``status``: one screen that says whether the lab is healthy, and if not, why.

Three tables (instances, Sentinels, HAProxy backends), what chaos faults left behind on
the machines (tagged iptables rules, paused or stopped containers), and the settle
verdict from :mod:`lab.settle`, so ``status`` and ``lab_up`` never disagree. The lab
counts as settled when one of a few snapshots, a second apart, is.
"""

from __future__ import annotations

import io
import logging

from rich import box
from rich.console import Console
from rich.table import Table

from lab import leftovers, runs, settle
from lab.context import Lab
from lab.probe import Snapshot
from lab.topology import haproxy_instance

log = logging.getLogger(__name__)

STATUS_WINDOW_S = 3  # snapshots a second apart within this window
TABLE_WIDTH = 200  # wide enough that no cell wraps


def table(rows: list[list[str]], headers: list[str]) -> str:
    """Rows under headers, as plain text (rich lays it out; no colour codes, no wrapping,
    so the text reads the same in a terminal, a CI log or a file)."""
    grid = Table(*headers, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for row in rows:
        grid.add_row(*map(str, row))
    console = Console(file=io.StringIO(), width=TABLE_WIDTH, color_system=None,
                      highlight=False)
    console.print(grid, overflow="ignore", crop=False)
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())


def render(lab: Lab, snapshot: Snapshot, leftovers: list[str]) -> tuple[str, list[str]]:
    """The status text and the list of problems (empty = settled and no fault left)."""
    instance_rows = []
    for v in snapshot.instances:
        i = v.instance
        if v.error:
            instance_rows.append([i.server.name, str(i.port), str(i.shard), "DOWN", "-", "-",
                                  v.error])
            continue
        master = f"{v.master_address[0]}:{v.master_address[1]}" if v.master_address else "-"
        link = "-" if v.role == "master" else ("up" if v.link_up else "DOWN")
        instance_rows.append([i.server.name, str(i.port), str(i.shard), v.role or "?",
                              master, link, str(v.offset)])

    sentinel_rows = []
    for s in snapshot.sentinels:
        if s.error:
            sentinel_rows.append([s.sentinel.label, "-", "DOWN", "-", "-", s.error])
            continue
        for number, m in sorted(s.monitors.items()):
            master = f"{m.master_address[0]}:{m.master_address[1]}" if m.master_address else "?"
            monitor = lab.topology.shard(number).monitor_name
            sentinel_rows.append([s.sentinel.label, monitor, master, str(m.replicas),
                                  str(m.other_sentinels), m.ckquorum.split(" ")[0] or "?"])

    haproxy_rows = []
    for h in snapshot.haproxies:
        if h.error:
            haproxy_rows.append([h.server, "-", "-", h.error])
            continue
        for shard in lab.topology.shards:
            routes = [(shard.master_backend, shard.master_port),
                      (shard.replica_backend, shard.replica_port)]
            if shard.checked_port:
                routes.append((shard.checked_backend, shard.checked_port))
            for backend, port in routes:
                # A Sentinel-checked instance is UP once per majority naming it: once here.
                ups = list(dict.fromkeys(haproxy_instance(s) for s in h.up.get(backend, [])))
                haproxy_rows.append([h.server, str(port), backend, ", ".join(ups) or "NONE"])

    found = settle.problems(snapshot, lab.config, lab.topology)
    verdict = "SETTLED" if not found else "NOT SETTLED:\n" + "\n".join(f"  - {p}" for p in found)
    faults = "Fault leftovers: none" if not leftovers else \
        "Fault leftovers (run `nox -s heal`):\n" + \
        "\n".join(f"  - {x}" for x in leftovers)
    text = "\n\n".join([
        f"lab {lab.config.name}: {lab.config.layout} layout, "
        f"{len(lab.config.servers)} servers, {lab.machines_label}",
        "Redis instances\n" + table(instance_rows, ["server", "port", "shard", "role",
                                                    "replicates", "link", "offset"]),
        "Sentinels\n" + table(sentinel_rows, ["sentinel", "monitor", "master", "replicas",
                                              "sentinels", "quorum"]),
        "HAProxy backends (UP servers)\n" + table(haproxy_rows, ["haproxy", "port", "backend",
                                                                  "up"]),
        faults,
        verdict,
    ])
    return text, found + leftovers


def run(lab: Lab) -> bool:
    runs.require_up(lab)
    # A single snapshot can catch a replica between two of its master's replication
    # pings (a few bytes behind): a settled lab is settled in one of a few snapshots.
    snapshot, _ = settle.poll(lab.config, lab.topology, lab.access_as("observer"),
                              timeout_s=STATUS_WINDOW_S, progress=False)
    machines = lab.connect_all()
    try:
        left = leftovers.find(machines)
    finally:
        for machine in machines:
            machine.close()
    text, found = render(lab, snapshot, left)
    log.info(lab.secrets.redact(text))
    return not found
