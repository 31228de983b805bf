"""Layouts place every instance and Sentinel; both layouts give the same shape."""

from collections import Counter

import pytest

from lab import config, topology


def build(layout, **redis):
    return topology.build(config.from_dict({"lab": {"layout": layout}, "redis": redis}))


@pytest.mark.parametrize("layout", ["article", "spread"])
def test_every_server_uses_each_redis_port_once(layout):
    topo = build(layout)
    for server in topo.servers:
        ports = [i.port for i in topo.instances_on(server)]
        assert sorted(ports) == [6379, 6380, 6381]
    assert len(topo.instances) == 9
    for shard in topo.shards:
        assert shard.initial_master.port == 6379
        assert shard.initial_master.server == topo.servers[shard.number - 1]
        assert [i.initial_role for i in shard.instances].count("master") == 1


def test_article_layout_keeps_a_shard_on_one_server():
    topo = build("article")
    for shard in topo.shards:
        assert {i.server for i in shard.instances} == {topo.servers[shard.number - 1]}
        sentinels = topo.sentinels_of(shard)
        assert [s.port for s in sentinels] == [26379, 26380, 26381]
        assert {s.server for s in sentinels} == {topo.servers[shard.number - 1]}
    assert len(topo.sentinels) == 9


def test_spread_layout_puts_each_replica_on_another_server():
    topo = build("spread")
    for shard in topo.shards:
        servers = [i.server for i in shard.instances]
        assert len(set(servers)) == 3, f"shard {shard.number} shares a server"
        assert [s.port for s in topo.sentinels_of(shard)] == [26379] * 3
    assert len(topo.sentinels) == 3
    assert all(s.shards == (1, 2, 3) for s in topo.sentinels)


def test_haproxy_ports_follow_the_article():
    topo = build("article")
    assert [(s.master_port, s.replica_port) for s in topo.shards] == [
        (5000, 5001), (5002, 5003), (5004, 5005)]
    assert [s.monitor_name for s in topo.shards] == ["shard1", "shard2", "shard3"]


def test_more_servers_and_one_replica():
    servers = [{"name": f"r{i}", "address": f"192.168.56.{10 + i}"} for i in range(1, 6)]
    topo = topology.build(config.from_dict(
        {"lab": {"layout": "spread"}, "servers": servers, "redis": {"replicas_per_shard": 1}}))
    assert len(topo.shards) == 5
    per_server = Counter(i.server.name for i in topo.instances)
    assert set(per_server.values()) == {2}


@pytest.mark.parametrize("layout, sentinels", [("article", 9), ("spread", 3)])
def test_as_dict_holds_what_a_report_draws(layout, sentinels):
    data = build(layout).as_dict()
    assert [s["number"] for s in data["shards"]] == [1, 2, 3]
    assert sum(len(s["instances"]) for s in data["shards"]) == 9
    assert [i["initial_role"] for s in data["shards"] for i in s["instances"]].count(
        "master") == 3
    assert len(data["sentinels"]) == sentinels and data["layout"] == layout
