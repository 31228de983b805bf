"""An adopted deployment's access check in words (lab/access_check.py), and the TLS files
a remote Locust worker is given (an adopted host has no lab bundle holding them); the
real check runs against CI's TLS + ACL lab in tests/e2e/test_adopt_security.py."""

from __future__ import annotations

from types import SimpleNamespace

import redis

from lab import access_check, config, topology
from lab.access import Access, Tls
from lab.load_workers import REMOTE, start
from tests.fakes import FakeMachine

LAB = SimpleNamespace(config=SimpleNamespace(adopt=SimpleNamespace(ca_file="/etc/lab/ca.crt")))


def test_each_failure_is_said_with_what_to_fix():
    verify = redis.ConnectionError("Error 1 connecting to 10.0.0.1:6379. [SSL: "
                                   "CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                   "unable to get local issuer certificate (_ssl.c:1006).")
    said = access_check._explain(verify, LAB)
    assert said == ("TLS: the server's certificate does not verify against [adopt] ca_file "
                    "/etc/lab/ca.crt (certificate verify failed: unable to get local issuer "
                    "certificate)")
    assert "wrong user name or password" in access_check._explain(
        redis.AuthenticationError("WRONGPASS invalid username-password pair"), LAB)
    assert access_check._explain(redis.exceptions.NoPermissionError("NOPERM no"), LAB) == \
        "ACL: NOPERM no"
    topo = topology.build(config.from_dict({}))
    instance = topo.instances[0]
    assert access_check._where(instance, "observer", "x") == \
        f"redis1 {instance.server.address}:{instance.port} as observer: x"


def test_what_the_lab_sends_as_each_role_is_asked_of_acl_dryrun():
    class Admin:
        def __init__(self, refuse):
            self.refuse, self.asked = refuse, []

        def execute_command(self, *args):
            self.asked.append(args)
            return "no permission to run 'info'" if args[3] == self.refuse else "OK"

    admin = Admin(refuse="INFO")
    said = access_check._refused(admin, "mon", access_check.NEEDS["observer"])
    assert said == "ACL refuses INFO replication: no permission to run 'info'"
    assert admin.asked[0] == ("ACL", "DRYRUN", "mon", "INFO", "replication")
    assert access_check._refused(Admin(refuse=None), "app", access_check.NEEDS["app"]) == ""


def test_a_remote_worker_gets_the_ca_and_client_certificate_it_is_told_of(tmp_path):
    for name in ("ca.crt", "client.crt", "client.key"):
        (tmp_path / name).write_text(name)
    topo = topology.build(config.from_dict({}))
    machine = FakeMachine(topo.servers[0])
    tls = Tls(tmp_path / "ca.crt", tmp_path / "client.crt", tmp_path / "client.key")
    start(machine, "10.0.0.9", Access("pw", tls, username="app"), ["--users", "1"])
    assert len(machine.uploads) == 4  # the password, then the three TLS files
    [command] = [c for c in machine.commands if "locust" in c]
    for name in ("LAB_TLS_CA", "LAB_TLS_CERT", "LAB_TLS_KEY"):
        assert f"{name}={REMOTE}/{name.lower()}.pem" in command
    assert "=pw" not in command and "'pw'" not in command  # read from a file there
    plain = FakeMachine(topo.servers[0])
    start(plain, "10.0.0.9", Access("pw"), [])
    assert len(plain.uploads) == 1 and "LAB_TLS_CA" not in plain.commands[-1]
