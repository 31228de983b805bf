"""Render ``provision/templates`` into one bundle per server.

A bundle is everything a server needs to run its part of the lab with
``compose up -d --build``: the compose file, the image build context (Dockerfile and
entrypoint), and one config per Redis instance and Sentinel plus ``haproxy.cfg``.
Rendering is pure: same config and secrets in, byte-identical bundle out, so the bundle's
digest tells provisioning whether a server has anything to change.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from pathlib import Path

import jinja2

from lab import acl
from lab.certificates import ServerTls
from lab.config import LabConfig, Server
from lab.paths import TEMPLATES
from lab.topology import RedisInstance, SentinelInstance, Shard, Topology

HEADER = "Rendered by redis-ha-lab from lab.toml: edit the template, not this file."
REMOTE_ROOT = "/opt/redis-ha-lab"
# [redis] data_disk_mb: the script that gives every instance a data disk of its own, and
# the name its tmpfs mounts carry (what the clean-up looks for).
DATA_DISKS = "data-disks.sh"
DATA_DISK_SOURCE = "redis-ha-lab-data"
NODE_IMAGE = "redis-ha-lab/node"
COMPOSE_PROJECT = "redis-ha-lab"


@dataclass(frozen=True)
class BundleFile:
    path: str  # relative to the bundle root
    content: str
    mode: int = 0o644


@dataclass(frozen=True)
class Bundle:
    server: Server
    files: tuple[BundleFile, ...]

    @property
    def digest(self) -> str:
        """sha256 over every file's path, mode and content."""
        h = hashlib.sha256()
        for f in sorted(self.files, key=lambda f: f.path):
            h.update(f"{f.path}\0{f.mode:o}\0".encode())
            h.update(f.content.encode())
            h.update(b"\0")
        return h.hexdigest()

    @property
    def data_dirs(self) -> tuple[str, ...]:
        return tuple(
            f"data/{Path(f.path).stem}" for f in self.files
            if f.path.startswith("conf/") and f.path.endswith(".conf")
        )

    def write(self, directory: Path) -> None:
        """Write the bundle to ``directory`` (for inspection and for upload)."""
        for f in self.files:
            target = directory / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f.content)
            target.chmod(f.mode)


@dataclass(frozen=True)
class Images:
    """Image names a bundle refers to, decided by ``[images] source``."""

    redis_base: str
    haproxy: str


def node_image(images: Images) -> str:
    """The image compose builds on each machine from ``redis_base`` (entrypoint, uids)."""
    return f"{NODE_IMAGE}:{_short_hash(images.redis_base)}"


def render(config: LabConfig, topology: Topology, password: str, images: Images,
           tls: dict[str, ServerTls] | None = None,
           acl_passwords: dict[str, str] | None = None) -> list[Bundle]:
    """One bundle per server, in server order; with ``tls`` (by server name: the lab
    CA, the server's certificate and key) every port speaks TLS only; with
    ``acl_passwords`` (by role) every role has its ACL user (lab.acl)."""
    roles = acl.roles(config.engine) if acl_passwords else {}
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    common = {
        "header": HEADER,
        "password": password,
        "layout": config.layout,
        "engine": config.engine,
        "lab_name": config.name,
        "redis": config.redis,
        "redis_base_image": images.redis_base,
        "haproxy_image": images.haproxy,
        "node_image": node_image(images),
        "restart": config.redis.restart,
        "tls": bool(tls),
        "acl": bool(acl_passwords),
        "acl_users": [role.line(acl_passwords[name]) for name, role in roles.items()]
        if acl_passwords else [],
        "acl_passwords": acl_passwords or {},
        "masterauth": acl_passwords["replication"] if acl_passwords else password,
        # [machines] hostnames: a server as the configs name it, and what resolves it.
        "hostnames": config.machines.hostnames,
        "host": (lambda server: server.name) if config.machines.hostnames
        else (lambda server: server.address),
        # ... and what replicas and Sentinels announce ([machines] announce_hostnames).
        "announce_hostnames": config.machines.announce_hostnames,
        "announced": (lambda server: server.name) if config.machines.announce_hostnames
        else (lambda server: server.address),
        "hosts": [(s.name, s.address) for s in topology.servers],
    }
    first_port, last_port = topology.haproxy_ports
    haproxy_cfg = env.get_template("haproxy.cfg.j2").render(
        common, shards=topology.shards, haproxy=config.haproxy,
        first_port=first_port, last_port=last_port, checked_ports=_checked_ports(topology),
        checked={s.number: sentinel_checks(topology, s) for s in topology.shards},
    )
    entrypoint = (TEMPLATES / "lab-entrypoint.sh").read_text()
    dockerfile = env.get_template("Dockerfile.j2").render(common)

    bundles = []
    for server in topology.servers:
        instances = topology.instances_on(server)
        sentinels = topology.sentinels_on(server)
        configs = {"haproxy": haproxy_cfg}
        for instance in instances:
            shard = topology.shard(instance.shard)
            master = shard.initial_master if instance.initial_role == "replica" else None
            configs[instance.service] = env.get_template("redis.conf.j2").render(
                common, instance=instance, master=master)
        for sentinel in sentinels:
            configs[sentinel.service] = env.get_template("sentinel.conf.j2").render(
                common, sentinel=sentinel, settings=config.sentinel,
                shards=[topology.shard(n) for n in sentinel.shards])
        # Compose does not look inside bind-mounted files: a label with each service's
        # config digest makes it recreate exactly the services whose config changed.
        # With TLS, a new certificate is a change too.
        material = tls[server.name] if tls else None
        salt = material.cert_pem if material else ""
        digests = {service: _short_hash(text + salt) for service, text in configs.items()}
        compose = env.get_template("docker-compose.yml.j2").render(
            common, server=server, instances=instances, sentinels=sentinels, digests=digests)
        files = [*_tls_files(material),
            BundleFile("docker-compose.yml", compose),
            BundleFile("image/Dockerfile", dockerfile),
            BundleFile("image/lab-entrypoint.sh", entrypoint, 0o755),
            BundleFile("conf/haproxy.cfg", haproxy_cfg),
            *(BundleFile(f"conf/{service}.conf", text)
              for service, text in configs.items() if service != "haproxy"),
        ]
        if config.redis.data_disk_mb:
            files.append(_data_disks(instances, config.redis.data_disk_mb))
        bundles.append(Bundle(server, tuple(files)))
    return bundles


@dataclass(frozen=True)
class SentinelCheck:
    """One way a majority of a shard's Sentinels can name ``instance``: HAProxy's check
    backend ``backend`` asks each Sentinel of ``numbered`` (numbered 1.. in the shard) and
    expects ``answer``."""

    instance: RedisInstance
    numbered: tuple[tuple[int, SentinelInstance], ...]

    @property
    def sentinels(self) -> tuple[SentinelInstance, ...]:
        return tuple(s for _, s in self.numbered)

    @property
    def server(self) -> str:
        """``redis1_6379_by_1_2``: the instance, then its Sentinels' numbers."""
        return f"{self.instance.haproxy_server}_by_{'_'.join(str(n) for n, _ in self.numbered)}"

    @property
    def backend(self) -> str:
        return f"shard{self.instance.shard}_{self.server}"

    def answer(self, host: str) -> str:
        """``SENTINEL get-master-addr-by-name``'s reply naming the instance as ``host``
        (its address, or its server's name when Sentinel announces names), in RESP: ``*2``,
        then ``$len host``, ``$len port``, escaped for haproxy.cfg."""
        port = str(self.instance.port)
        return f"*2\\r\\n${len(host)}\\r\\n{host}\\r\\n${len(port)}\\r\\n{port}\\r\\n"


def sentinel_checks(topology: Topology, shard: Shard) -> list[SentinelCheck]:
    """Per instance of ``shard``, one check per majority of its Sentinels.

    HAProxy's tcp-check rules run in sequence (all must pass) and belong to a backend, not
    a server: a majority, "any m of n", becomes one check backend per m-subset, and the
    route's server for the instance tracks it. The instance then takes writes while some
    majority names it, and when none does HAProxy marks it down and
    ``on-marked-down shutdown-sessions`` closes its clients' connections."""
    watching = topology.sentinels_of(shard)
    majority = len(watching) // 2 + 1
    return [SentinelCheck(instance, subset) for instance in shard.instances
            for subset in itertools.combinations(enumerate(watching, start=1), majority)]


def _data_disks(instances: list[RedisInstance], mb: int) -> BundleFile:
    """The script provisioning runs on the machine before the containers start
    (:func:`lab.provision.upload_bundle`): each Redis instance's data directory becomes a
    tmpfs of ``mb`` MB, a disk of its own that the disk-full fault can fill without
    touching the machine's (the host's) disk. Loop devices, the other way to a small
    filesystem, are not available in every machine; a tmpfs is, and it persists across
    container restarts (not machine restarts)."""
    dirs = " ".join(f"data/{i.service}" for i in instances)
    return BundleFile(DATA_DISKS, f"""#!/bin/sh
# {HEADER}
# [redis] data_disk_mb = {mb}: each Redis instance's data directory is a filesystem of its
# own. Mounted once, before the containers start; a restarted machine has none (lab_down,
# then lab_up, mounts them again).
set -eu
cd {REMOTE_ROOT}
for dir in {dirs}; do
    mkdir -p "$dir"
    mountpoint -q "$dir" || mount -t tmpfs -o size={mb}m,mode=0755 {DATA_DISK_SOURCE} "$dir"
done
""", 0o755)


def _tls_files(material: ServerTls | None) -> list[BundleFile]:
    """The server's TLS files (keys readable by root only: the Redis entrypoint copies
    them for its process's own uid, HAProxy runs as root)."""
    if material is None:
        return []
    return [BundleFile("tls/ca.crt", material.ca_pem),
            BundleFile("tls/server.crt", material.cert_pem),
            BundleFile("tls/server.key", material.key_pem, 0o600),
            BundleFile("tls/haproxy.pem", material.cert_pem + material.key_pem, 0o600)]


def _checked_ports(topology: Topology) -> tuple[int, int] | None:
    ports = [s.checked_port for s in topology.shards if s.checked_port]
    return (ports[0], ports[-1]) if ports else None


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]
