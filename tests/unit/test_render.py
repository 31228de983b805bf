"""Rendered bundles: what each server runs, and that rendering is deterministic."""

import re

import pytest
import yaml

from lab import config, render, topology

PASSWORD = "0123456789abcdef0123456789abcdef"
IMAGES = render.Images("redis-ha-lab/base:test", "redis-ha-lab/base:test")


def bundles(layout="article", **sections):
    cfg = config.from_dict({"lab": {"layout": layout}, **sections})
    return render.render(cfg, topology.build(cfg), PASSWORD, IMAGES)


def files(bundle):
    return {f.path: f.content for f in bundle.files}


@pytest.mark.parametrize("layout", ["article", "spread"])
def test_each_server_gets_a_full_stack(layout):
    for bundle in bundles(layout):
        paths = set(files(bundle))
        assert {"docker-compose.yml", "image/Dockerfile", "image/lab-entrypoint.sh",
                "conf/haproxy.cfg", "conf/redis-6379.conf", "conf/redis-6380.conf",
                "conf/redis-6381.conf"} <= paths
        sentinels = [p for p in paths if p.startswith("conf/sentinel-")]
        assert len(sentinels) == (3 if layout == "article" else 1)
        compose = files(bundle)["docker-compose.yml"]
        assert compose.count("network_mode: host") == 2  # the redis anchor + haproxy
        assert compose.count('restart: "always"') == 2
        assert len(re.findall(r"^  (redis|sentinel)-\d+:$", compose, re.M)) == 3 + len(sentinels)


def test_replicas_follow_their_master_and_authenticate():
    first = files(bundles()[0])
    assert "replicaof" not in first["conf/redis-6379.conf"]
    for port in (6380, 6381):
        conf = first[f"conf/redis-{port}.conf"]
        assert "replicaof 192.168.56.11 6379" in conf
        assert f"masterauth {PASSWORD}" in conf
        assert "replica-announce-ip 192.168.56.11" in conf
    spread = files(bundles("spread")[1])  # redis2 holds a replica of shard 1 on 6380
    assert "replicaof 192.168.56.11 6379" in spread["conf/redis-6380.conf"]
    assert "replicaof 192.168.56.13 6379" in spread["conf/redis-6381.conf"]


def test_sentinels_monitor_the_right_masters():
    article = files(bundles()[2])["conf/sentinel-26381.conf"]
    assert re.findall(r"sentinel monitor (\S+) (\S+) (\d+) (\d+)", article) == [
        ("shard3", "192.168.56.13", "6379", "2")]
    assert f"sentinel auth-pass shard3 {PASSWORD}" in article
    assert "sentinel down-after-milliseconds shard3 2000" in article
    spread = files(bundles("spread", sentinel={"down_after_ms": 1000})[0])
    monitors = re.findall(r"sentinel monitor (\S+) (\S+) (\d+)", spread["conf/sentinel-26379.conf"])
    assert monitors == [("shard1", "192.168.56.11", "6379"), ("shard2", "192.168.56.12", "6379"),
                        ("shard3", "192.168.56.13", "6379")]
    assert "down-after-milliseconds shard2 1000" in spread["conf/sentinel-26379.conf"]


def test_haproxy_finds_masters_and_replicas_by_role():
    cfgs = {files(b)["conf/haproxy.cfg"] for b in bundles()}
    assert len(cfgs) == 1, "every server must run the same haproxy.cfg"
    cfg = cfgs.pop()
    assert "on-marked-down shutdown-sessions" in cfg
    for shard, port in ((1, 5000), (2, 5002), (3, 5004)):
        master = cfg.split(f"listen shard{shard}_master")[1].split("listen ")[0]
        assert f"bind :{port}" in master
        assert "tcp-check expect string role:master" in master
        assert len(re.findall(r"^\s+server ", master, re.M)) == 3
        replicas = cfg.split(f"listen shard{shard}_replicas")[1].split("listen ")[0]
        assert f"bind :{port + 1}" in replicas
        assert "tcp-check expect string role:slave" in replicas
    assert f"AUTH\\ {PASSWORD}\\r\\n" in cfg


def test_settings_reach_the_configs():
    conf = files(bundles(redis={"persistence": "aof", "min_replicas_to_write": 1,
                                "restart": "unless-stopped"})[0])
    assert "appendonly yes" in conf["conf/redis-6379.conf"]
    assert "min-replicas-to-write 1" in conf["conf/redis-6379.conf"]
    assert 'restart: "unless-stopped"' in conf["docker-compose.yml"]
    assert 'save ""' in files(bundles()[0])["conf/redis-6379.conf"]


def test_digest_is_stable_and_tracks_changes():
    assert [b.digest for b in bundles()] == [b.digest for b in bundles()]
    changed = bundles(sentinel={"quorum": 3})
    assert all(a.digest != b.digest for a, b in zip(bundles(), changed, strict=True))


def test_the_password_stays_in_configs_only():
    for bundle in bundles():
        for f in bundle.files:
            if PASSWORD in f.content:
                assert f.path.startswith("conf/"), f"{f.path} leaks the password"


def test_a_config_change_relabels_exactly_the_services_it_touches():
    def labels(bundle):
        compose = files(bundle)["docker-compose.yml"]
        return dict(re.findall(r"^  ([\w-]+):\n(?:    .*\n)*?      redis-ha-lab\.config: "
                               r"\"(\w+)\"", compose, re.M))

    before = labels(bundles()[0])
    assert set(before) == {"redis-6379", "redis-6380", "redis-6381", "sentinel-26379",
                           "sentinel-26380", "sentinel-26381", "haproxy"}
    after = labels(bundles(haproxy={"check_interval_ms": 250})[0])
    assert {s for s in before if before[s] != after[s]} == {"haproxy"}
    after = labels(bundles(sentinel={"down_after_ms": 1000})[0])
    assert {s for s in before if before[s] != after[s]} == {
        "sentinel-26379", "sentinel-26380", "sentinel-26381"}


@pytest.mark.parametrize("policy", ["always", "unless-stopped", "on-failure", "no"])
def test_compose_file_is_valid_yaml_for_every_restart_policy(policy):
    """`restart: no` unquoted is YAML's false, which compose rejects."""
    compose = yaml.safe_load(files(bundles(redis={"restart": policy})[0])["docker-compose.yml"])
    services = compose["services"]
    assert len(services) == 7
    for name, service in services.items():
        assert service["restart"] == policy, name
        assert service["network_mode"] == "host", name


def test_with_hostnames_every_config_names_the_servers_and_the_machines_resolve_them():
    named = files(bundles("spread", machines={"hostnames": True})[1])
    assert "replicaof redis1 6379" in named["conf/redis-6380.conf"]
    # replicas still announce, and bind, their addresses: what Sentinel and settle compare
    assert "replica-announce-ip 192.168.56.12" in named["conf/redis-6380.conf"]
    sentinel = named["conf/sentinel-26379.conf"]
    assert "sentinel resolve-hostnames yes\n" in sentinel
    assert sentinel.index("resolve-hostnames") < sentinel.index("sentinel monitor")
    assert re.findall(r"sentinel monitor (\S+) (\S+) (\d+)", sentinel) == [
        ("shard1", "redis1", "6379"), ("shard2", "redis2", "6379"), ("shard3", "redis3", "6379")]
    assert "sentinel announce-hostnames" not in sentinel
    haproxy = named["conf/haproxy.cfg"]
    assert "server redis1_6379 redis1:6379 check" in haproxy
    assert "192.168.56.11:6379" not in haproxy
    compose = yaml.safe_load(named["docker-compose.yml"])
    for name, service in compose["services"].items():
        assert service["extra_hosts"] == ["redis1:192.168.56.11", "redis2:192.168.56.12",
                                          "redis3:192.168.56.13"], name
    plain = files(bundles("spread")[1])
    assert "resolve-hostnames" not in plain["conf/sentinel-26379.conf"]
    assert "extra_hosts" not in plain["docker-compose.yml"]
    with pytest.raises(config.ConfigError, match=r"\[machines\] hostnames is for a lab the lab "
                                                 "provisions"):
        config.from_dict({"machines": {"backend": "ssh", "mode": "adopt", "hostnames": True},
                          "adopt": {"password_env": "X"}})


def test_announcing_hostnames_replicas_and_sentinels_announce_names_and_haproxy_expects_them():
    named = files(bundles("spread", machines={"hostnames": True,
                                              "announce_hostnames": True})[1])
    assert "replica-announce-ip redis2\n" in named["conf/redis-6380.conf"]
    assert "bind 192.168.56.12 127.0.0.1" in named["conf/redis-6380.conf"]  # still binds
    sentinel = named["conf/sentinel-26379.conf"]
    assert "sentinel announce-ip redis2\n" in sentinel
    assert "sentinel announce-hostnames yes\n" in sentinel
    assert sentinel.index("announce-hostnames") < sentinel.index("sentinel monitor")
    # HAProxy's Sentinel checks expect the name Sentinel now answers with
    haproxy = named["conf/haproxy.cfg"]
    assert "string *2\\r\\n$6\\r\\nredis1\\r\\n$4\\r\\n6379\\r\\n" in haproxy
    assert "$13\\r\\n192.168.56.11" not in haproxy
    resolving = files(bundles("spread", machines={"hostnames": True})[1])
    assert "string *2\\r\\n$13\\r\\n192.168.56.11\\r\\n$4\\r\\n6379\\r\\n" in \
        resolving["conf/haproxy.cfg"]
    with pytest.raises(config.ConfigError, match=r"announce_hostnames = true .* set hostnames "
                                                 "= true too"):
        config.from_dict({"machines": {"announce_hostnames": True}})



def test_data_disks_mount_a_small_filesystem_on_each_redis_data_directory_only():
    assert not any(f.path == render.DATA_DISKS for b in bundles() for f in b.files)
    for bundle in bundles(redis={"data_disk_mb": 64}):
        script = next(f for f in bundle.files if f.path == render.DATA_DISKS)
        assert script.mode == 0o755
        assert "for dir in data/redis-6379 data/redis-6380 data/redis-6381; do" in \
            script.content
        assert 'mountpoint -q "$dir" || mount -t tmpfs -o size=64m,mode=0755 ' \
            'redis-ha-lab-data "$dir"' in script.content
        assert "sentinel" not in script.content.split("set -eu", 1)[1]
