"""Faults: each injects over Fabric and returns exactly what undoes it.

Faults target roles, not containers: "the master of shard 2" is asked of that shard's
Sentinels at the moment of the fault. Everything a fault changes on a machine is tagged:

* iptables rules live in the chains ``RHL-INPUT`` / ``RHL-OUTPUT`` (jumped to from INPUT
  and OUTPUT with the comment ``redis-ha-lab``), so clearing them is one flush;
* containers are the compose project's, so paused or stopped ones are found by label;
  an adopted deployment's containers (found by the port they listen on) are written to
  ``/var/lib/redis-ha-lab/touched-containers`` on their host before a fault touches them.

Partitions between processes that share a server (the article layout puts a shard's
master, replicas and Sentinels on one machine) are cut with ``-m owner --uid-owner``:
every Redis and Sentinel process runs as the uid equal to its port (see the entrypoint),
so "Sentinel 26380 cannot reach 192.168.56.11:6379" is one OUTPUT rule on that
Sentinel's server, and the same rule works in every layout.

:func:`heal_everything` is the safety net, run before every scenario and on every exit
path: it removes every tagged rule, resumes paused and starts stopped lab containers,
and removes a netem qdisc.
"""

from __future__ import annotations

import inspect
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from lab import probe
from lab.remote import Machine
from lab.render import COMPOSE_PROJECT
from lab.topology import RedisInstance, SentinelInstance, Topology

TAG = "redis-ha-lab"
TOUCHED = "/var/lib/redis-ha-lab/touched-containers"
CHAINS = {"INPUT": "RHL-INPUT", "OUTPUT": "RHL-OUTPUT"}
_LABEL = f"label=com.docker.compose.project={COMPOSE_PROJECT}"


class FaultSkipped(Exception):
    """The fault cannot run on these machines; the message says why."""


@dataclass
class Applied:
    """A fault as injected: what it hit and the commands that undo it, per server."""

    kind: str
    target: dict
    undo: list[tuple[str, str]] = field(default_factory=list)  # (server name, command)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    # When the destructive command was issued: the fault's start in the history (target
    # lookups before it do not count, a slow command after it does).
    at: float = field(default_factory=time.time)


class Nemesis:
    """Injects and heals faults on the lab's machines."""

    def __init__(self, topology: Topology, machines: list[Machine], password: str,
                 network: str, machine_containers: dict[str, str] | None = None,
                 reconnect: Callable[[str], Machine] | None = None,
                 adopted: bool = False, haproxy_port: int = 5000) -> None:
        self.topology = topology
        self.machines = {m.server.name: m for m in machines}
        self.password = password
        self.network = network
        # Server name -> the host container that *is* the machine (docker provider only).
        self.machine_containers = machine_containers or {}
        # A fresh connection to a server whose SSH address may have changed (a restart).
        self.reconnect = reconnect
        # An adopted deployment: not the lab's compose project, no per-port uids.
        self.adopted = adopted
        self.haproxy_port = haproxy_port

    # -- finding targets -------------------------------------------------------------------

    def master_of(self, shard_number: int) -> RedisInstance:
        """The master the shard's Sentinels name now (majority), else the one saying so."""
        shard = self.topology.shard(shard_number)
        votes: Counter = Counter()
        for sentinel in self.topology.sentinels_of(shard):
            try:
                with probe.client(*sentinel.address, timeout=1) as s:
                    host, port = s.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME",
                                                   shard.monitor_name)
                    votes[(host, int(port))] += 1
            except Exception:  # noqa: BLE001 - an unreachable Sentinel does not vote
                continue
        for address, _ in votes.most_common():
            instance = shard.instance_at(*address)
            if instance:
                return instance
        for instance in shard.instances:
            try:
                with probe.client(*instance.address, password=self.password, timeout=1) as r:
                    if r.info("replication").get("role") == "master":
                        return instance
            except Exception:  # noqa: BLE001
                continue
        raise RuntimeError(f"no instance of shard {shard_number} can be named master")

    def container(self, server: str, service: str) -> str:
        if self.adopted:
            return self._adopted_container(server, service)
        cid = self.machines[server].run(
            f"docker ps -aq --filter {_LABEL} "
            f"--filter label=com.docker.compose.service={service}").strip()
        if not cid:
            raise RuntimeError(f"{server}: no container for service {service}")
        return cid.split()[0]

    def _adopted_container(self, server: str, service: str) -> str:
        """The container whose process listens on the service's port; recorded as touched
        so that heal (even a later ``nox -s heal``) puts it back."""
        port = self.haproxy_port if service == "haproxy" else int(service.rsplit("-", 1)[1])
        found = self.machines[server].run(
            f"pid=$(ss -Hltnp 'sport = :{port}' | sed -n 's/.*pid=\\([0-9]*\\).*/\\1/p' "
            "| head -n1); [ -n \"$pid\" ] || exit 0; "
            "for c in $(docker ps -q 2>/dev/null); do "
            "docker top \"$c\" -o pid | grep -qxE \" *$pid *\" && echo \"$c\" && break; done",
            check=False).strip()
        if not found:
            raise FaultSkipped(f"adopt mode: nothing in a container listens on {server}:{port}; "
                               "the lab can only stop and restart containerized processes")
        self.machines[server].run(f"mkdir -p {TOUCHED.rsplit('/', 1)[0]} && "
                                  f"(grep -qx {found} {TOUCHED} 2>/dev/null || "
                                  f"echo {found} >> {TOUCHED})")
        return found

    # -- the faults --------------------------------------------------------------------------

    def inject(self, kind: str, **params) -> Applied:
        try:
            fault = FAULTS[kind]
        except KeyError:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(sorted(FAULTS))}") \
                from None
        if "server" in inspect.signature(fault).parameters:
            params["server"] = self.server_name(params.get("server", 1))
        return fault(self, **params)

    def server_name(self, server: int | str) -> str:
        """A fault's ``server``: its name, or its 1-based position in ``[[servers]]``
        (scenarios say 1, so they run on inventories whose hosts have other names)."""
        names = [s.name for s in self.topology.servers]
        if isinstance(server, int) and 1 <= server <= len(names):
            return names[server - 1]
        if server in names:
            return str(server)
        raise ValueError(f"no server {server!r}; the servers are {', '.join(names)} (or 1.."
                         f"{len(names)} by position)")

    def heal(self, applied: Applied) -> None:
        for server, command in reversed(applied.undo):
            self.machines[server].run(command, check=False)

    def _container_fault(self, kind: str, instance, action: str, undo: str) -> Applied:
        server = instance.server.name
        cid = self.container(server, instance.service)
        at = time.time()
        self.machines[server].run(action.format(cid=cid))
        return Applied(kind, {"instance": instance.label, "server": server,
                              "service": instance.service},
                       [(server, undo.format(cid=cid))], at=at)

    def _rules(self, kind: str, target: dict, rules: list[tuple[str, str, str]]) -> Applied:
        """Add ``(server, chain, rule spec)`` rules; undo deletes each one."""
        applied = Applied(kind, target)  # its time: now, just before the rules go in
        by_server: dict[str, list[str]] = {}
        for server, chain, spec in rules:
            full = f"{spec} -m comment --comment {TAG}"
            by_server.setdefault(server, []).append(f"iptables -w -A {CHAINS[chain]} {full}")
            applied.undo.append((server, f"iptables -w -D {CHAINS[chain]} {full}"))
        for server, commands in by_server.items():
            self.machines[server].run(" && ".join([_ENSURE_CHAINS, *commands]))
        return applied

    def block(self, sources, destinations) -> list[tuple[str, str, str]]:
        """OUTPUT rules so that no process of ``sources`` reaches any of ``destinations``."""
        if self.adopted:
            raise FaultSkipped("adopt mode: processes that share a host cannot be told apart "
                               "by iptables (the lab's own stack runs each as its own uid)")
        rules = []
        for src in sources:
            for dst in destinations:
                if src == dst:
                    continue
                host, port = dst.address
                rules.append((src.server.name, "OUTPUT",
                              f"-p tcp -m owner --uid-owner {src.port} -d {host} "
                              f"--dport {port} -j DROP"))
        return rules


Inject = Callable[..., Applied]
FAULTS: dict[str, Inject] = {}


def fault(name: str):
    def register(fn: Inject) -> Inject:
        FAULTS[name] = fn
        return fn
    return register


_RUNNING = "[ \"$(docker inspect -f '{{{{.State.Running}}}}' {cid})\" = true ]"


@fault("crash-master")
def crash_master(n: Nemesis, shard: int = 1) -> Applied:
    """SIGKILL the master's redis-server from the machine: the restart policy applies."""
    return n._container_fault(
        "crash-master", n.master_of(shard),
        "kill -9 $(docker inspect -f '{{{{.State.Pid}}}}' {cid})",
        f"{_RUNNING} || docker start {{cid}}")


@fault("stop-master")
def stop_master(n: Nemesis, shard: int = 1) -> Applied:
    """Stop the master's container (a manual stop: no restart) until healed."""
    return n._container_fault("stop-master", n.master_of(shard),
                              "docker stop -t 1 {cid}", "docker start {cid}")


@fault("pause-master")
def pause_master(n: Nemesis, shard: int = 1) -> Applied:
    """Freeze the master (SIGSTOP via docker pause); heal resumes it: the zombie master."""
    return n._container_fault("pause-master", n.master_of(shard),
                              "docker pause {cid}", "docker unpause {cid}")


@fault("partition-sentinels")
def partition_sentinels(n: Nemesis, shard: int = 1) -> Applied:
    """Cut every Sentinel of the shard off from its master; clients still reach it."""
    master = n.master_of(shard)
    sentinels = n.topology.sentinels_of(n.topology.shard(shard))
    return n._rules("partition-sentinels",
                    {"master": master.label, "sentinels": [s.label for s in sentinels]},
                    n.block(sentinels, [master]))


@fault("isolate-master-with-clients")
def isolate_master_with_clients(n: Nemesis, shard: int = 1) -> Applied:
    """Old master + a minority of Sentinels on one side, clients still reaching it; the
    replicas and the Sentinel majority on the other: the classic lost-writes case."""
    master = n.master_of(shard)
    shard_ = n.topology.shard(shard)
    sentinels = list(n.topology.sentinels_of(shard_))
    # The minority: Sentinels on the master's server first (the article layout has them).
    sentinels.sort(key=lambda s: s.server != master.server)
    minority = sentinels[: (len(sentinels) - 1) // 2]
    side_a = [master, *minority]
    side_b = [i for i in shard_.instances if i != master] + sentinels[len(minority):]
    return n._rules(
        "isolate-master-with-clients",
        {"master": master.label, "with_master": [p.label for p in side_a],
         "other_side": [p.label for p in side_b]},
        n.block(side_a, side_b) + n.block(side_b, side_a),
    )


@fault("isolate-server")
def isolate_server(n: Nemesis, server: str = "") -> Applied:
    """Cut a machine off from the other machines (clients on the host still reach it)."""
    others = [s.address for s in n.topology.servers if s.name != server]
    rules = []
    for address in others:
        rules.append((server, "INPUT", f"-s {address} -j DROP"))
        rules.append((server, "OUTPUT", f"-d {address} -j DROP"))
    return n._rules("isolate-server", {"server": server, "cut_from": others}, rules)


@fault("kill-sentinels")
def kill_sentinels(n: Nemesis, shard: int = 1, count: str = "majority") -> Applied:
    """Stop a minority or a majority of the Sentinels watching the shard."""
    sentinels = n.topology.sentinels_of(n.topology.shard(shard))
    k = len(sentinels) // 2 + 1 if count == "majority" else (len(sentinels) - 1) // 2
    chosen: list[SentinelInstance] = list(sentinels[-k:]) if k else []
    cids = [(s.server.name, n.container(s.server.name, s.service)) for s in chosen]
    applied = Applied("kill-sentinels", {"count": count, "sentinels": [s.label for s in chosen]})
    for server, cid in cids:
        n.machines[server].run(f"docker stop -t 1 {cid}")
        applied.undo.append((server, f"docker start {cid}"))
    return applied


@fault("kill-haproxy")
def kill_haproxy(n: Nemesis, server: str = "") -> Applied:
    """Stop one server's HAProxy: clients using it lose every port at once."""
    cid = n.container(server, "haproxy")
    at = time.time()
    n.machines[server].run(f"docker stop -t 1 {cid}")
    return Applied("kill-haproxy", {"server": server}, [(server, f"docker start {cid}")], at=at)


@fault("restart-server")
def restart_server(n: Nemesis, server: str = "") -> Applied:
    """Restart every lab container of a machine at once (a reboot, as compose sees it)."""
    if n.adopted:
        raise FaultSkipped("adopt mode: which of the host's containers form the deployment "
                           "is not known; restart-server needs the lab's own stack")
    at = time.time()
    n.machines[server].run(f"docker ps -q --filter {_LABEL} | xargs -r docker restart -t 1")
    return Applied("restart-server", {"server": server},
                   [(server, f"docker ps -aq --filter {_LABEL} --filter status=exited "
                             "| xargs -r docker start")], at=at)


@fault("restart-machine")
def restart_machine(n: Nemesis, server: str = "") -> Applied:
    """Restart the machine itself (docker provider: its container, from the host)."""
    container = n.machine_containers.get(server)
    if not container:
        raise FaultSkipped("restarting a whole machine is implemented for the docker "
                           "provider only (VMs: use restart-server)")
    n.machines[server].close()  # its SSH session dies with it
    at = time.time()
    subprocess.run(["docker", "restart", "-t", "2", container], check=True,
                   capture_output=True, timeout=120)
    if n.reconnect:  # the machine may come back on another bridge address
        n.machines[server] = n.reconnect(server)
    _wait_for_engine(n.machines[server])
    return Applied("restart-machine", {"server": server, "container": container},
                   [(server, f"docker ps -aq --filter {_LABEL} --filter status=exited "
                             "| xargs -r docker start")], at=at)


def _wait_for_engine(machine: Machine, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if machine.ok("docker info >/dev/null 2>&1"):
                return
        except Exception:  # noqa: BLE001 - sshd may not be up yet
            machine.close()
        time.sleep(1)
    raise RuntimeError(f"{machine.server.name}: no Docker engine {timeout_s:.0f} s after restart")


@fault("packet-loss")
def packet_loss(n: Nemesis, server: str = "", percent: int = 30) -> Applied:
    """Drop a share of the lab traffic a machine receives (iptables statistic)."""
    rule = (f"-s {n.network} -p tcp ! --dport 22 -m statistic --mode random "
            f"--probability {percent / 100:.2f} -j DROP")
    return n._rules("packet-loss", {"server": server, "percent": percent},
                    [(server, "INPUT", rule)])


@fault("latency")
def latency(n: Nemesis, server: str = "", ms: int = 200) -> Applied:
    """Delay a machine's lab traffic with netem, where the kernel has it."""
    machine = n.machines[server]
    address = n.topology.server(server).address
    iface = machine.run(f"ip -o addr show to {address} | awk '{{print $2}}'").strip()
    if not iface:
        raise FaultSkipped(f"no interface carries {address} on {server}")
    at = time.time()
    if not machine.ok(f"tc qdisc add dev {iface} root netem delay {ms}ms"):
        raise FaultSkipped("kernel lacks netem (tc qdisc ... netem failed)")
    return Applied("latency", {"server": server, "ms": ms, "interface": iface},
                   [(server, f"tc qdisc del dev {iface} root")], at=at)


_ENSURE_CHAINS = " && ".join(
    f"(iptables -w -L {chain} -n >/dev/null 2>&1 || iptables -w -N {chain}) && "
    f"(iptables -w -C {hook} -m comment --comment {TAG} -j {chain} 2>/dev/null || "
    f"iptables -w -I {hook} 1 -m comment --comment {TAG} -j {chain})"
    for hook, chain in CHAINS.items()
)

# Removes every trace a fault can leave on a machine; safe to run at any time.
HEAL_EVERYTHING = " ; ".join([
    *(f"iptables -w -D {hook} -m comment --comment {TAG} -j {chain} 2>/dev/null"
      for hook, chain in CHAINS.items()),
    *(f"iptables -w -F {chain} 2>/dev/null; iptables -w -X {chain} 2>/dev/null"
      for chain in CHAINS.values()),
    f"docker ps -q --filter {_LABEL} --filter status=paused | xargs -r docker unpause",
    f"docker ps -aq --filter {_LABEL} --filter status=exited | xargs -r docker start",
    f"docker ps -aq --filter {_LABEL} --filter status=created | xargs -r docker start",
    "for i in $(ls /sys/class/net); do tc qdisc show dev $i | grep -q netem && "
    "tc qdisc del dev $i root; done",
    # Adopted containers a fault touched: resume or start each, forget the running ones.
    f"if [ -f {TOUCHED} ]; then for c in $(cat {TOUCHED}); do "
    "case \"$(docker inspect -f '{{.State.Status}}' $c 2>/dev/null)\" in "
    "paused) docker unpause $c ;; exited|created) docker start $c ;; esac; done; "
    f"for c in $(cat {TOUCHED}); do [ \"$(docker inspect -f '{{{{.State.Status}}}}' $c "
    f"2>/dev/null)\" = running ] || echo $c; done > {TOUCHED}.left; mv {TOUCHED}.left {TOUCHED}; "
    f"[ -s {TOUCHED} ] || rm -f {TOUCHED}; fi",
    "true",
])

def _count(status: str) -> str:
    """Lab containers, and touched adopted ones, in ``status``."""
    return (f"{{ docker ps -aq --filter {_LABEL} --filter status={status}; "
            f"[ -f {TOUCHED} ] && for c in $(cat {TOUCHED}); do "
            f"[ \"$(docker inspect -f '{{{{.State.Status}}}}' $c 2>/dev/null)\" = {status} ] "
            "&& echo $c; done; } | sort -u | wc -l")


LEFTOVERS = " ; ".join([
    f"iptables -w -S 2>/dev/null | grep -c -- '{TAG}' || true",
    _count("paused"),
    _count("exited"),
])


def heal_everything(machines: list[Machine]) -> None:
    for machine in machines:
        machine.run(HEAL_EVERYTHING, check=False)


def leftovers(machines: list[Machine]) -> list[str]:
    """What faults left behind on each machine (empty when clean)."""
    found = []
    for machine in machines:
        counts = machine.run(LEFTOVERS, check=False).split()
        rules, paused, stopped = (int(x) for x in (counts + ["0", "0", "0"])[:3])
        name = machine.server.name
        if rules:
            found.append(f"{name}: {rules} tagged iptables rule(s)")
        if paused:
            found.append(f"{name}: {paused} paused lab container(s)")
        if stopped:
            found.append(f"{name}: {stopped} stopped lab container(s)")
    return found

