"""[machines] hostnames and announce_hostnames on a real lab: CI's spread lab names its
servers in every config and announces the names. Its Sentinels resolve names, monitor the
masters by name and answer with names; its replicas follow a named master and announce
their server's name; and everything else in this package (routing, the Sentinel client,
the matrix's failovers, the security checks, adopting it) passes on it."""

from __future__ import annotations

import time

from lab import leftovers
from lab.chaos import faults
from lab.chaos.nemesis import Nemesis
from lab.probe import client, haproxy_view
from tests.labs import status_once_settled


def _ips(entries) -> set[str]:
    """The ``ip`` of each entry of a ``SENTINEL REPLICAS|SENTINELS`` answer (redis-py
    parses it into dicts, or leaves flat name/value lists)."""
    return {(e if isinstance(e, dict) else dict(zip(e[::2], e[1::2], strict=True)))["ip"]
            for e in entries}


def _config(r, name: str) -> str:
    answer = r.execute_command("SENTINEL", "CONFIG", "GET", name)
    return answer[name] if isinstance(answer, dict) else answer[1]


def test_the_spread_lab_names_its_servers_and_sentinel_answers_with_the_names(spread_lab):
    lab = spread_lab.lab
    assert lab.config.machines.announce_hostnames, "CI's spread lab is the named lab"
    names = {s.name for s in lab.topology.servers}
    for sentinel in lab.topology.sentinels:
        with client(*sentinel.address, lab.access.sentinels, timeout=3) as r:
            assert _config(r, "resolve-hostnames") == "yes", sentinel.label
            assert _config(r, "announce-hostnames") == "yes", sentinel.label
            for number in sentinel.shards:
                monitor = lab.topology.shard(number).monitor_name
                host, _ = r.sentinel_get_master_addr_by_name(monitor)
                assert host in names, (sentinel.label, host)
                # the replicas it learnt from the master's INFO, and the other Sentinels
                # from their hellos, by name too
                replicas = r.execute_command("SENTINEL", "REPLICAS", monitor)
                assert replicas and _ips(replicas) <= names, replicas
                others = r.execute_command("SENTINEL", "SENTINELS", monitor)
                assert others and _ips(others) <= names, others
    # replicas Sentinel has not reconfigured yet follow their master by name
    followed = set()
    for instance in lab.topology.instances:
        with client(*instance.address, lab.access, timeout=3) as r:
            followed.add(r.info("replication").get("master_host"))
    assert followed & names, followed


def test_a_server_at_a_new_address_is_followed_by_sentinel_and_not_by_haproxy(spread_lab):
    """The new-address fault (redis/redis#9103) on the named lab: the machines reach the
    master's server under its name at the new address, HAProxy (names resolved at start)
    loses it, and the heal leaves nothing behind."""
    lab = spread_lab.lab
    nemesis = Nemesis(lab.topology, lab.connect_all(), lab.access, lab.config.machines.network,
                      engine=lab.config.engine)
    machines = list(nemesis.machines.values())
    try:
        applied = faults.inject(nemesis, "new-address", shard=1)
        moved, new = applied.target["server"], applied.target["new"]
        other = next(s for s in lab.topology.servers if s.name != moved)
        try:
            # Another server's processes (its Sentinel, a replica) reconnect through the new
            # address: they resolved the name again (Redis 7.0+, redis/redis#10146).
            assert _within(20, lambda: nemesis.machines[other.name].run(
                f"ss -Htn state established dst {new}").strip()), \
                f"nothing on {other.name} connected to {moved} at {new}"
            # ... while its HAProxy, which resolved the name when it started, has every
            # server of the moved machine DOWN.
            assert _within(20, lambda: not any(
                server.startswith(f"{moved}_") for servers in haproxy_view(
                    other.name, other.address, lab.config.haproxy.stats_port).up.values()
                for server in servers)), f"{other.name}'s HAProxy still reaches {moved}"
        finally:
            nemesis.heal(applied)
        nemesis.heal_everything()
        assert leftovers.find(machines) == []
        for machine in machines:
            assert new not in machine.run(
                f"for c in $(docker ps -q --filter {leftovers.LABEL}); do "
                "cat $(docker inspect -f '{{.HostsPath}}' $c); done; ip -o addr"), machine
    finally:
        for machine in machines:
            machine.close()
    assert status_once_settled(spread_lab.config_path).returncode == 0


def _within(bound_s: float, check) -> bool:
    deadline = time.monotonic() + bound_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True
