"""Faults on processes: a master crashed, stopped or frozen; Sentinels, HAProxy, a whole
server's containers stopped or restarted. Each acts on containers and undoes itself."""

from __future__ import annotations

from lab.chaos.faults.base import (
    Applied,
    Fault,
    FaultSkipped,
    Param,
    master_host,
    register,
    servers_of_shard,
)
from lab.leftovers import LABEL

SHARD = Param("shard", "shard", 1)
SERVER = Param("server", "server", 1)
_RUNNING = "[ \"$(docker inspect -f '{{{{.State.Running}}}}' {cid})\" = true ]"


class _MasterFault(Fault):
    """A fault on the current master of a shard: it touches that master's host."""

    family = "processes"
    params = (SHARD,)

    def hosts(self, topology, params, master_of):
        return master_host(topology, params["shard"], master_of)


@register
class CrashMaster(_MasterFault):
    """SIGKILL the master's redis-server from the machine: the restart policy applies."""

    name = "crash-master"

    def inject(self, nemesis, shard):
        return nemesis.container_action(
            self.name, nemesis.master_of(shard),
            "kill -9 $(docker inspect -f '{{{{.State.Pid}}}}' {cid})",
            f"{_RUNNING} || docker start {{cid}}")

    def describe(self, params):
        return f"SIGKILL the master of shard {params['shard']}"


@register
class StopMaster(_MasterFault):
    """Stop the master's container (a manual stop: no restart) until healed."""

    name = "stop-master"
    searched = True

    def inject(self, nemesis, shard):
        return nemesis.container_action(self.name, nemesis.master_of(shard),
                                        "docker stop -t 1 {cid}", "docker start {cid}")

    def describe(self, params):
        return f"stop the master of shard {params['shard']} (docker stop), start it again"


@register
class PauseMaster(_MasterFault):
    """Freeze the master (SIGSTOP via docker pause); heal resumes it: the zombie master."""

    name = "pause-master"
    searched = True

    def inject(self, nemesis, shard):
        return nemesis.container_action(self.name, nemesis.master_of(shard),
                                        "docker pause {cid}", "docker unpause {cid}")

    def describe(self, params):
        return f"freeze the master of shard {params['shard']} (docker pause), resume it"


@register
class KillSentinels(Fault):
    """Stop a minority or a majority of the Sentinels watching the shard."""

    name = "kill-sentinels"
    family = "processes"
    params = (SHARD, Param("count", "choice", "majority", choices=("minority", "majority"),
                           search=("minority",)))
    searched = True

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

    def describe(self, params):
        return f"stop a {params['count']} of shard {params['shard']}'s Sentinels, start them again"

    def hosts(self, topology, params, master_of):
        return servers_of_shard(topology, params["shard"])


@register
class KillHaproxy(Fault):
    """Stop one server's HAProxy: clients using it lose every port at once."""

    name = "kill-haproxy"
    family = "processes"
    params = (SERVER,)
    searched = True

    def inject(self, nemesis, server):
        cid = nemesis.container(server, "haproxy")
        applied = Applied(self.name, {"server": server}, [(server, f"docker start {cid}")])
        nemesis.machines[server].run(f"docker stop -t 1 {cid}")
        return applied

    def describe(self, params):
        return f"stop HAProxy on {params['server']}, start it again"


@register
class RestartServer(Fault):
    """Restart every lab container of a machine at once (a reboot, as compose sees it)."""

    name = "restart-server"
    family = "processes"
    params = (SERVER,)

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

    def describe(self, params):
        return f"restart every lab container on {params['server']}"
