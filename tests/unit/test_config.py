"""lab.toml validation: defaults, and one clear error per kind of bad input."""

import pytest

from lab import config
from lab.config import LabConfig
from lab.errors import ConfigError
from lab.paths import PROJECT_ROOT


def test_shipped_lab_toml_is_the_article_layout_with_defaults():
    cfg = config.load(PROJECT_ROOT / "lab.toml")
    assert cfg.layout == "article"
    assert [s.address for s in cfg.servers] == ["192.168.56.11", "192.168.56.12",
                                                 "192.168.56.13"]
    assert [s.name for s in cfg.servers] == ["redis1", "redis2", "redis3"]
    # The shipped file states every default: it must equal an empty one.
    assert cfg == config.from_dict({}, source="lab.toml")


def test_empty_file_gives_defaults():
    cfg = config.from_dict({})
    assert isinstance(cfg, LabConfig)
    assert cfg.sentinel.quorum == 2
    assert cfg.sentinels_per_shard == 3
    assert config.from_dict({"lab": {"layout": "spread"}}).sentinels_per_shard == 3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"lab": {"layout": "ring"}}, "[lab] layout = 'ring' is not allowed; choose one of: "
                                      "article, spread"),
        ({"redis": {"persistence": "disk"}}, "[redis] persistence = 'disk' is not allowed"),
        ({"redis": {"persistance": "rdb"}}, "[redis] unknown key 'persistance'"),
        ({"sentinel": {"quorum": "2"}}, "[sentinel] quorum = '2': must be an integer"),
        ({"sentinel": {"quorum": True}}, "[sentinel] quorum = True: must be an integer"),
        ({"sentinel": {"quorum": 5}}, "[sentinel] quorum = 5 is out of range: must be 1..3"),
        ({"sentinel": {"down_after_ms": 10}}, "[sentinel] down_after_ms = 10 is out of range"),
        ({"machines": {"provider": "qemu"}}, "[machines] provider = 'qemu' is not allowed"),
        ({"images": {"source": "ftp"}}, "[images] source = 'ftp' is not allowed"),
        ({"clusters": {}}, "unknown section [clusters]"),
        ({"redis": 3}, "[redis] must be a table"),
        ({"machines": {"network": "10.0.0/8"}}, "network = '10.0.0/8' is not a network"),
        ({"lab": {"name": "My Lab"}}, "[lab] name = 'My Lab'"),
    ],
)
def test_bad_values_name_the_field_and_the_allowed_values(raw, expected):
    with pytest.raises(ConfigError) as err:
        config.from_dict(raw)
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def _servers(*addresses):
    return [{"name": f"s{i}", "address": a} for i, a in enumerate(addresses, start=1)]


@pytest.mark.parametrize(
    ("servers", "expected"),
    [
        (_servers("192.168.56.11", "192.168.56.12"), "lists 2 servers; the lab needs at least 3"),
        (_servers("192.168.56.11", "192.168.56.12", "10.0.0.1"), "is not a host address of"),
        (_servers("192.168.56.11", "192.168.56.12", "192.168.56.1"), "gateway"),
        (_servers("192.168.56.11", "192.168.56.12", "192.168.56.12"), "is listed twice"),
        (_servers("192.168.56.11", "192.168.56.12", "not-an-ip"), "is not an IP"),
        ([{"name": "a", "address": "192.168.56.11", "port": 1}], "must have 'name' and 'address'"),
    ],
)
def test_bad_servers(servers, expected):
    with pytest.raises(ConfigError, match=expected):
        config.from_dict({"servers": servers})


def test_rules_spanning_fields():
    with pytest.raises(ConfigError, match="replicas_per_shard = 3 needs more than 3 servers"):
        config.from_dict({"lab": {"layout": "spread"}, "redis": {"replicas_per_shard": 3}})
    with pytest.raises(ConfigError, match="min_replicas_to_write = 3 is out of range: must be 0"):
        config.from_dict({"redis": {"min_replicas_to_write": 3}})
    with pytest.raises(ConfigError, match="ports overlap on one server: 6380"):
        config.from_dict({"sentinel": {"port": 6380}})
    with pytest.raises(ConfigError, match="quorum = 3 is out of range: must be 1..2"):
        config.from_dict({"sentinel": {"per_server": 2, "quorum": 3}})


def test_machine_image_and_release():
    bare = config.from_dict({"machines": {"image": "bare"}, "images": {"suite": "trixie"}})
    assert (bare.machines.image, bare.images.suite) == ("bare", "trixie")
    with pytest.raises(ConfigError, match=r"^lab.toml: \[machines\] image = \"bare\" is for the "
                                          "docker provider's machines"):
        config.from_dict({"machines": {"image": "bare", "provider": "libvirt"}})
    with pytest.raises(ConfigError, match=r"\[machines\] image = 'slim'.*with-engine, bare"):
        config.from_dict({"machines": {"image": "slim"}})
    with pytest.raises(ConfigError, match=r"^lab.toml: \[images\] suite = 'sid': the machines' "
                                          r"Debian release must be one of bookworm \(Debian 12\), "
                                          r"trixie \(Debian 13\)"):
        config.from_dict({"images": {"suite": "sid"}})


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        config.load(tmp_path / "missing.toml")
    broken = tmp_path / "lab.toml"
    broken.write_text("[lab\nname = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(broken)


def test_ssh_backend_reads_the_inventory():
    servers = _servers("10.1.0.11", "10.1.0.12", "10.1.0.1")
    servers[0]["ssh_host"] = "bastion-side.example"
    cfg = config.from_dict({"machines": {"backend": "ssh", "network": "10.1.0.0/24"},
                            "ssh": {"user": "deploy", "key": "~/.ssh/id_ed25519",
                                    "jump": "ops@bastion:2222"},
                            "servers": servers})
    assert cfg.machines.backend == "ssh" and cfg.ssh.user == "deploy" and cfg.ssh.sudo
    assert cfg.servers[0].ssh_host == "bastion-side.example"
    assert cfg.servers[2].address == "10.1.0.1"  # a gateway address is a Vagrant rule only


@pytest.mark.parametrize(("raw", "expected"), [
    ({"ssh": {"port": 0}}, "[ssh] port = 0 is out of range"),
    ({"ssh": {"sudo": "yes"}}, "[ssh] sudo = 'yes': must be true or false"),
    ({"ssh": {"password": "x"}}, "[ssh] unknown key 'password'"),
    ({"servers": [{"name": "a", "address": "192.168.56.11", "ssh_host": "h"}]},
     "must have 'name' and 'address'"),  # ssh_host belongs to the ssh backend
])
def test_bad_ssh_settings(raw, expected):
    with pytest.raises(ConfigError) as err:
        config.from_dict(raw)
    assert expected in str(err.value)


ADOPT = {"machines": {"backend": "ssh", "mode": "adopt"},
         "adopt": {"password_env": "STAGING_REDIS_PASSWORD"}}


def test_adopt_mode_names_monitors_and_a_password_source(monkeypatch):
    from lab import topology
    from lab.secrets import adopted_password

    raw = {**ADOPT, "adopt": {**ADOPT["adopt"], "monitor_names": "a, b ,c"}}
    cfg = config.from_dict(raw)
    assert cfg.adopted
    assert [s.monitor_name for s in topology.build(cfg).shards] == ["a", "b", "c"]
    monkeypatch.setenv("STAGING_REDIS_PASSWORD", "s3cret")
    assert adopted_password(cfg) == "s3cret"
    monkeypatch.delenv("STAGING_REDIS_PASSWORD")
    with pytest.raises(ConfigError, match="that environment variable is not set"):
        adopted_password(cfg)


@pytest.mark.parametrize(("raw", "expected"), [
    ({"machines": {"mode": "adopt"}}, 'mode = "adopt" needs backend = "ssh"'),
    ({**ADOPT, "adopt": {}}, "set exactly one of password_env or password_file"),
    ({**ADOPT, "adopt": {"password_env": "X", "password_file": "/f"}}, "exactly one of"),
    ({**ADOPT, "adopt": {"password_env": "X", "monitor_names": "a,b"}},
     "monitor_names lists 2 distinct names; give one per shard (3)"),
    ({"machines": {"mode": "borrow"}}, "choose one of: provision, adopt"),
])
def test_bad_adopt_settings(raw, expected):
    with pytest.raises(ConfigError) as err:
        config.from_dict(raw)
    assert expected in str(err.value)
