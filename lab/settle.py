"""Is the lab *settled*? The one definition, used by ``lab_up``, ``status`` and chaos.

Settled means, for every shard:

* exactly one instance reports ``role:master``;
* every other instance is its replica, ``master_link_status:up``, offset caught up;
* every Sentinel watching it names that master, knows every replica (none down) and
  every other Sentinel, ``SENTINEL CKQUORUM`` says OK, and it is not in TILT mode (where
  it would act on nothing: a failover asked of it waits until TILT ends);
* every HAProxy has exactly that master UP in the shard's master backend (and in its
  Sentinel-checked one), and every replica UP in its replica backend.

:func:`problems` is pure (a snapshot in, sentences out); :func:`wait` polls until the
list is empty or the timeout passes, then names what is still not settled.
"""

from __future__ import annotations

import logging
import time

from lab import probe
from lab.access import Access
from lab.config import LabConfig
from lab.errors import NotSettledError
from lab.probe import Snapshot
from lab.topology import Topology, haproxy_instance

log = logging.getLogger(__name__)


def problems(snapshot: Snapshot, config: LabConfig, topology: Topology) -> list[str]:
    """Every reason the lab is not settled; empty when it is."""
    found: list[str] = []
    by_address = {v.instance.address: v for v in snapshot.instances}
    masters: dict[int, tuple[str, int]] = {}

    for shard in topology.shards:
        views = [by_address[i.address] for i in shard.instances]
        for view in views:
            if view.error:
                found.append(f"shard {shard.number}: {view.instance.label} unreachable "
                             f"({view.error})")
        reporting_master = [v for v in views if v.role == "master"]
        if len(reporting_master) != 1:
            labels = ", ".join(v.instance.label for v in reporting_master) or "none"
            found.append(f"shard {shard.number}: {len(reporting_master)} instances report "
                         f"role:master ({labels}), expected exactly 1")
            continue
        master = reporting_master[0]
        masters[shard.number] = master.instance.address
        for view in views:
            if view is master or view.error:
                continue
            label = view.instance.label
            if view.master_address != master.instance.address:
                found.append(f"shard {shard.number}: {label} replicates "
                             f"{_fmt(view.master_address)}, not the master {master.instance.label}")
            elif not view.link_up:
                found.append(f"shard {shard.number}: {label} master_link_status is not up")
            # Probes are not simultaneous: a replica read after its master may be ahead.
            elif view.offset < master.offset:
                found.append(f"shard {shard.number}: {label} offset {view.offset} behind "
                             f"master offset {master.offset}")

    for sentinel in snapshot.sentinels:
        label = sentinel.sentinel.label
        if sentinel.error:
            found.append(f"sentinel {label} unreachable ({sentinel.error})")
            continue
        if sentinel.tilt:
            found.append(f"sentinel {label} in TILT mode (it acts on nothing until 30 s "
                         "after its clock last jumped)")
        for number, monitor in sorted(sentinel.monitors.items()):
            where = f"sentinel {label}, shard {number}"
            if number in masters and monitor.master_address != masters[number]:
                found.append(f"{where}: names master {_fmt(monitor.master_address)}, "
                             f"instances say {_fmt(masters[number])}")
            if monitor.replicas != config.redis.replicas_per_shard:
                found.append(f"{where}: sees {monitor.replicas} healthy replicas, expected "
                             f"{config.redis.replicas_per_shard}")
            expected_others = config.sentinels_per_shard - 1
            if monitor.other_sentinels != expected_others:
                found.append(f"{where}: sees {monitor.other_sentinels} other Sentinels, "
                             f"expected {expected_others}")
            if not monitor.ckquorum.startswith("OK"):
                found.append(f"{where}: CKQUORUM says {monitor.ckquorum!r}")

    names = {i.address: i.haproxy_server for i in topology.instances}
    for haproxy in snapshot.haproxies:
        if haproxy.error:
            found.append(f"haproxy on {haproxy.server} unreachable ({haproxy.error})")
            continue
        for shard in topology.shards:
            up = haproxy.up.get(shard.master_backend, [])
            if shard.number in masters and up != [names[masters[shard.number]]]:
                found.append(f"haproxy on {haproxy.server}: {shard.master_backend} has UP "
                             f"{up or 'nothing'}, expected [{names[masters[shard.number]]}]")
            checked_up = sorted({haproxy_instance(s)
                                 for s in haproxy.up.get(shard.checked_backend, [])})
            if shard.checked_port and shard.number in masters \
                    and checked_up != [names[masters[shard.number]]]:
                found.append(f"haproxy on {haproxy.server}: {shard.checked_backend} has UP "
                             f"{checked_up or 'nothing'}, expected "
                             f"[{names[masters[shard.number]]}] named by a majority of Sentinels")
            replicas_up = haproxy.up.get(shard.replica_backend, [])
            if len(replicas_up) != config.redis.replicas_per_shard:
                found.append(f"haproxy on {haproxy.server}: {shard.replica_backend} has "
                             f"{len(replicas_up)} UP, expected {config.redis.replicas_per_shard}")
    return found


def poll(config: LabConfig, topology: Topology, access: Access, *, timeout_s: float,
         interval_s: float = 1.0, progress: bool = True) -> tuple[Snapshot, list[str]]:
    """Snapshots until one is settled or ``timeout_s`` passed: (last snapshot, problems).
    With ``progress``, what is still open is logged every 10 s."""
    deadline = time.monotonic() + timeout_s
    last_report = 0.0
    while True:
        snapshot = probe.take(config, topology, access)
        found = problems(snapshot, config, topology)
        now = time.monotonic()
        if not found or now > deadline:
            return snapshot, found
        if progress and now - last_report >= 10:
            log.info(f"  waiting to settle: {len(found)} open point(s), e.g. {found[0]}")
            last_report = now
        time.sleep(interval_s)


def wait(config: LabConfig, topology: Topology, access: Access, *,
         timeout_s: float | None = None, interval_s: float = 1.0,
         progress: bool = True) -> Snapshot:
    """Poll until settled; raise :class:`NotSettledError` naming what is not."""
    timeout_s = config.settle_timeout_s if timeout_s is None else timeout_s
    snapshot, found = poll(config, topology, access, timeout_s=timeout_s,
                           interval_s=interval_s, progress=progress)
    if found:
        listed = "\n".join(f"  - {p}" for p in found[:20])
        more = f"\n  ... and {len(found) - 20} more" if len(found) > 20 else ""
        raise NotSettledError(
            f"the lab did not settle within {timeout_s:.0f} s; not settled:\n{listed}{more}"
        )
    return snapshot


def _fmt(address: tuple[str, int] | None) -> str:
    return f"{address[0]}:{address[1]}" if address else "nothing"
