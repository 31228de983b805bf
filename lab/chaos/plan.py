"""The dry run: which faults a chaos run would inject, and which hosts each would touch.

Printed before any chaos on an SSH inventory (which refuses to start without
``--i-accept-disruption``), and by ``nox -s chaos -- --plan`` for any lab. Building the plan
is read-only: the current masters are asked of the Sentinels, nothing is connected to over
SSH and nothing is changed.
"""

from __future__ import annotations

from collections.abc import Callable

from lab.chaos.scenarios import Scenario
from lab.config import Server
from lab.topology import RedisInstance, Topology

# What each fault does, in the words of the plan.
ACTIONS = {
    "crash-master": "SIGKILL the master of shard {shard}",
    "stop-master": "stop the master of shard {shard} (docker stop), start it again",
    "pause-master": "freeze the master of shard {shard} (docker pause), resume it",
    "partition-sentinels": "iptables: cut shard {shard}'s Sentinels off from its master",
    "isolate-master-with-clients": "iptables: cut shard {shard}'s master (with clients) off "
                                   "from its replicas and most Sentinels",
    "kill-sentinels": "stop a {count} of shard {shard}'s Sentinels, start them again",
    "kill-haproxy": "stop HAProxy on {server}, start it again",
    "isolate-server": "iptables: cut {server} off from the other servers",
    "restart-server": "restart every lab container on {server}",
    "restart-machine": "restart machine {server} itself",
    "packet-loss": "iptables: drop {percent} % of the lab traffic {server} receives",
    "latency": "netem: delay {server}'s lab traffic by {ms} ms",
}
SHARD_FAULTS = {"crash-master", "stop-master", "pause-master"}
PARTITIONS = {"partition-sentinels", "isolate-master-with-clients", "kill-sentinels"}


def describe(topology: Topology, scenarios: list[Scenario], hypothesis_profile: str | None,
             master_of: Callable[[int], RedisInstance], hypothesis_faults: tuple[str, ...]
             ) -> list[str]:
    """One line per fault of every scenario, then one for Hypothesis when it runs."""
    lines = []
    for scenario in scenarios:
        for step in scenario.faults:
            params = {"shard": 1, "server": 1, "count": "majority", "percent": 30, "ms": 200,
                      **step.params}
            server = _server(topology, params["server"])
            params["server"] = server.name
            action = ACTIONS.get(step.fault, step.fault).format(**params)
            hosts = _hosts(topology, step.fault, params["shard"], server, master_of)
            lines.append(f"{scenario.name}: {action}; touches {_listed(hosts)}")
    if hypothesis_profile:
        lines.append(f"hypothesis ({hypothesis_profile}): sequences of "
                     f"{', '.join(hypothesis_faults)} on any shard; touches any of "
                     f"{_listed(topology.servers)}")
    return lines


def describe_replay(topology: Topology, failure_id: str) -> list[str]:
    return [f"replay {failure_id}: its saved fault sequence; touches any of "
            f"{_listed(topology.servers)}"]


def _listed(servers) -> str:
    return ", ".join(f"{s.name} ({s.address})" for s in servers)


def _server(topology: Topology, server: int | str) -> Server:
    if isinstance(server, int):
        return topology.servers[server - 1]
    return topology.server(server)


def _hosts(topology: Topology, kind: str, shard_number: int, server: Server,
           master_of: Callable[[int], RedisInstance]) -> list[Server]:
    if kind in SHARD_FAULTS:
        try:
            return [master_of(shard_number).server]
        except RuntimeError:  # no master can be named now: any host of the shard
            return _ordered(topology, {i.server for i in topology.shard(shard_number).instances})
    if kind in PARTITIONS:
        shard = topology.shard(shard_number)
        involved = {i.server for i in shard.instances}
        involved |= {s.server for s in topology.sentinels_of(shard)}
        return _ordered(topology, involved)
    return [server]


def _ordered(topology: Topology, servers: set[Server]) -> list[Server]:
    return [s for s in topology.servers if s in servers]
