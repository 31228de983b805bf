"""The lab's own certificate authority and one certificate per server (``[security]
tls = true``).

Made with trustme (a maintained wrapper of ``cryptography`` for exactly this: a throw-away
CA that issues certificates for given names and addresses) when the lab is brought up,
kept under the lab's directory (``.lab/labs/<name>/tls/``, private files), and removed by
``lab_down``. Each server's certificate names its address and its name: the Redis
instances, Sentinels and HAProxy on that server present it, and every client of the lab
checks it against the lab CA (Access's Tls). A new set is made when the servers change.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import trustme

from lab.config import Server
from lab.paths import LabPaths

__all__ = ["ServerTls", "ca_file", "ensure", "remove"]

_CA = "ca.pem"
_COVERS = "covers.json"  # which servers the set was made for


@dataclass(frozen=True)
class ServerTls:
    """What one server's processes need: the CA, its certificate and its key (PEM)."""

    ca_pem: str
    cert_pem: str
    key_pem: str


def ca_file(paths: LabPaths) -> Path:
    return paths.tls / _CA


def ensure(paths: LabPaths, servers: tuple[Server, ...]) -> dict[str, ServerTls]:
    """The lab's CA and a certificate per server, made once (again when ``servers``
    changed); by server name."""
    covers = [[s.name, s.address] for s in servers]
    marker = paths.tls / _COVERS
    if not (marker.is_file() and json.loads(marker.read_text()) == covers):
        _make(paths.tls, servers)
        _write_private(marker, json.dumps(covers))
    ca = ca_file(paths).read_text()
    return {s.name: ServerTls(ca, (paths.tls / f"{s.name}.pem").read_text(),
                              (paths.tls / f"{s.name}.key").read_text()) for s in servers}


def remove(paths: LabPaths) -> None:
    shutil.rmtree(paths.tls, ignore_errors=True)


def _make(directory: Path, servers: tuple[Server, ...]) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, mode=0o700)
    ca = trustme.CA(organization_name="redis-ha-lab", organization_unit_name=directory.parent.name)
    _write_private(directory / _CA, ca.cert_pem.bytes().decode())
    for server in servers:
        issued = ca.issue_cert(server.address, server.name)
        _write_private(directory / f"{server.name}.pem",
                       "".join(p.bytes().decode() for p in issued.cert_chain_pems))
        _write_private(directory / f"{server.name}.key", issued.private_key_pem.bytes().decode())


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text)
