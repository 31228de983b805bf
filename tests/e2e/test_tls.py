"""[security] tls on a real lab (CI's spread lab runs with it): plaintext is refused on
every kind of port, a client that does not trust the lab CA is refused, and a chaos run
over TLS reaches its documented verdict without a secret in its artefacts."""

from __future__ import annotations

import ssl

import pytest
import redis
import trustme

from lab.access import Access, Tls
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


def test_chaos_over_tls_reaches_the_documented_verdict_and_keeps_no_secret(spread_lab):
    run = recorded("chaos", "-k", "crash-master", "--no-hypothesis",
                   config=spread_lab.config_path)
    assert run.returncode == 0, run.stdout + run.process.stderr
    [crash] = run.results["scenarios"]
    assert crash["status"] == "finding", crash  # expectations held, as without TLS
    assert crash["measures"]["1"]["lost_writes"] is not None  # read back over TLS
    secrets = [spread_lab.password.encode(), b"PRIVATE KEY"]
    secrets += [line.encode() for key in spread_lab.lab.paths.tls.glob("*.key")
                for line in key.read_text().splitlines() if "-----" not in line]
    files = [p for p in run.run_dir.rglob("*") if p.is_file()]
    assert any(p.name == "index.html" for p in files)
    leaking = [str(p) for p in files for s in secrets if s in p.read_bytes()]
    assert leaking == []
    assert run.run_dir.parent == REPORTS
