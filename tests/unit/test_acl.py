"""[security] acl: one ACL user per role, rendered into every config, its passwords kept
with the lab's secrets; the lab's own clients each connect as their role."""

from __future__ import annotations

import json

import pytest

from lab import acl, config, engines, render, topology
from lab.access import Access
from lab.context import Lab
from lab.errors import ConfigError
from lab.paths import LabPaths
from lab.secrets import load_or_create

IMAGES = render.Images("base", "haproxy")
PASSWORDS = {role: f"{role}-pw-0123456789" for role in acl.ROLES}


def bundle(raw: dict, passwords=PASSWORDS) -> dict[str, str]:
    cfg = config.from_dict(raw)
    [first, *_] = render.render(cfg, topology.build(cfg), "admin-pw", IMAGES, None, passwords)
    return {f.path: f.content for f in first.files}


def test_every_instance_has_each_role_s_user_and_replicas_authenticate_as_replication():
    files = bundle({"security": {"acl": True}})
    master, replica = files["conf/redis-6379.conf"], files["conf/redis-6380.conf"]
    for role in acl.ROLES.values():
        assert role.line(PASSWORDS[role.name]) in master
    assert "requirepass admin-pw" in master  # the default user: the lab's administrator
    assert "masteruser replication\n" in replica
    assert "masterauth replication-pw-0123456789" in replica
    assert "masterauth admin-pw" not in replica


def test_sentinel_and_haproxy_use_their_own_users():
    files = bundle({"security": {"acl": True}})
    sentinel = files["conf/sentinel-26379.conf"]
    assert "sentinel auth-user shard1 sentinel\n" in sentinel
    assert "sentinel auth-pass shard1 sentinel-pw-0123456789\n" in sentinel
    assert "admin-pw" not in sentinel
    haproxy = files["conf/haproxy.cfg"]
    assert "tcp-check send AUTH\\ check\\ check-pw-0123456789\\r\\n" in haproxy
    assert "admin-pw" not in haproxy


def test_without_acl_nothing_of_it_is_rendered():
    files = bundle({}, passwords=None)
    text = "".join(v for k, v in files.items() if k.startswith("conf/"))
    assert "\nuser " not in text and "masteruser" not in text and "auth-user" not in text


def test_the_rules_follow_the_engine():
    assert "+failover" in acl.roles(engines.get("valkey-9"))["sentinel"].rules
    assert "+failover" not in acl.roles(engines.get("redis-7.0"))["sentinel"].rules
    # Redis 7.0 has no CLIENT SETINFO (an ACL rule naming it would stop the server);
    # redis-py sends it on connect wherever it exists.
    assert "client|setinfo" not in acl.roles(engines.get("redis-7.0"))["app"].rules
    valkey = acl.roles(engines.get("valkey-8.1"))
    assert "+client|setinfo" in valkey["app"].rules and "+client|setinfo" in \
        valkey["observer"].rules and "client|setinfo" not in valkey["check"].rules
    for role in acl.ROLES.values():
        assert role.source and role.rules


def test_role_passwords_are_made_once_and_an_older_secrets_file_is_completed(tmp_path):
    paths = LabPaths(tmp_path / "home", tmp_path / "images")
    paths.ensure()
    paths.secrets.write_text(json.dumps({"redis_password": "kept"}))
    made = load_or_create(paths)
    assert made.redis_password == "kept"
    assert set(made.acl_passwords) == set(acl.ROLES)
    assert len(set(made.acl_passwords.values())) == len(acl.ROLES)
    assert load_or_create(paths).acl_passwords == made.acl_passwords
    assert made.redact(f"x {made.acl_passwords['app']} y") == "x <redacted> y"


def test_each_role_connects_as_its_user_with_acl_and_with_the_password_without(tmp_path,
                                                                                monkeypatch):
    monkeypatch.setenv("REDIS_HA_LAB_HOME", str(tmp_path))
    for raw, user in (({"security": {"acl": True}}, "app"), ({}, None)):
        path = tmp_path / "lab.toml"
        path.write_text("[security]\nacl = true\n" if raw else "")
        lab = Lab.load(path)
        app = lab.access_as("app")
        assert app.username == user
        assert app.password == (lab.secrets.acl_passwords["app"] if user
                                else lab.secrets.redis_password)
        assert lab.access.username is None  # the lab's own administration
    assert Access("pw", username="app").redis_kwargs() == {"password": "pw", "username": "app"}
    assert "pw" not in repr(Access("pw", username="app"))


def test_adopting_with_acl_is_refused_for_now():
    with pytest.raises(ConfigError, match=r"\[security\] acl = true with mode = \"adopt\""):
        config.from_dict({"machines": {"backend": "ssh", "mode": "adopt"},
                          "adopt": {"password_env": "X"}, "security": {"acl": True}})
