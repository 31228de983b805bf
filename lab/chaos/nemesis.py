"""The nemesis' hands: SSH connections to the machines and the primitives faults act with.

Faults (:mod:`lab.chaos.faults`) decide *what* to break; this module knows *how* to reach
it: the container of a service, a tagged iptables rule, the current master of a shard
(asked of its Sentinels at the moment of the fault, :mod:`lab.masters`), a whole machine's
restart (the backend's). Jepsen keeps choosing a target apart from acting on it; so do we.

Partitions between processes that share a server (the article layout puts a shard's
master, replicas and Sentinels on one machine) are cut with ``-m owner --uid-owner``:
every Redis and Sentinel process runs as the uid equal to its port (see the entrypoint),
so "Sentinel 26380 cannot reach 192.168.56.11:6379" is one OUTPUT rule on that
Sentinel's server, and the same rule works in every layout.

Everything added is tagged as :mod:`lab.leftovers` defines, so its ``heal_everything``
(run before every scenario and on every exit path) removes what a heal missed.
"""

from __future__ import annotations

import logging
import shlex
import time
from collections.abc import Callable

from lab import engines, leftovers, masters
from lab.access import Access
from lab.at_once import each_at_once
from lab.chaos.faults.applied import CONTAINER_RUNNING, Applied, FaultSkipped
from lab.engines import Engine
from lab.leftovers import CHAINS, ENSURE_CHAINS, LABEL, PENDING, TAG, TOUCHED
from lab.machines.base import Machines, RestartUnsupported
from lab.progress import lowered
from lab.remote import Machine
from lab.render import REMOTE_ROOT
from lab.topology import RedisInstance, Topology

__all__ = ["READY_BOUND_S", "Nemesis"]

# How long a heal waits for what it undid to be back (a container started again).
READY_BOUND_S = 30.0
# How long a fault on a process waits for it to run (a container the restart policy is
# restarting) before refusing: it never acts on pid 0.
TARGET_BOUND_S = 15.0


class Nemesis:
    """Reaches the lab's machines on behalf of the faults, and heals what they did."""

    def __init__(self, topology: Topology, machines: list[Machine], access: Access,
                 network: str, backend: Machines | None = None,
                 reconnect: Callable[[str], Machine] | None = None,
                 adopted: bool = False, haproxy_port: int = 5000,
                 engine: Engine | None = None) -> None:
        self.topology = topology
        self.machines = {m.server.name: m for m in machines}
        self.access = access
        self.network = network
        # The machine backend, for restarting a whole machine (where it can).
        self.backend = backend
        # A fresh connection to a server whose SSH address may have changed (a restart).
        self.reconnect = reconnect
        # An adopted deployment: not the lab's compose project, no per-port uids.
        self.adopted = adopted
        self.haproxy_port = haproxy_port
        # The engine's dialect (option names, COORDINATED failover) for settings faults.
        self.engine = engine or engines.get(engines.DEFAULT)

    # -- finding targets -------------------------------------------------------------------

    def master_of(self, shard_number: int) -> RedisInstance:
        """The master the shard's Sentinels name now (majority), else the one saying so."""
        return masters.named_master(self.topology, self.access, shard_number)

    def container(self, server: str, service: str) -> str:
        if self.adopted:
            return self._adopted_container(server, service)
        cid = self.machines[server].run(
            f"docker ps -aq --filter {LABEL} "
            f"--filter label=com.docker.compose.service={service}").strip()
        if not cid:
            raise RuntimeError(f"{server}: no container for service {service}")
        return cid.split()[0]

    def _adopted_container(self, server: str, service: str) -> str:
        """The container whose process listens on the service's port; recorded as touched
        so that heal (even a later ``nox -s heal``) puts it back."""
        port = self.haproxy_port if service == "haproxy" else int(service.rsplit("-", 1)[1])
        # By the listening socket's process; where `ss` cannot name it (a process of
        # another uid, and a root without CAP_SYS_PTRACE, as in a container), by the
        # process title Redis and Valkey give themselves ("valkey-server 10.0.0.1:6379").
        title = "haproxy" if service == "haproxy" else \
            f"(redis|valkey)-(server|sentinel) [^ ]*:{port}( |$)"
        found = self.machines[server].run(
            f"pid=$(ss -Hltnp 'sport = :{port}' | sed -n 's/.*pid=\\([0-9]*\\).*/\\1/p' "
            "| head -n1); for c in $(docker ps -q 2>/dev/null); do "
            "if [ -n \"$pid\" ]; then docker top \"$c\" -o pid | grep -qxE \" *$pid *\"; "
            f"else docker top \"$c\" -o pid,args | grep -qE {shlex.quote(title)}; fi "
            "&& echo \"$c\" && break; done",
            check=False).strip()
        if not found:
            raise FaultSkipped(f"adopt mode: nothing in a container listens on {server}:{port}; "
                               "the lab can only stop and restart containerized processes")
        self.machines[server].run(f"mkdir -p {TOUCHED.rsplit('/', 1)[0]} && "
                                  f"(grep -qx {found} {TOUCHED} 2>/dev/null || "
                                  f"echo {found} >> {TOUCHED})")
        return found

    # -- acting ----------------------------------------------------------------------------

    def heal(self, applied: Applied, ready_bound_s: float = READY_BOUND_S) -> None:
        """Undo ``applied``, then wait (bounded) until what it undid is back."""
        for server, command in reversed(applied.undo):
            self.machines[server].run(command, check=False)
        deadline = time.monotonic() + ready_bound_s
        for server, check in applied.ready:
            while not self.machines[server].ok(check):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{server}: {applied.kind} healed, but its target is "
                                       f"not back after {ready_bound_s:.0f} s ({check})")
                time.sleep(0.2)

    @staticmethod
    def youngest_container_s(machines: list[Machine]) -> int | None:
        """How many whole seconds ago the most recently started lab container on
        ``machines`` started; None when there is none (an adopted deployment's are not
        labelled)."""
        ages = each_at_once(lambda m: m.run(
            f"now=$(date +%s); docker ps -q --filter {LABEL} | xargs -r docker inspect -f "
            "'{{.State.StartedAt}}' | while read -r t; do echo $(( now - $(date -d \"$t\" "
            "+%s) )); done | sort -n | head -n1", check=False).strip(), machines)
        found = [max(int(a), 0) for a in ages if a.lstrip("-").isdigit()]  # skew: 0
        return min(found) if found else None

    def heal_everything(self) -> None:
        leftovers.heal_everything(list(self.machines.values()))

    def container_action(self, kind: str, instance, action: str, undo: str) -> Applied:
        """Run ``action`` on ``instance``'s container (``{cid}`` filled in, and ``{pid}``:
        its main process, looked up first so that the fault's clock starts at the
        destructive command itself); ``undo`` puts it back."""
        server = instance.server.name
        cid = self.container(server, instance.service)
        pid = self._main_pid(instance, cid) if "{pid}" in action else ""
        at = time.time()
        self.machines[server].run(action.format(cid=cid, pid=pid))
        return Applied(kind, {"instance": instance.label, "server": server,
                              "service": instance.service},
                       [(server, undo.format(cid=cid))], at=at,
                       ready=[(server, CONTAINER_RUNNING.format(cid=cid))])

    def _main_pid(self, instance, cid: str) -> str:
        """The container's main process; a container being restarted has none (pid 0):
        wait for it (bounded), then refuse, naming the target, rather than signal pid 0."""
        machine = self.machines[instance.server.name]
        bound_s = TARGET_BOUND_S  # read when called: a test shortens it
        deadline = time.monotonic() + bound_s
        while True:
            pid = machine.run(f"docker inspect -f '{{{{.State.Pid}}}}' {cid}").strip()
            if pid not in ("", "0"):
                return pid
            if time.monotonic() > deadline:
                raise FaultSkipped(f"{instance.label}: its container {cid[:12]} has had no "
                                   f"running process for {bound_s:.0f} s: nothing to signal")
            time.sleep(0.2)

    def add_rules(self, kind: str, target: dict, rules: list[tuple[str, str, str]]) -> Applied:
        """Add ``(server, chain, rule spec)`` rules, tagged; undo deletes each one."""
        applied = Applied(kind, target)  # its time: now, just before the rules go in
        by_server: dict[str, list[str]] = {}
        for server, chain, spec in rules:
            full = f"{spec} -m comment --comment {TAG}"
            by_server.setdefault(server, []).append(f"iptables -w -A {CHAINS[chain]} {full}")
            applied.undo.append((server, f"iptables -w -D {CHAINS[chain]} {full}"))
        for server, commands in by_server.items():
            self.machines[server].run(" && ".join([ENSURE_CHAINS, *commands]))
        return applied

    def change_settings(self, kind: str, target: dict,
                        changes: list[tuple[str, str, str]]) -> Applied:
        """Run each ``(server, command, undo)`` on that server: ``command`` a
        :meth:`redis_cli` line that must answer ``OK``. Each undo is written to the
        server's pending-undo file before its change, so a heal after a crashed controller
        (``nox -s heal``) still puts the setting back."""
        if self.adopted:
            raise FaultSkipped("adopt mode: the deployment's settings are its own; the lab "
                               "changes only the settings of a stack it provisioned")
        applied = Applied(kind, target)
        for server, command, undo in changes:
            self.need_redis_cli(server)
            self.remember_undo(applied, server, undo)
            self.run_ok(server, command)
        return applied

    def run_ok(self, server: str, command: str) -> None:
        """Run ``command`` (a :meth:`redis_cli` line) on ``server``; it must answer
        ``OK``, or the answer is the error."""
        self.machines[server].run(f"answer=$({command}) && [ \"$answer\" = OK ] || "
                                  "{ echo \"$answer\" >&2; exit 1; }")

    def need_redis_cli(self, server: str) -> None:
        """FaultSkipped unless ``server`` has ``redis-cli`` (what :meth:`redis_cli` runs)."""
        if not self.machines[server].ok("command -v redis-cli >/dev/null"):
            raise FaultSkipped(f"{server}: redis-cli is not installed (apt-get install "
                               "redis-tools)")

    def remember_undo(self, applied: Applied, server: str, undo: str) -> None:
        """Add ``undo`` (a one-line shell command) to ``applied``, after writing it to the
        server's pending-undo file, so that a heal after a crashed controller (``nox -s
        heal``) still runs it; the heal of ``applied`` runs it and forgets it."""
        # One line each; the fault's kind names the leftover in `status`.
        marker = f"# fault {applied.kind} {applied.id}.{len(applied.undo)}"
        self.machines[server].run(f"mkdir -p {PENDING.rsplit('/', 1)[0]} && "
                                  f"echo {shlex.quote(f'{undo} {marker}')} >> {PENDING}")
        applied.undo.append((server, f"{undo}; sed -i '/{marker}$/d' {PENDING}"))

    # As an argument of :meth:`redis_cli`: the lab's password, and the password replicas
    # authenticate with (the replication user's with [security] acl), expanded on the
    # machine from the configs rendered there.
    PASSWORD = object()
    MASTERAUTH = object()

    @classmethod
    def redis_cli(cls, address: tuple[str, int], *args: object, auth: bool = True) -> str:
        """A shell line running ``redis-cli`` on a lab machine against ``address``; the
        password comes from the configs rendered there (never from a command line)."""
        host, port = address
        words = " ".join('"$REDISCLI_AUTH"' if a is cls.PASSWORD else
                         '"$LAB_MASTERAUTH"' if a is cls.MASTERAUTH else shlex.quote(str(a))
                         for a in args)
        # With [security] tls the bundle on the machine holds the lab CA: TLS, verified.
        ca = f"{REMOTE_ROOT}/tls/ca.crt"
        cli = (f"redis-cli $([ -f {ca} ] && echo --tls --cacert {ca}) "
               f"-h {host} -p {port} {words}")
        if not auth:
            return cli
        conf = f"{REMOTE_ROOT}/conf/redis-*.conf"
        masterauth = (f"LAB_MASTERAUTH=$(awk '$1 == \"masterauth\" {{ print $2; exit }}' {conf}); "
                      if any(a is cls.MASTERAUTH for a in args) else "")
        return (f"export REDISCLI_AUTH=$(awk '$1 == \"requirepass\" {{ print $2; exit }}' "
                f"{conf}); {masterauth}{cli}")

    def block(self, sources, destinations, reset: bool = False) -> list[tuple[str, str, str]]:
        """OUTPUT rules so that no process of ``sources`` reaches any of ``destinations``
        (``reset``: refused with a TCP reset, so established connections break at once
        instead of at their timeout)."""
        if self.adopted:
            raise FaultSkipped("adopt mode: processes that share a host cannot be told apart "
                               "by iptables (the lab's own stack runs each as its own uid)")
        rules = []
        for src in sources:
            for dst in destinations:
                if src == dst:
                    continue
                host, port = dst.address
                target = "REJECT --reject-with tcp-reset" if reset else "DROP"
                rules.append((src.server.name, "OUTPUT",
                              f"-p tcp -m owner --uid-owner {src.port} -d {host} "
                              f"--dport {port} -j {target}"))
        return rules

    def restart_machine(self, server: str) -> float:
        """Power-cycle ``server`` through its backend; return when the restart was issued,
        once its Docker engine answers again."""
        if self.backend is None:
            raise FaultSkipped("no machine backend to restart a machine with")
        self.machines[server].close()  # its SSH session dies with it
        at = time.time()
        # Its sshd goes away and refuses us until it is back: paramiko's transport thread
        # logs each refused handshake as an error with a traceback; expected here, and the
        # wait itself says when it gave up.
        with lowered("paramiko.transport", logging.CRITICAL):
            try:
                self.backend.restart(server)
            except RestartUnsupported as exc:
                raise FaultSkipped(str(exc)) from None
            if self.reconnect:  # the machine may come back on another address
                self.machines[server] = self.reconnect(server)
            self._wait_for_engine(self.machines[server])
        return at

    @staticmethod
    def _wait_for_engine(machine: Machine, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if machine.ok("docker info >/dev/null 2>&1"):
                    return
            except Exception:  # noqa: BLE001 - sshd may not be up yet
                machine.close()
            time.sleep(1)
        raise RuntimeError(f"{machine.server.name}: no Docker engine {timeout_s:.0f} s after "
                           "restart")

