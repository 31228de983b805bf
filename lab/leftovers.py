"""What faults leave on a machine, how to find it and how to remove it.

Everything a fault changes on a machine is tagged, so that one command finds it and one
removes it, whatever run (or crashed controller) left it:

* iptables rules live in the chains ``RHL-INPUT`` / ``RHL-OUTPUT``, jumped to from INPUT
  and OUTPUT with the comment ``redis-ha-lab``, so clearing them is one flush;
* containers are the compose project's, so paused or stopped ones are found by label;
  an adopted deployment's containers are written to ``TOUCHED`` before a fault touches
  them;
* a netem qdisc on any interface;
* settings a fault changed at run time (``CONFIG SET``, ``SENTINEL SET``), and a moved
  server's new address (its interface address, NAT rules, the containers' name
  entries): the command that puts each back is written to ``PENDING`` before
  the change, and removed when the fault is healed; what is left there is run by a heal.

A lifecycle module: ``status``, ``down`` and ``heal`` use it without importing chaos; the
faults (:mod:`lab.chaos.faults`) tag what they add with the names defined here.
"""

from __future__ import annotations

from lab.at_once import each_at_once
from lab.remote import Machine
from lab.render import COMPOSE_PROJECT

__all__ = ["CHAINS", "ENSURE_CHAINS", "LABEL", "PENDING", "TAG", "TOUCHED", "find",
           "heal_everything"]

TAG = "redis-ha-lab"
TOUCHED = "/var/lib/redis-ha-lab/touched-containers"
PENDING = "/var/lib/redis-ha-lab/pending-undo.sh"
CHAINS = {"INPUT": "RHL-INPUT", "OUTPUT": "RHL-OUTPUT"}
LABEL = f"label=com.docker.compose.project={COMPOSE_PROJECT}"

# Creates the tagged chains and their jumps, once (a fault's rules go into the chains).
ENSURE_CHAINS = " && ".join(
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
    f"docker ps -q --filter {LABEL} --filter status=paused | xargs -r docker unpause",
    f"docker ps -aq --filter {LABEL} --filter status=exited | xargs -r docker start",
    f"docker ps -aq --filter {LABEL} --filter status=created | xargs -r docker start",
    "for i in $(ls /sys/class/net); do tc qdisc show dev $i | grep -q netem && "
    "tc qdisc del dev $i root; done",
    f"if [ -f {PENDING} ]; then sh {PENDING}; rm -f {PENDING}; fi",
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
    return (f"{{ docker ps -aq --filter {LABEL} --filter status={status}; "
            f"[ -f {TOUCHED} ] && for c in $(cat {TOUCHED}); do "
            f"[ \"$(docker inspect -f '{{{{.State.Status}}}}' $c 2>/dev/null)\" = {status} ] "
            "&& echo $c; done; } | sort -u | wc -l")


COUNT_LEFTOVERS = " ; ".join([
    f"iptables -w -S 2>/dev/null | grep -c -- '{TAG}' || true",
    _count("paused"),
    _count("exited"),
    # "count kind" per fault kind with changes not yet put back (no kind: an older line).
    f"[ -f {PENDING} ] && sed -n 's/.* # fault \\(\\([a-z][a-z0-9-]*\\) \\)\\{{0,1\\}}"
    f"[0-9a-f]*\\.[0-9]*$/\\2/p' {PENDING} | sort | uniq -c",
    "true",
])


def _on_each(machines: list[Machine], command: str) -> list[str]:
    """``command``'s output on every machine, all at once (each has its own connection):
    a heal costs one round trip, not one per machine."""
    return each_at_once(lambda m: m.run(command, check=False), machines)


def heal_everything(machines: list[Machine]) -> None:
    _on_each(machines, HEAL_EVERYTHING)


def find(machines: list[Machine]) -> list[str]:
    """What faults left behind on each machine (empty when clean)."""
    found = []
    for machine, output in zip(machines, _on_each(machines, COUNT_LEFTOVERS), strict=True):
        lines = output.splitlines()
        rules, paused, stopped = (int(x) for x in ([*lines[:3], "0", "0", "0"])[:3])
        changes = [line.split(maxsplit=1) for line in lines[3:] if line.strip()]
        name = machine.server.name
        if rules:
            found.append(f"{name}: {rules} tagged iptables rule(s)")
        if paused:
            found.append(f"{name}: {paused} paused lab container(s)")
        if stopped:
            found.append(f"{name}: {stopped} stopped lab container(s)")
        for count, *kind in changes:
            by = f"fault {kind[0]}" if kind else "a fault"
            found.append(f"{name}: {count} change(s) {by} made, not yet put back")
    return found
