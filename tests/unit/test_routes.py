"""Routes and acknowledgement modes: parsing, what a lab offers, the hardened HAProxy's
config, and the one-line refusals."""

import re

import pytest

from lab import config, render, routes, topology
from lab.cli import main
from lab.clients import NamedSentinel, RouteMap
from lab.routes import Ack, RouteError

CFG = config.from_dict({})
TOPO = topology.build(CFG)


@pytest.mark.parametrize(("text", "ack"), [("plain", Ack()), ("wait:1", Ack(1, 200)),
                                           ("wait:2:50", Ack(2, 50))])
def test_ack_modes_parse_and_name_themselves(text, ack):
    assert routes.parse_ack(text) == ack
    assert routes.parse_ack(ack.name) == ack


@pytest.mark.parametrize(("text", "says"), [
    ("wait:x", "use plain, wait:N or wait:N:MS"), ("wait", "use plain, wait:N"),
    ("wait:0", "N (replicas to wait for) must be 1..5"), ("wait:1:900", "MS must be 1..400"),
])
def test_a_bad_ack_mode_is_refused_with_the_fix(text, says):
    with pytest.raises(RouteError, match=re.escape(says)):
        routes.parse_ack(text)


def test_a_lab_offers_the_routes_it_has():
    assert CFG.clients_for().label == "haproxy"
    assert CFG.clients_for("sentinel-client", "wait:1").label == "sentinel-client, wait:1"
    with pytest.raises(RouteError, match="unknown route; known: haproxy, haproxy-sentinel"):
        CFG.clients_for("envoy")
    with pytest.raises(RouteError, match="only 2 replica"):
        CFG.clients_for(ack="wait:3")
    # An adopted deployment has no Sentinel-checked HAProxy unless lab.toml says where.
    adopted = {"machines": {"backend": "ssh", "mode": "adopt", "network": "10.0.0.0/24"},
               "adopt": {"password_env": "REDIS_PASSWORD"},
               "servers": [{"name": f"r{i}", "address": f"10.0.0.{i}", "ssh_host": "x"}
                           for i in (1, 2, 3)]}
    with pytest.raises(RouteError, match="no Sentinel-checked HAProxy"):
        config.from_dict(adopted).clients_for("haproxy-sentinel")
    told = config.from_dict({**adopted, "haproxy": {"checked_first_port": 6100}})
    assert told.clients_for("haproxy-sentinel").route == "haproxy-sentinel"


def test_lab_toml_chooses_the_default_route_and_refuses_a_bad_one():
    chosen = config.from_dict({"clients": {"route": "sentinel-client", "ack": "wait:1"}})
    assert chosen.clients_for().label == "sentinel-client, wait:1"
    with pytest.raises(config.ConfigError, match=r"\[clients\] route = 'x' is not allowed"):
        config.from_dict({"clients": {"route": "x"}})
    with pytest.raises(config.ConfigError, match=r"\[clients\] ack = 'wait:x'"):
        config.from_dict({"clients": {"ack": "wait:x"}})
    with pytest.raises(config.ConfigError, match="ports overlap"):
        config.from_dict({"haproxy": {"checked_first_port": 5004}})


def test_each_route_uses_its_own_ports_and_survives_json():
    for name in routes.ROUTES:
        m = RouteMap.of(TOPO, name)
        assert RouteMap.from_json(m.to_json()) == m
    shard = RouteMap.of(TOPO, "haproxy").shard(2)
    assert (shard.port("haproxy", "master"), shard.port("haproxy-sentinel", "master"),
            shard.port("sentinel-client", "master")) == (5002, 5101, None)
    assert shard.port("haproxy-sentinel", "replicas") == 5003
    assert RouteMap.of(TOPO, "sentinel-client").entry(4) is None


def test_the_hardened_haproxy_needs_a_majority_of_sentinels_per_instance():
    cfg_text = next(f.content for f in render.render(CFG, TOPO, "pw", render.Images("r", "h"))[0]
                    .files if f.path == "conf/haproxy.cfg")
    listen = cfg_text.split("listen shard1_master_checked\n")[1].split("\n\n")[0]
    assert "bind :5100" in listen and "balance first" in listen
    # 3 instances x the 3 pairs of the shard's 3 Sentinels, each tracking its check backend.
    servers = [line.split() for line in listen.splitlines() if line.strip().startswith("server")]
    assert len(servers) == 9
    assert servers[0][1:] == ["redis1_6379_by_1_2", "192.168.56.11:6379", "track",
                              "shard1_redis1_6379_by_1_2/redis1_6379"]
    check = cfg_text.split("backend shard1_redis1_6380_by_1_3\n")[1].split("\n\n")[0]
    assert "tcp-check expect string role:master" in check
    asks = [line for line in check.splitlines() if "connect addr" in line]
    assert asks == ["    tcp-check connect addr 192.168.56.11 port 26379",
                    "    tcp-check connect addr 192.168.56.11 port 26381"]
    answer = r"*2\r\n$13\r\n192.168.56.11\r\n$4\r\n6380\r\n"  # the instance's own address
    assert check.count(f"tcp-check expect min-recv 0 string {answer}") == 2
    # No checked ports: no hardened HAProxy at all.
    none = config.from_dict({"haproxy": {"checked_first_port": 0}})
    text = render.render(none, topology.build(none), "pw", render.Images("r", "h"))[0].files
    assert "_checked" not in next(f.content for f in text if f.path == "conf/haproxy.cfg")


@pytest.mark.parametrize(("argv", "says"), [
    (["chaos", "--route", "envoy"], "--route 'envoy': unknown route"),
    (["chaos", "--ack", "wait:x"], "--ack 'wait:x': use plain"),
    (["load", "--route", "nope"], "--route 'nope': unknown route"),
    (["matrix", "--routes", "haproxy,nope"], "--routes: unknown route 'nope'"),
    (["matrix", "--acks", "plain,wait:x"], "--acks 'wait:x': use plain"),
])
def test_bad_routes_and_ack_modes_are_one_line_and_exit_2(argv, says, capsys, tmp_path,
                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REDIS_HA_LAB_HOME", str(tmp_path))
    (tmp_path / "lab.toml").write_text("")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and "\n" not in err


def test_the_sentinel_client_reads_a_servers_name_as_its_address():
    sentinel = NamedSentinel([("192.0.2.1", 26379)], {"redis1": "192.168.56.11"})
    sentinel.sentinels[0].sentinel_masters = lambda: {
        "shard1": {"ip": "redis1", "port": 6379, "is_master": True, "is_sdown": False,
                   "is_odown": False, "num-other-sentinels": 2}}
    assert sentinel.discover_master("shard1") == ("192.168.56.11", 6379)
    assert sentinel.filter_slaves([{"ip": "redis1", "port": 6380, "is_odown": False,
                                    "is_sdown": False},
                                   {"ip": "10.0.0.9", "port": 6381, "is_odown": False,
                                    "is_sdown": False}]) == [("192.168.56.11", 6380),
                                                             ("10.0.0.9", 6381)]


def test_a_workload_is_chosen_in_clients_or_on_the_command_line_and_refused_when_unknown(
        tmp_path, capsys):
    cfg = config.from_dict({"clients": {"workload": "list-append"}})
    assert cfg.clients_for().workload == "list-append"
    assert cfg.clients_for(workload="both").workload == "both"
    assert cfg.clients_for().label == "haproxy, list-append"
    assert CFG.clients_for().label == "haproxy" and CFG.clients_for().workload == "register"
    with pytest.raises(config.ConfigError, match=r"\[clients\] workload = 'lists' is not a "
                                                 "workload; choose one of register, "
                                                 "list-append, both"):
        config.from_dict({"clients": {"workload": "lists"}})
    (tmp_path / "lab.toml").write_text('[lab]\nname = "x"\n')
    assert main(["--config", str(tmp_path / "lab.toml"), "chaos", "--workload", "lists",
                 "--plan"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["redis-ha-lab: error: --workload 'lists' is not a workload; choose one of "
                   "register, list-append, both"], err
