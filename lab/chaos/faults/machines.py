"""Faults on whole machines: restarted through their backend (a power cycle), or moved to
a new address under the same name."""

from __future__ import annotations

import ipaddress
import re
import shlex

from lab.chaos.faults.base import Applied, Fault, FaultSkipped, Param, register
from lab.leftovers import CHAINS, LABEL, TAG
from lab.render import REMOTE_ROOT

# How far above its address a moved server's new address is (192.168.56.11 -> .111).
NEW_ADDRESS_OFFSET = 100
COMPOSE_FILE = f"{REMOTE_ROOT}/docker-compose.yml"


@register
class RestartMachine(Fault):
    """Restart the machine itself (docker provider: its container, from the host)."""

    name = "restart-machine"
    family = "machines"
    params = (Param("server", "server", 1),)
    words = "restart machine {server} itself"

    def inject(self, nemesis, server):
        at = nemesis.restart_machine(server)
        return Applied(self.name, {"server": server},
                       [(server, f"docker ps -aq --filter {LABEL} --filter status=exited "
                                 "| xargs -r docker start")], at=at)


@register
class NewAddress(Fault):
    """The master's server answers under its name at a new address, as a rescheduled
    Kubernetes pod or a re-created VM does (redis/redis#9103, #8300). Needs
    ``[machines] hostnames``.

    What the machines see (the lab's observers, outside, still reach each process where it
    runs): the server's name resolves to the new address in every lab container; the new
    address answers (an address added to the server's interface, DNAT to the processes);
    the old one refuses the other machines and the server's own processes (TCP reset, as
    an address nothing listens on). Whoever resolved the name before keeps the
    old address until it resolves again: what the scenario measures. The processes are
    not restarted (a restart's own effects are restart-server's). The heal resets every
    connection made through the new address, so that everyone reconnects to the old one
    at once instead of after their timeouts."""

    name = "new-address"
    family = "machines"
    params = (Param("shard", "shard", 1),)
    touches = "shard"  # every machine's containers resolve the moved name
    searched = False  # a catalogue scenario: it needs [machines] hostnames
    words = "move the server of shard {shard}'s master to a new address under its name"

    def inject(self, nemesis, shard):
        if nemesis.adopted:
            raise FaultSkipped("adopt mode: the deployment's names and addresses are its own")
        server = nemesis.master_of(shard).server
        old, name = server.address, server.name
        new = new_address(nemesis.topology, nemesis.network, old)
        machine = nemesis.machines[name]
        if not machine.ok(f"grep -q {shlex.quote(f'{name}:{old}')} {COMPOSE_FILE}"):
            raise FaultSkipped("the lab's configs address the servers by number: set "
                               "[machines] hostnames = true (and lab_up) to move a server "
                               "under its name")
        device, prefix = machine.run(
            f"ip -o -4 addr show | awk '{{ split($4, a, \"/\"); if (a[1] == \"{old}\") "
            "{ print $2, a[2]; exit } }'").split()
        applied = Applied(self.name, {"server": name, "old": old, "new": new})

        # 1. The new address answers, for the processes at the old one.
        # (Each undo is written down before its change: a crash in between leaves nothing
        # a heal does not know.)
        nemesis.remember_undo(applied, name, f"ip addr del {new}/{prefix} dev {device}")
        machine.run(f"ip addr add {new}/{prefix} dev {device}")
        for chain in ("PREROUTING", "OUTPUT"):
            rule = f"{chain} -d {new} -j DNAT --to-destination {old} -m comment --comment {TAG}"
            nemesis.remember_undo(applied, name, f"iptables -w -t nat -D {rule}")
            machine.run(f"iptables -w -t nat -A {rule}")
        # (heal) Connections made through the new address are reset once the name is back
        # (in the tagged chains, which a heal after a crash has already removed: no-op).
        via_new = (f"-p tcp -d {old} -m conntrack --ctstate DNAT --ctorigdst {new} "
                   f"-j REJECT --reject-with tcp-reset -m comment --comment {TAG}")
        nemesis.remember_undo(applied, name, "; ".join(
            [*(f"iptables -w -I {chain} 1 {via_new} 2>/dev/null" for chain in CHAINS.values()),
             "sleep 1",
             *(f"iptables -w -D {chain} {via_new} 2>/dev/null" for chain in CHAINS.values()),
             "true"]))
        # 2. Every machine's running containers resolve the name to it.
        for each, each_machine in nemesis.machines.items():
            nemesis.remember_undo(applied, each, _resolve(name, new, old))
            each_machine.run(_resolve(name, old, new))
        # 3. The old address refuses the machines (the fault's start).
        ports = ",".join(str(port) for port in sorted(
            p.port for p in (*nemesis.topology.instances_on(server),
                             *nemesis.topology.sentinels_on(server))))
        to_old = f"-p tcp -d {old} -m multiport --dports {ports} -m conntrack ! --ctstate DNAT"
        refused = nemesis.add_rules(self.name, {}, [
            *((name, "INPUT", f"-s {s.address} {to_old} -j REJECT --reject-with tcp-reset")
              for s in nemesis.topology.servers if s.name != name),
            (name, "OUTPUT", f"{to_old} -j REJECT --reject-with tcp-reset")])
        applied.undo += refused.undo
        applied.at = refused.at
        return applied


def new_address(topology, network: str, old: str) -> str:
    """The address ``old``'s server moves to: ``NEW_ADDRESS_OFFSET`` above it, inside the
    lab's network and used by no server; FaultSkipped when there is none."""
    subnet = ipaddress.ip_network(network, strict=False)
    taken = {ipaddress.ip_address(s.address) for s in topology.servers}
    for step in range(NEW_ADDRESS_OFFSET, NEW_ADDRESS_OFFSET + 20):
        candidate = ipaddress.ip_address(old) + step
        if candidate in subnet and candidate not in taken and \
                candidate not in (subnet.network_address, subnet.broadcast_address):
            return str(candidate)
    raise FaultSkipped(f"no free address {NEW_ADDRESS_OFFSET} above {old} in {network}")


def _resolve(name: str, frm: str, to: str) -> str:
    """A shell line making every running lab container on a machine resolve ``name`` to
    ``to`` instead of ``frm`` (its ``/etc/hosts``, written in place: it is a bind mount;
    a container started again later gets compose's entry back)."""
    pattern = shlex.quote(f"s/^{re.escape(frm)}([[:space:]]+{re.escape(name)})$/{to}\\1/")
    return (f"for c in $(docker ps -q --filter {LABEL}); do "
            "h=$(docker inspect -f '{{.HostsPath}}' $c) && "
            f"sed -E {pattern} \"$h\" > \"$h.rhl\" && cat \"$h.rhl\" > \"$h\" && "
            "rm -f \"$h.rhl\"; done")
