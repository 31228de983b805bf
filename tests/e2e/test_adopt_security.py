"""Adopting a TLS + ACL deployment: CI's spread lab (Valkey 8.1, TLS, ACL users) taken
over by a second lab in adopt mode, which knows it only as SSH hosts, the CA file and a
users file naming a user and a password file per role. Its up, status, chaos and load
work as those users; a CA that did not sign the servers' certificates and a user missing
a permission are each one line naming the host, the port and what failed (exit 2)."""

from __future__ import annotations

import csv

import pytest
import trustme

from lab import certificates
from lab.chaos import history
from lab.probe import client
from tests.labs import SPREAD_ENGINE, SPREAD_SUBNET, recorded, run_lab, write_config

ADOPTED = "rhl-adopt-tls"


def adopt_toml(spread, directory, *, ca=None, users=None, name=ADOPTED):
    """A lab.toml adopting the spread lab as an SSH inventory, its secrets in files."""
    lab = spread.lab
    files = {"admin.pw": lab.secrets.redis_password,
             "app.pw": lab.secrets.acl_passwords["app"],
             "observer.pw": lab.secrets.acl_passwords["observer"]}
    for file_name, text in files.items():
        (directory / file_name).write_text(text + "\n")
        (directory / file_name).chmod(0o600)
    users_file = directory / "users.toml"
    users_file.write_text(users or
                          f'[app]\nuser = "app"\npassword_file = "{directory}/app.pw"\n'
                          f'[observer]\nuser = "observer"\n'
                          f'password_file = "{directory}/observer.pw"\n')
    return write_config(
        directory, name=name, subnet=SPREAD_SUBNET, layout="spread",
        machines='backend = "ssh"\nmode = "adopt"\n',
        extra=f'[ssh]\nuser = "vagrant"\nkey = "{lab.secrets.ssh_private_key}"\nsudo = true\n'
              f'[images]\nengine = "{SPREAD_ENGINE}"\n'
              f'[adopt]\npassword_file = "{directory}/admin.pw"\n'
              f'ca_file = "{ca or certificates.ca_file(lab.paths)}"\n'
              f'users_file = "{users_file}"\n'
              '[security]\ntls = true\nacl = true\n')


@pytest.fixture(scope="module")
def adopted(spread_lab, tmp_path_factory):
    config = adopt_toml(spread_lab, tmp_path_factory.mktemp("adopt-tls"))
    up = run_lab("up", config=config)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "nothing installed" in up.stdout
        yield config
    finally:
        down = run_lab("down", config=config)  # heals leftovers, removes nothing
        assert down.returncode == 0, down.stderr
        with client(*spread_lab.lab.topology.instances[0].address, spread_lab.access,
                    timeout=3) as r:
            assert r.ping(), "the adopted lab's down left the deployment running"


def test_status_chaos_and_load_work_as_the_roles_users(adopted, spread_lab):
    status = run_lab("status", config=adopted)
    assert status.returncode == 0, status.stdout + status.stderr
    chaos = recorded("chaos", "-k", "crash-master", "--no-hypothesis",
                     "--i-accept-disruption", config=adopted)
    assert chaos.returncode == 0, chaos.stdout + chaos.process.stderr
    [result] = chaos.results["scenarios"]
    assert result["status"] in ("pass", "finding"), result
    events = history.read(chaos.run_dir / result["history"])
    meta = next(e for e in events if e["type"] == "meta")
    assert meta["users"] == {"observers": "observer", "workload": "app"}
    assert sum(1 for e in events if e["type"] == "op" and e["outcome"] == "ok") > 100
    load = recorded("load", "--users", "4", "--spawn-rate", "4", "--run-time", "5s",
                    config=adopted)
    assert load.returncode == 0, load.stdout + load.process.stderr
    with (load.run_dir / "locust_stats.csv").open() as f:
        total = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    assert int(total["Request Count"]) > 0 and int(total["Failure Count"]) == 0, total
    secrets = [spread_lab.password, *spread_lab.lab.secrets.acl_passwords.values()]
    for run in (chaos.run_dir, load.run_dir):
        for f in run.rglob("*"):
            if f.is_file():
                text = f.read_text(errors="replace")
                assert not any(s in text for s in secrets), f"{f} holds a password"


def refused_up(config) -> str:
    """``up`` of ``config``, which must stop at the access check: its one error line (the
    partial lab is removed again: ``down``)."""
    try:
        result = run_lab("up", config=config)
        assert result.returncode == 2, result.stdout + result.stderr
        [line] = [x for x in result.stderr.splitlines() if x.strip()]
        return line
    finally:
        assert run_lab("down", config=config).returncode == 0


def test_a_ca_that_did_not_sign_the_servers_is_one_line_naming_host_and_port(
        adopted, spread_lab, tmp_path):
    stranger = tmp_path / "stranger-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    config = adopt_toml(spread_lab, tmp_path, ca=stranger, name="rhl-adopt-stranger")
    line = refused_up(config)
    first = spread_lab.lab.topology.instances[0]
    assert f"{first.server.address}:{first.port}" in line and "TLS" in line, line
    assert str(stranger) in line, line


def test_a_user_missing_a_permission_is_one_line_naming_it(adopted, spread_lab, tmp_path):
    lab = spread_lab.lab
    instances = lab.topology.instances
    for instance in instances:  # ACL users are per instance: one on each
        with client(*instance.address, spread_lab.access, timeout=3) as r:
            r.acl_setuser("lab-narrow", enabled=True, passwords=["+narrow-pw-0123456789"],
                          commands=["+ping"])
    try:
        (tmp_path / "narrow.pw").write_text("narrow-pw-0123456789\n")
        users = (f'[observer]\nuser = "lab-narrow"\npassword_file = "{tmp_path}/narrow.pw"\n')
        config = adopt_toml(spread_lab, tmp_path, users=users, name="rhl-adopt-narrow")
        line = refused_up(config)
        first = instances[0]
        assert f"{first.server.address}:{first.port} as lab-narrow" in line, line
        assert "ACL refuses INFO replication" in line, line
    finally:
        for instance in instances:
            with client(*instance.address, spread_lab.access, timeout=3) as r:
                r.acl_deluser("lab-narrow")
