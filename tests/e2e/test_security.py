"""[security] on a real lab (CI's spread lab runs with TLS and ACL users): plaintext is
refused on every kind of port, a client that does not trust the lab CA is refused, each
ACL role is refused what it does not need and can do what it does, and the failovers of
the package's matrix (tests/e2e/conftest.py) reached their documented verdicts over TLS
without an ACL refusal or a secret in their artefacts."""

from __future__ import annotations

import json
import ssl

import pytest
import redis
import trustme

from lab.access import Access, Tls
from lab.chaos import history
from lab.paths import REPORTS
from lab.probe import client
from tests.labs import recorded


def ports(lab) -> list[tuple[tuple[str, int], Access]]:
    """One of each kind on the first server, with how the lab reaches it: an instance, a
    Sentinel, HAProxy's master, replica and Sentinel-checked ports."""
    topo, access = lab.lab.topology, lab.access
    server = topo.servers[0]
    shard = topo.shards[0]
    return [(topo.instances_on(server)[0].address, access),
            (topo.sentinels_on(server)[0].address, access.sentinels),
            ((server.address, shard.master_port), access),
            ((server.address, shard.replica_port), access),
            ((server.address, shard.checked_port), access)]


def test_the_spread_lab_speaks_only_tls(spread_lab):
    assert spread_lab.lab.config.security.tls, "CI's spread lab is the TLS lab"
    for (host, port), access in ports(spread_lab):
        with client(host, port, access, timeout=3) as r:
            assert r.ping(), (host, port)
        with pytest.raises(redis.ConnectionError), \
                client(host, port, Access(spread_lab.password), timeout=3) as plain:
            plain.ping()


def test_a_client_that_does_not_trust_the_lab_ca_is_refused(spread_lab, tmp_path):
    stranger = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    (host, port), _ = ports(spread_lab)[2]  # through HAProxy
    with pytest.raises(redis.ConnectionError) as refused, \
            client(host, port, Access(spread_lab.password, Tls(stranger)), timeout=3) as r:
        r.ping()
    assert isinstance(refused.value.__context__, ssl.SSLCertVerificationError) or \
        "certificate verify failed" in str(refused.value), refused.value


def test_each_role_can_do_what_it_needs_and_nothing_more(spread_lab):
    lab = spread_lab.lab
    assert lab.config.security.acl, "CI's spread lab has the ACL users"
    (host, port), _ = ports(spread_lab)[0]  # an instance (a replica after a failover)
    (master_host, master_port), _ = ports(spread_lab)[2]  # HAProxy's master port
    with client(master_host, master_port, lab.access_as("app"), timeout=3) as app:
        assert app.set("security-test:app", "1") and app.get("security-test:app") == "1"
        assert app.execute_command("CLIENT", "INFO")  # who served a call
    with client(host, port, lab.access_as("app"), timeout=3) as app, \
            pytest.raises(redis.exceptions.NoPermissionError):
        app.config_set("maxmemory", "0")
    with client(host, port, lab.access_as("observer"), timeout=3) as observer:
        assert observer.info("replication")["role"]
        with pytest.raises(redis.exceptions.NoPermissionError):
            observer.set("security-test:observer", "1")
    with client(host, port, lab.access_as("check"), timeout=3) as check:
        assert check.ping()
        with pytest.raises(redis.exceptions.NoPermissionError):
            check.get("security-test:app")
    wrong = Access("not-the-password", lab.access.tls, username="app")
    with pytest.raises(redis.exceptions.AuthenticationError), \
            client(host, port, wrong, timeout=3) as r:
        r.ping()
    with client(host, port, lab.access, timeout=3) as admin:  # each refusal is logged
        denied = [entry for entry in admin.acl_log() if entry.get("reason") == "command"]
        assert {entry["username"] for entry in denied} >= {"app", "observer", "check"}


def test_failovers_over_tls_with_least_privilege_users_are_refused_nothing(spread_lab,
                                                                           spread_matrix):
    """The matrix's pause-master runs (two engines, two routes) failed over: Sentinel
    reconfigured the instances as its own user, replicas resynced as theirs, the workload
    wrote as the app user; no instance's ACL LOG held a refusal right after (the last
    engine's, the switches restart the instances), and no artefact holds a secret."""
    lab = spread_lab.lab
    assert spread_matrix.process.returncode == 0, spread_matrix.process.stderr
    matrix = json.loads((REPORTS / spread_matrix.matrix_id / "matrix.json").read_text())
    run_dirs = [REPORTS / r["run_id"] for r in matrix["runs"]]
    for run_dir in run_dirs:
        [pause] = json.loads((run_dir / "results.json").read_text())["scenarios"]
        assert pause["status"] in ("pass", "finding"), pause  # expectations held
        shard = pause["measures"][str(pause["target_shard"])]
        assert shard["failover_s"] is not None and shard["lost_writes"] is not None, shard
        assert shard["acl_denials"] == {}, shard  # counted from the history's ACL LOG reads
        meta = next(e for e in history.read(run_dir / pause["history"]) if e["type"] == "meta")
        assert meta["users"] == {"observers": "observer", "workload": "app"}
    refused = {label: [(e["username"], e["object"]) for e in entries]
               for label, entries in spread_matrix.acl_log.items()}
    assert all(not entries for entries in refused.values()), refused
    secrets = [spread_lab.password.encode(), b"PRIVATE KEY",
               *(p.encode() for p in lab.secrets.acl_passwords.values())]
    secrets += [line.encode() for key in lab.paths.tls.glob("*.key")
                for line in key.read_text().splitlines() if "-----" not in line]
    files = [p for d in [*run_dirs, REPORTS / spread_matrix.matrix_id]
             for p in d.rglob("*") if p.is_file()]
    assert sum(p.name == "index.html" for p in files) == len(run_dirs) + 1
    leaking = [str(p) for p in files for s in secrets if s in p.read_bytes()]
    assert leaking == []


def test_a_sentinel_user_without_slaveof_cannot_fail_over_and_acl_log_says_why(spread_lab):
    """The catalogue's sentinel-acl-without-slaveof on CI's engine (every engine:
    docs/measured.md): the promotion transaction is refused, Sentinel gives the failover
    up, the refusal is counted from ACL LOG; healed, the Sentinel user has SLAVEOF again."""
    lab = spread_lab.lab
    run = recorded("chaos", "-k", "sentinel-acl-without-slaveof", "--no-hypothesis",
                   config=spread_lab.config_path)
    assert run.returncode == 0, run.stdout + run.process.stderr
    [scenario] = run.results["scenarios"]
    assert scenario["status"] == "finding", scenario
    shard = scenario["measures"][str(scenario["target_shard"])]
    assert shard["failover_s"] is None, shard
    assert shard["acl_denials"].get("sentinel slaveof", 0) >= 1, shard
    assert shard["sentinel_events"].get("-failover-abort-slave-timeout"), shard
    for instance in lab.topology.shard(scenario["target_shard"]).instances:
        with client(*instance.address, lab.access, timeout=3) as admin:
            assert admin.execute_command("ACL", "DRYRUN", "sentinel", "SLAVEOF", "NO",
                                         "ONE") == "OK", instance.label
