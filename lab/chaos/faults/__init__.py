"""The faults: one object per fault, one registry (:mod:`~lab.chaos.faults.base`).

``processes``  crash-master, stop-master, pause-master, pause-replicas, freeze-sentinel,
               kill-sentinels, kill-haproxy, restart-server
``network``    partition-sentinels, isolate-master-with-clients, cut-replication,
               isolate-server, packet-loss, latency
``machines``   restart-machine
``settings``   manual-failover, replica-priority-zero, require-replicas,
               sentinel-reboot-period, drop-masterauth
``resources``  replica-buffer-loop, clock-jump, disk-full, slow-fsync, memory-limit;
               sentinel-conf-readonly, sentinels-disagree (sentinel_files)

Adding a fault is one new class in one of these modules (or a new module imported
below), decorated with ``@register``; see docs/development.md, "Adding a fault".
"""

from __future__ import annotations

from typing import Any

from lab.chaos.faults import (  # noqa: F401 - they register
    machines,
    network,
    processes,
    resources,
    sentinel_files,
    settings,
)
from lab.chaos.faults.base import (
    Applied,
    Fault,
    FaultSkipped,
    Param,
    get,
    register,
    registered,
)

__all__ = ["Applied", "Fault", "FaultSkipped", "Param", "get", "inject", "register",
           "registered", "searched"]


def inject(nemesis, name: str, **params: Any) -> Applied:
    """Inject fault ``name`` with ``params`` (defaults filled, values checked)."""
    fault = get(name)
    return fault.inject(nemesis, **fault.resolve(params, nemesis.topology))


def searched() -> dict[str, Fault]:
    """The faults the Hypothesis state machine draws from, in registry order."""
    return {name: f for name, f in registered().items() if f.searched}
