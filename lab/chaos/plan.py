"""The dry run: which faults a chaos run would inject, and which hosts each would touch.

Printed before any chaos on an SSH inventory (which refuses to start without
``--i-accept-disruption``), and by ``nox -s chaos -- --plan`` for any lab. Every line is
the fault's own (:meth:`~lab.chaos.faults.base.Fault.describe` and ``hosts``), so a new
fault appears here by being registered. Building the plan is read-only: the current
masters are asked of the Sentinels, nothing is connected to over SSH, nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lab.chaos import faults
from lab.chaos.scenarios import Scenario
from lab.config import Server
from lab.topology import RedisInstance, Topology

__all__ = ["describe", "describe_replay"]


def describe(topology: Topology, scenarios: list[Scenario], hypothesis_profile: str | None,
             master_of: Callable[[int], RedisInstance],
             hypothesis_faults: Iterable[str] = ()) -> list[str]:
    """One line per fault of every scenario, then one for Hypothesis when it runs."""
    lines = []
    for scenario in scenarios:
        for name, given in scenario.injected():
            fault = faults.get(name)
            params = fault.resolve(given, topology)
            hosts = fault.hosts(topology, params, master_of)
            lines.append(f"{scenario.name}: {fault.describe(params)}; touches {_listed(hosts)}")
    if hypothesis_profile:
        lines.append(f"hypothesis ({hypothesis_profile}): sequences of "
                     f"{', '.join(hypothesis_faults)} on any shard; touches any of "
                     f"{_listed(topology.servers)}")
    return lines


def describe_replay(topology: Topology, failure_id: str) -> list[str]:
    return [f"replay {failure_id}: its saved fault sequence; touches any of "
            f"{_listed(topology.servers)}"]


def _listed(servers: Iterable[Server]) -> str:
    return ", ".join(f"{s.name} ({s.address})" for s in servers)
