"""[machines] hostnames on a real lab: CI's spread lab names its servers in every config.
Its Sentinels run with resolve-hostnames and monitor the masters by name, its replicas
follow a named master, and everything else in this package (routing, the matrix's
failovers, the security checks, adopting it) passes on it."""

from __future__ import annotations

from lab.probe import client


def test_the_spread_lab_names_its_servers_and_sentinel_resolves_them(spread_lab):
    lab = spread_lab.lab
    assert lab.config.machines.hostnames, "CI's spread lab is the named lab"
    for sentinel in lab.topology.sentinels:
        with client(*sentinel.address, lab.access.sentinels, timeout=3) as r:
            assert r.execute_command("SENTINEL", "CONFIG", "GET", "resolve-hostnames") in (
                ["resolve-hostnames", "yes"], {"resolve-hostnames": "yes"}), sentinel.label
            # it still answers with addresses (announce-hostnames no): what clients and
            # the lab compare
            for number in sentinel.shards:
                host, _ = r.sentinel_get_master_addr_by_name(
                    lab.topology.shard(number).monitor_name)
                assert host in {s.address for s in lab.topology.servers}, host
    # the replicas Sentinel has not reconfigured yet follow their master by name
    names = {s.name for s in lab.topology.servers}
    followed = set()
    for instance in lab.topology.instances:
        with client(*instance.address, lab.access, timeout=3) as r:
            followed.add(r.info("replication").get("master_host"))
    assert followed & names, followed
