"""How the lab's clients connect: one Access object, never showing its password."""

from pathlib import Path

from lab.access import Access, Tls
from lab.probe import client


def test_an_instance_gets_the_password_a_sentinel_does_not():
    access = Access("s3cret")
    assert access.redis_kwargs() == {"password": "s3cret"}
    assert access.sentinels.redis_kwargs() == {"password": None}


def test_tls_verifies_the_server_against_the_lab_ca(tmp_path):
    access = Access("s3cret", Tls(tmp_path / "ca.pem"))
    kwargs = access.sentinels.redis_kwargs()
    assert kwargs == {"password": None, "ssl": True, "ssl_ca_certs": str(tmp_path / "ca.pem"),
                      "ssl_cert_reqs": "required", "ssl_check_hostname": True}
    with_cert = Tls(Path("ca.pem"), Path("client.pem"), Path("client.key")).redis_kwargs()
    assert (with_cert["ssl_certfile"], with_cert["ssl_keyfile"]) == ("client.pem", "client.key")


def test_the_password_never_shows_in_a_repr_or_a_client():
    access = Access("s3cret")
    assert "s3cret" not in repr(access) and "s3cret" not in str(access)
    r = client("127.0.0.1", 9, access, timeout=0.1)
    assert r.connection_pool.connection_kwargs["password"] == "s3cret"
    assert "s3cret" not in repr(r)
