"""Faults on processes: a master crashed, stopped or frozen; Sentinels, HAProxy, a whole
server's containers stopped or restarted. Each acts on containers and undoes itself."""

from __future__ import annotations

import random
import time
from typing import ClassVar

from lab.at_once import each_at_once
from lab.chaos.faults.applied import CONTAINER_RUNNING
from lab.chaos.faults.base import (
    Applied,
    Fault,
    FaultSkipped,
    Param,
    register,
)
from lab.config import Server
from lab.leftovers import LABEL

SHARD = Param("shard", "shard", 1)
SERVER = Param("server", "server", 1)


class _MasterFault(Fault):
    """A fault on the current master of a shard: ``action`` on its container (``{cid}``),
    ``undo`` to put it back; it touches that master's host."""

    family = "processes"
    params = (SHARD,)
    touches = "master"
    action: ClassVar[str]
    undo: ClassVar[str]

    def inject(self, nemesis, shard):
        return nemesis.container_action(self.name, nemesis.master_of(shard), self.action,
                                        self.undo)


@register
class CrashMaster(_MasterFault):
    """SIGKILL the master's redis-server from the machine: the restart policy applies."""

    name = "crash-master"
    action = "kill -9 {pid}"
    undo = f"{CONTAINER_RUNNING} || docker start {{cid}}"
    words = "SIGKILL the master of shard {shard}"


@register
class StopMaster(_MasterFault):
    """Stop the master's container (a manual stop: no restart) until healed."""

    name = "stop-master"
    action, undo = "docker stop -t 1 {cid}", "docker start {cid}"
    words = "stop the master of shard {shard} (docker stop), start it again"


@register
class PauseMaster(_MasterFault):
    """Freeze the master (SIGSTOP via docker pause); heal resumes it: the zombie master."""

    name = "pause-master"
    action, undo = "docker pause {cid}", "docker unpause {cid}"
    words = "freeze the master of shard {shard} (docker pause), resume it"


@register
class PauseReplicas(Fault):
    """Freeze every replica of the shard (docker pause); heal resumes them."""

    name = "pause-replicas"
    family = "processes"
    params = (SHARD,)
    touches = "shard"
    searched = False  # the catalogue's min-replicas scenario; pause-master covers freezing
    words = "freeze every replica of shard {shard} (docker pause), resume them"

    def inject(self, nemesis, shard):
        master = nemesis.master_of(shard)
        replicas = [i for i in nemesis.topology.shard(shard).instances if i != master]
        applied = Applied(self.name, {"replicas": [i.label for i in replicas]})
        for replica in replicas:
            paused = nemesis.container_action(self.name, replica, "docker pause {cid}",
                                              "docker unpause {cid}")
            applied.undo += paused.undo
        return applied


@register
class FreezeSentinel(Fault):
    """Freeze one Sentinel of the shard (docker pause, SIGSTOP-like); resumed past its
    2 s timer threshold it enters TILT mode for 30 s (redis/redis#10547)."""

    name = "freeze-sentinel"
    family = "processes"
    params = (SHARD,)
    touches = "shard"
    searched = False  # the catalogue's TILT scenario
    words = "freeze the first Sentinel of shard {shard} (docker pause), resume it"

    def inject(self, nemesis, shard):
        sentinel = nemesis.topology.sentinels_of(nemesis.topology.shard(shard))[0]
        return nemesis.container_action(self.name, sentinel, "docker pause {cid}",
                                        "docker unpause {cid}")


@register
class KillSentinels(Fault):
    """Stop a minority or a majority of the Sentinels watching the shard."""

    name = "kill-sentinels"
    family = "processes"
    params = (SHARD, Param("count", "choice", "majority", choices=("minority", "majority")))
    touches = "shard"
    words = "stop a {count} of shard {shard}'s Sentinels, start them again"

    def inject(self, nemesis, shard, count):
        sentinels = nemesis.topology.sentinels_of(nemesis.topology.shard(shard))
        k = len(sentinels) // 2 + 1 if count == "majority" else (len(sentinels) - 1) // 2
        chosen = list(sentinels[-k:]) if k else []
        cids = [(s.server.name, nemesis.container(s.server.name, s.service)) for s in chosen]
        applied = Applied(self.name, {"count": count, "sentinels": [s.label for s in chosen]})
        for server, cid in cids:
            nemesis.machines[server].run(f"docker stop -t 1 {cid}")
            applied.undo.append((server, f"docker start {cid}"))
        return applied


@register
class KillHaproxy(Fault):
    """Stop one server's HAProxy: clients using it lose every port at once."""

    name = "kill-haproxy"
    family = "processes"
    params = (SERVER,)
    words = "stop HAProxy on {server}, start it again"

    def inject(self, nemesis, server):
        cid = nemesis.container(server, "haproxy")
        applied = Applied(self.name, {"server": server}, [(server, f"docker start {cid}")])
        nemesis.machines[server].run(f"docker stop -t 1 {cid}")
        return applied


@register
class RestartServer(Fault):
    """Restart every lab container of a machine at once (a reboot, as compose sees it)."""

    name = "restart-server"
    family = "processes"
    params = (SERVER,)
    words = "restart every lab container on {server}"

    def inject(self, nemesis, server):
        if nemesis.adopted:
            raise FaultSkipped("adopt mode: which of the host's containers form the "
                               "deployment is not known; restart-server needs the lab's own "
                               "stack")
        applied = Applied(self.name, {"server": server},
                          [(server, f"docker ps -aq --filter {LABEL} --filter status=exited "
                                    "| xargs -r docker start")])
        nemesis.machines[server].run(
            f"docker ps -q --filter {LABEL} | xargs -r docker restart -t 1")
        return applied


@register
class ColdStart(Fault):
    """Every lab container on every server stopped at once, then, on heal, started again
    one at a time in a random order drawn from ``seed``, ``gap_ms`` apart: a data
    centre's power coming back (redis/redis#13658, #12271, valkey-io/valkey#1322)."""

    name = "cold-start"
    family = "processes"
    params = (Param("seed", "int", 1, low=0, high=2**31 - 1),
              Param("gap_ms", "int", 300, low=0, high=10000))
    searched = False  # it stops every shard at once: a catalogue scenario of its own
    words = "stop every lab container everywhere; start them one by one, {gap_ms} ms " \
            "apart, in the order seed {seed} draws"

    def hosts(self, topology, params, master_of) -> list[Server]:
        return list(topology.servers)

    def inject(self, nemesis, seed, gap_ms):
        if nemesis.adopted:
            raise FaultSkipped("adopt mode: which of the host's containers form the "
                               "deployment is not known; cold-start needs the lab's own stack")
        listed = each_at_once(
            lambda m: m.run(f"docker ps -q --filter {LABEL} --format "
                            "'{{.ID}} {{.Label \"com.docker.compose.service\"}}'"),
            nemesis.machines.values())
        # By server and service (not container id): one seed, one order, on every lab.
        containers = sorted(((server, *line.split()) for server, output
                             in zip(nemesis.machines, listed, strict=True)
                             for line in output.splitlines() if line.strip()),
                            key=lambda c: (c[0], c[2]))
        order = list(containers)
        random.Random(seed).shuffle(order)
        # The heal runs the undo in reverse: the first to start is the last entry.
        undo = [(server, f"docker start {cid} >/dev/null && sleep {gap_ms / 1000:g}")
                for server, cid, _ in reversed(order)]
        applied = Applied(self.name, {"seed": seed, "gap_ms": gap_ms,
                                      "order": [f"{server}/{service}"
                                                for server, _, service in order]},
                          undo, ready=[(server, CONTAINER_RUNNING.format(cid=cid))
                                       for server, cid, _ in order])
        by_server: dict[str, list[str]] = {}
        for server, cid, _ in containers:
            by_server.setdefault(server, []).append(cid)
        applied.at = time.time()
        each_at_once(lambda server: nemesis.machines[server].run(
            f"docker stop -t 1 {' '.join(by_server[server])} >/dev/null"), by_server)
        return applied
