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


ADOPT = {"machines": {"backend": "ssh", "mode": "adopt"}, "adopt": {"password_env": "X"}}


def adopt(tmp_path, security: dict, **adopt_keys) -> dict:
    return {**ADOPT, "security": security, "adopt": {**ADOPT["adopt"], **adopt_keys}}


def test_adopting_with_tls_and_acl_names_each_file_and_each_role(tmp_path, monkeypatch):
    ca = tmp_path / "ca.crt"
    ca.write_text("a CA")
    users = tmp_path / "users.toml"
    (tmp_path / "app.pw").write_text("app-secret\n")
    users.write_text('[app]\nuser = "orders"\npassword_file = "%s"\n'
                     '[observer]\nuser = "monitoring"\npassword_env = "MON_PW"\n'
                     % (tmp_path / "app.pw"))
    path = tmp_path / "lab.toml"
    path.write_text('[machines]\nbackend = "ssh"\nmode = "adopt"\n'
                    '[adopt]\npassword_env = "ADMIN_PW"\n'
                    f'ca_file = "{ca}"\nusers_file = "{users}"\n'
                    '[security]\ntls = true\nacl = true\n')
    monkeypatch.setenv("REDIS_HA_LAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ADMIN_PW", "admin-secret")
    monkeypatch.setenv("MON_PW", "mon-secret")
    lab = Lab.load(path)
    app, observer = lab.access_as("app"), lab.access_as("observer")
    assert (app.username, app.password) == ("orders", "app-secret")
    assert (observer.username, observer.password) == ("monitoring", "mon-secret")
    assert lab.access.username is None and lab.access.password == "admin-secret"
    assert app.tls.ca_file == ca and lab.access.tls.ca_file == ca
    assert lab.secrets.redact("app-secret mon-secret") == "<redacted> <redacted>"
    # a role the file leaves out connects as the administrator
    users.write_text('[app]\nuser = "orders"\npassword_env = "MON_PW"\n')
    assert Lab.load(path).access_as("observer").username is None
    monkeypatch.delenv("MON_PW")
    with pytest.raises(ConfigError, match=r"users_file \[app\] password_env = 'MON_PW': that "
                                          "environment variable is not set"):
        Lab.load(path)


@pytest.mark.parametrize(("security", "keys", "files", "expected"), [
    ({"tls": True}, {}, {}, r"set \[adopt\] ca_file to the CA"),
    ({"tls": True}, {"ca_file": "{dir}/missing.crt"}, {},
     r"\[adopt\] ca_file = '.*missing.crt': no such file"),
    ({"tls": True}, {"ca_file": "{dir}/ca", "client_cert_file": "{dir}/ca"}, {"ca": ""},
     "client_cert_file and client_key_file go together"),
    ({}, {"ca_file": "{dir}/ca"}, {"ca": ""}, r"ca_file is for a TLS deployment"),
    ({"acl": True}, {}, {}, r"set \[adopt\] users_file"),
    ({}, {"users_file": "{dir}/u.toml"}, {"u.toml": ""}, "users_file is for a deployment"),
    ({"acl": True}, {"users_file": "{dir}/u.toml"},
     {"u.toml": '[admin]\nuser = "root"\npassword_env = "X"\n'},
     r"unknown role 'admin'; the lab connects as app and observer"),
    ({"acl": True}, {"users_file": "{dir}/u.toml"}, {"u.toml": '[app]\nuser = "a"\n'},
     r"\[app\] needs user and exactly one of password_env or password_file"),
    ({"acl": True}, {"users_file": "{dir}/nope.toml"}, {}, r"cannot read it"),
])
def test_bad_adopted_security_is_one_line_naming_the_fix(tmp_path, security, keys, files,
                                                         expected):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    keys = {k: v.format(dir=tmp_path) for k, v in keys.items()}
    with pytest.raises(ConfigError, match=expected) as caught:
        config.from_dict(adopt(tmp_path, security, **keys))
    assert "\n" not in str(caught.value)
