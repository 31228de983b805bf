"""Read ``lab.toml`` into a validated, immutable :class:`LabConfig`.

``lab.toml`` is the one source of truth for a lab: servers, layout, ports, Sentinel
timings, persistence, images and machines. Everything else (bundles, the Vagrantfile's
machine list, the chaos targets) is derived from the model built here.

A bad file fails early with one :class:`~lab.errors.ConfigError` line that names the
section, the key and what is allowed, e.g.::

    lab.toml: [sentinel] quorum = 5 is out of range: must be 1..3
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from lab import adopt_users, engine_install, engines, measures, routes
from lab.errors import ConfigError

LAYOUTS = ("article", "spread")
BACKENDS = ("vagrant", "ssh")
PROVIDERS = ("docker", "virtualbox", "libvirt")
PERSISTENCE = ("none", "rdb", "aof")
RESTART_POLICIES = ("always", "unless-stopped", "on-failure", "no")
IMAGE_SOURCES = ("offline", "registry")
MODES = ("provision", "adopt")
# The docker provider's machine image: with the Docker engine in it, or bare (sshd, sudo,
# Python): lab_up then installs the engine over SSH, as on a fresh server.
MACHINE_IMAGES = ("with-engine", "bare")

# [slo] coverage: what a search must have done before its GO counts ("" = report only).
SLO_COVERAGE = ("", "every-fault")

_TYPE_NAMES = {int: "an integer", str: "a string", bool: "true or false"}
_HOSTNAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Server:
    """One machine of the lab: ``address`` is what Redis, Sentinel and HAProxy use;
    ``ssh_host`` where SSH reaches it when that differs (ssh backend only)."""

    name: str
    address: str
    ssh_host: str = ""


@dataclass(frozen=True)
class RedisSettings:
    master_port: int = 6379
    replicas_per_shard: int = 2
    persistence: str = "none"
    restart: str = "always"
    min_replicas_to_write: int = 0
    min_replicas_max_lag: int = 10
    repl_diskless_sync_delay: int = 5
    # False reproduces a classic mistake: the masters lack masterauth ("they are masters"),
    # so after a failover the old master cannot rejoin as a replica (the break-fix exercise).
    masterauth_on_masters: bool = True
    # >0: every Redis instance's data directory is a filesystem of its own of this many
    # MB (a tmpfs on its machine, mounted by provisioning): what the disk-full fault
    # fills. 0: the machine's disk, shared by all (the default).
    data_disk_mb: int = 0


@dataclass(frozen=True)
class SentinelSettings:
    port: int = 26379
    # Sentinels per server in the article layout; the spread layout runs one per server.
    per_server: int = 3
    quorum: int = 2
    down_after_ms: int = 2000
    failover_timeout_ms: int = 10000
    parallel_syncs: int = 1


@dataclass(frozen=True)
class HAProxySettings:
    first_port: int = 5000
    stats_port: int = 8404
    check_interval_ms: int = 500
    # The Sentinel-checked master ports (route haproxy-sentinel), shard i at
    # checked_first_port + i - 1; 0: none (an adopted deployment has none unless set).
    checked_first_port: int = 5100


@dataclass(frozen=True)
class ClientSettings:
    """How the chaos workload and Locust reach Redis (lab.routes): ``--route``/``--ack``
    override these."""

    route: str = routes.DEFAULT_ROUTE
    ack: str = routes.DEFAULT_ACK
    workload: str = routes.DEFAULT_WORKLOAD  # routes.WORKLOADS


@dataclass(frozen=True)
class SecuritySettings:
    """How the lab's servers are reached: ``tls``: Redis, Sentinel and HAProxy's ports
    speak only TLS, with certificates from a CA made for the lab (lab/certificates.py);
    ``acl``: one ACL user per role with the least it needs (lab/acl.py)."""

    tls: bool = False
    acl: bool = False


@dataclass(frozen=True)
class ImageSettings:
    source: str = "offline"
    # The Redis or Valkey release (lab.engines): its image, its configs' dialect.
    engine: str = engines.DEFAULT
    # Offline images are debootstrapped from this mirror ("" = the host's own apt); the
    # machines' OS from ``suite`` ("" = the host's release; "bookworm" Debian 12, "trixie"
    # Debian 13), the engine from its own.
    mirror: str = ""
    suite: str = ""
    # Used when source = "registry".
    redis_image: str = "redis:7.0"
    haproxy_image: str = "haproxy:2.6"


@dataclass(frozen=True)
class MachineSettings:
    backend: str = "vagrant"
    # ssh backend: "provision" installs the lab's stack; "adopt" observes and attacks a
    # deployment that is already there, described by [redis], [sentinel], [haproxy], [adopt].
    mode: str = "provision"
    provider: str = "docker"
    image: str = "with-engine"  # the docker provider's machine image (MACHINE_IMAGES)
    network: str = "192.168.56.0/24"
    box: str = "centos/7"
    box_url: str = ""
    cpus: int = 1
    memory_mb: int = 1024
    # Every config names the servers by their [[servers]] name (replicaof, Sentinel's
    # monitor with resolve-hostnames, HAProxy's servers); the machines resolve them.
    hostnames: bool = False
    # ... and announce them: replicas and Sentinels announce their server's name, Sentinel
    # answers with names (announce-hostnames), and every client resolves them.
    announce_hostnames: bool = False


@dataclass(frozen=True)
class SshSettings:
    """How the ssh backend reaches existing hosts (every server alike)."""

    user: str = "root"
    port: int = 22
    key: str = ""  # a private key file; empty: the SSH agent
    jump: str = ""  # a jump host, [user@]host[:port]
    sudo: bool = True  # run as the user through `sudo -n` (False: the user is root)


@dataclass(frozen=True)
class AdoptSettings:
    """What an adopted deployment needs beyond ports: its Sentinel monitor names (comma
    separated, one per shard, in server order; default shard1, shard2, ...), where its
    Redis password comes from (an environment variable or a file on this machine), and
    with ``[security]`` its CA and its ACL users."""

    monitor_names: str = ""
    password_env: str = ""
    password_file: str = ""
    # [security] tls: the CA the deployment's certificates chain to, and a client
    # certificate and key where its servers ask for one (tls-auth-clients yes).
    ca_file: str = ""
    client_cert_file: str = ""
    client_key_file: str = ""
    # [security] acl: the users the lab's roles connect as (lab/adopt_users.py).
    users_file: str = ""

    def monitors(self, shards: int) -> tuple[str, ...]:
        names = tuple(n.strip() for n in self.monitor_names.split(",") if n.strip())
        return names or tuple(f"shard{i}" for i in range(1, shards + 1))


@dataclass(frozen=True)
class SloSettings:
    """The user's requirements: an upper bound per measure (:mod:`lab.measures`), for
    every scenario, with per-scenario overrides (``[slo.scenarios.<name>]``)."""

    thresholds: tuple[tuple[str, float], ...] = ()
    scenarios: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()
    # "every-fault": a search that did not hold every searchable fault (that can run
    # here) past a failover is NO-GO, naming the faults; "": coverage is only reported.
    coverage: str = ""

    def __bool__(self) -> bool:
        return bool(self.thresholds or self.scenarios or self.coverage)

    def for_scenario(self, name: str) -> dict[str, float]:
        """The thresholds that apply to scenario ``name`` (global, then its overrides)."""
        return {**dict(self.thresholds), **dict(dict(self.scenarios).get(name, ()))}

    def to_json(self) -> dict:
        return {"global": dict(self.thresholds),
                "scenarios": {name: dict(t) for name, t in self.scenarios},
                "coverage": self.coverage}


@dataclass(frozen=True)
class LabConfig:
    """The validated lab: what ``lab.toml`` says, with defaults filled in."""

    name: str = "redis-ha-lab"
    layout: str = "article"
    settle_timeout_s: int = 180
    servers: tuple[Server, ...] = ()
    redis: RedisSettings = field(default_factory=RedisSettings)
    sentinel: SentinelSettings = field(default_factory=SentinelSettings)
    haproxy: HAProxySettings = field(default_factory=HAProxySettings)
    images: ImageSettings = field(default_factory=ImageSettings)
    machines: MachineSettings = field(default_factory=MachineSettings)
    ssh: SshSettings = field(default_factory=SshSettings)
    adopt: AdoptSettings = field(default_factory=AdoptSettings)
    slo: SloSettings = field(default_factory=SloSettings)
    clients: ClientSettings = field(default_factory=ClientSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    source: str = "lab.toml"

    @property
    def adopted(self) -> bool:
        """The deployment exists already: observe and attack it, never install or remove."""
        return self.machines.mode == "adopt"

    def clients_for(self, route: str | None = None, ack: str | None = None,
                    workload: str | None = None) -> routes.Clients:
        """``--route``/``--ack``/``--workload`` (None: ``[clients]``), refused (RouteError)
        when unknown or when this lab cannot offer them."""
        chosen = routes.Clients(
            routes.parse_route(route) if route is not None else self.clients.route,
            routes.parse_ack(ack if ack is not None else self.clients.ack,
                             "--ack" if ack is not None else f"{self.source}: [clients] ack ="),
            routes.parse_workload(workload) if workload is not None else self.clients.workload)
        why = routes.unavailable(chosen.route, self.haproxy.checked_first_port, chosen.ack,
                                 self.redis.replicas_per_shard)
        if why:
            raise routes.RouteError(why)
        return chosen

    @property
    def engine(self) -> engines.Engine:
        """The Redis or Valkey release ``[images] engine`` names (validated on load)."""
        return engines.get(self.images.engine)

    @property
    def sentinels_per_shard(self) -> int:
        """How many Sentinels watch each shard's master."""
        if self.layout == "article":
            return self.sentinel.per_server
        return len(self.servers)


DEFAULT_SERVERS = (
    Server("redis1", "192.168.56.11"),
    Server("redis2", "192.168.56.12"),
    Server("redis3", "192.168.56.13"),
)

# Allowed values and ranges per field; anything not listed only has its type checked.
_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("lab", "layout"): LAYOUTS,
    ("redis", "persistence"): PERSISTENCE,
    ("redis", "restart"): RESTART_POLICIES,
    ("images", "source"): IMAGE_SOURCES,
    ("images", "engine"): engines.names(),
    ("machines", "backend"): BACKENDS,
    ("machines", "provider"): PROVIDERS,
    ("machines", "mode"): MODES,
    ("machines", "image"): MACHINE_IMAGES,
    ("clients", "route"): tuple(routes.ROUTES),
}
_RANGES: dict[tuple[str, str], tuple[int, int]] = {
    ("lab", "settle_timeout_s"): (10, 3600),
    ("redis", "master_port"): (1024, 65000),
    ("redis", "replicas_per_shard"): (1, 5),
    ("redis", "min_replicas_to_write"): (0, 5),
    ("redis", "min_replicas_max_lag"): (1, 3600),
    ("redis", "repl_diskless_sync_delay"): (0, 60),
    ("redis", "data_disk_mb"): (0, 4096),
    ("sentinel", "port"): (1024, 65000),
    ("sentinel", "per_server"): (1, 7),
    ("sentinel", "down_after_ms"): (100, 600_000),
    ("sentinel", "failover_timeout_ms"): (1000, 3_600_000),
    ("sentinel", "parallel_syncs"): (1, 5),
    ("haproxy", "first_port"): (1024, 65000),
    ("haproxy", "stats_port"): (1024, 65535),
    ("haproxy", "check_interval_ms"): (100, 60_000),
    ("haproxy", "checked_first_port"): (0, 65000),
    ("machines", "cpus"): (1, 64),
    ("machines", "memory_mb"): (256, 65536),
    ("ssh", "port"): (1, 65535),
}


def load(path: str | Path) -> LabConfig:
    """Read and validate ``path``; raise :class:`ConfigError` naming the first bad field."""
    path = Path(path)
    raw = read_toml(path, str(path), "; copy the shipped lab.toml or set LAB_CONFIG")
    return from_dict(raw, source=path.name)


def read_toml(path: Path, named: str, fix: str = "",
              error: type[ConfigError] = ConfigError) -> dict[str, Any]:
    """A TOML file's tables; ``error`` naming ``named`` when the file is missing (``fix``
    says what to do then) or is not TOML."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{named}: no such file{fix}") from None
    except IsADirectoryError:
        raise error(f"{named}: is a directory, not a TOML file{fix}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{named}: not valid TOML: {exc}") from None


def from_dict(raw: dict[str, Any], source: str = "lab.toml") -> LabConfig:
    """Build a :class:`LabConfig` from parsed TOML (also used by tests)."""
    reader = _Reader(source)
    known = {"lab", "servers", "redis", "sentinel", "haproxy", "images", "machines", "ssh",
             "adopt", "slo", "clients", "security"}
    for key in raw:
        if key not in known:
            raise ConfigError(
                f"{source}: unknown section [{key}]; known: {', '.join(sorted(known))}"
            )
    lab = reader.section(raw, "lab", {"name": "redis-ha-lab", "layout": "article",
                                       "settle_timeout_s": 180})
    if not _HOSTNAME.match(lab["name"]):
        raise ConfigError(
            f"{source}: [lab] name = {lab['name']!r}: use lowercase letters, digits and '-'"
        )
    machines = MachineSettings(**reader.section(raw, "machines", _defaults(MachineSettings)))
    config = LabConfig(
        name=lab["name"],
        layout=lab["layout"],
        settle_timeout_s=lab["settle_timeout_s"],
        servers=_servers(raw.get("servers"), machines, source),
        redis=RedisSettings(**reader.section(raw, "redis", _defaults(RedisSettings))),
        sentinel=SentinelSettings(**reader.section(raw, "sentinel", _defaults(SentinelSettings))),
        haproxy=_haproxy(reader, raw, machines),
        images=ImageSettings(**reader.section(raw, "images", _defaults(ImageSettings))),
        machines=machines,
        ssh=SshSettings(**reader.section(raw, "ssh", _defaults(SshSettings))),
        adopt=AdoptSettings(**reader.section(raw, "adopt", _defaults(AdoptSettings))),
        slo=slo_settings(raw.get("slo", {}), source),
        clients=ClientSettings(**reader.section(raw, "clients", _defaults(ClientSettings))),
        security=SecuritySettings(**reader.section(raw, "security", _defaults(SecuritySettings))),
        source=source,
    )
    _check_consistency(config)
    return config


def _haproxy(reader: _Reader, raw: dict[str, Any], machines: MachineSettings
             ) -> HAProxySettings:
    """[haproxy]; an adopted deployment offers the Sentinel-checked ports only when
    lab.toml says where they are."""
    values = reader.section(raw, "haproxy", _defaults(HAProxySettings))
    if machines.mode == "adopt" and "checked_first_port" not in raw.get("haproxy", {}):
        values["checked_first_port"] = 0
    return HAProxySettings(**values)


def load_slo(path: str | Path) -> SloSettings:
    """``--slo FILE``: a TOML file with an ``[slo]`` table, as in lab.toml."""
    path = Path(path)
    raw = read_toml(path, f"--slo {path}")
    unknown = sorted(set(raw) - {"slo"})
    if unknown or "slo" not in raw:
        raise ConfigError(f"--slo {path}: expected one [slo] table (as in lab.toml), found "
                          f"{', '.join(f'[{k}]' for k in unknown) or 'none'}")
    return slo_settings(raw["slo"], path.name)


def _check_adopted_security(config: LabConfig, src: str) -> None:
    """An adopted deployment's TLS and ACL settings: the files named exist, each is given
    exactly where its [security] switch is on."""
    adopt, security = config.adopt, config.security
    tls_files = {"ca_file": adopt.ca_file, "client_cert_file": adopt.client_cert_file,
                 "client_key_file": adopt.client_key_file}
    if security.tls and not adopt.ca_file:
        raise ConfigError(f"{src}: [security] tls = true with mode = \"adopt\": set [adopt] "
                          "ca_file to the CA that signed the deployment's certificates")
    if not security.tls and any(tls_files.values()):
        given = next(k for k, v in tls_files.items() if v)
        raise ConfigError(f"{src}: [adopt] {given} is for a TLS deployment: set [security] "
                          "tls = true, or remove it")
    if bool(adopt.client_cert_file) != bool(adopt.client_key_file):
        raise ConfigError(f"{src}: [adopt] client_cert_file and client_key_file go together: "
                          "give both or neither")
    for key, value in tls_files.items():
        if value and not Path(value).expanduser().is_file():
            raise ConfigError(f"{src}: [adopt] {key} = {value!r}: no such file")
    if security.acl and not adopt.users_file:
        raise ConfigError(f"{src}: [security] acl = true with mode = \"adopt\": set [adopt] "
                          "users_file to the users the lab connects as (lab/adopt_users.py)")
    if adopt.users_file and not security.acl:
        raise ConfigError(f"{src}: [adopt] users_file is for a deployment with ACL users: set "
                          "[security] acl = true, or remove it")
    if adopt.users_file:
        adopt_users.read(adopt.users_file, f"{src}: [adopt] users_file")


def slo_settings(table: Any, source: str) -> SloSettings:
    """``[slo]``: measure = upper bound, and ``[slo.scenarios.<name>]`` overrides."""
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [slo] must be a table")
    scenarios = table.get("scenarios", {})
    if not isinstance(scenarios, dict) or not all(isinstance(v, dict)
                                                  for v in scenarios.values()):
        raise ConfigError(f"{source}: [slo.scenarios.<name>] must be tables of measure = bound")
    overrides = tuple(sorted((name, _slo_thresholds(t, f"[slo.scenarios.{name}]", source))
                             for name, t in scenarios.items()))
    coverage = table.get("coverage", "")
    if coverage not in SLO_COVERAGE:
        raise ConfigError(f"{source}: [slo] coverage = {coverage!r}: one of "
                          + ", ".join(f'"{c}"' for c in SLO_COVERAGE))
    rest = {k: v for k, v in table.items() if k not in ("scenarios", "coverage")}
    return SloSettings(_slo_thresholds(rest, "[slo]", source), overrides, coverage)


def _slo_thresholds(table: dict, where: str, source: str) -> tuple[tuple[str, float], ...]:
    found = []
    for measure, bound in table.items():
        if measure not in measures.registered():
            raise ConfigError(f"{source}: {where} unknown measure {measure!r}; known: "
                              f"{', '.join(measures.registered())}")
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            raise ConfigError(f"{source}: {where} {measure} = {bound!r}: must be a number")
        if bound < 0:
            raise ConfigError(f"{source}: {where} {measure} = {bound!r}: must be 0 or more "
                              "(an upper bound)")
        found.append((measure, bound))
    return tuple(sorted(found))


def _defaults(cls: type) -> dict[str, Any]:
    return {f.name: f.default for f in fields(cls)}


class _Reader:
    """Checks one TOML table against its defaults: known keys, types, choices, ranges."""

    def __init__(self, source: str) -> None:
        self.source = source

    def section(self, raw: dict[str, Any], name: str, defaults: dict[str, Any]) -> dict[str, Any]:
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{self.source}: [{name}] must be a table")
        values = dict(defaults)
        for key, value in table.items():
            if key not in defaults:
                raise ConfigError(
                    f"{self.source}: [{name}] unknown key {key!r}; "
                    f"known keys: {', '.join(sorted(defaults))}"
                )
            values[key] = self._check(name, key, value, defaults[key])
        return values

    def _check(self, section: str, key: str, value: Any, default: Any) -> Any:
        where = f"{self.source}: [{section}] {key} = {value!r}"
        expected = type(default)
        # bool is an int subclass: refuse it where a number is meant.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(f"{where}: must be {_TYPE_NAMES[expected]}")
        choices = _CHOICES.get((section, key))
        if choices and value not in choices:
            raise ConfigError(f"{where} is not allowed; choose one of: {', '.join(choices)}")
        bounds = _RANGES.get((section, key))
        if bounds and not bounds[0] <= value <= bounds[1]:
            raise ConfigError(f"{where} is out of range: must be {bounds[0]}..{bounds[1]}")
        return value


def _servers(raw: Any, machines: MachineSettings, source: str) -> tuple[Server, ...]:
    network = machines.network
    try:
        net = ipaddress.ip_network(network)
    except ValueError:
        raise ConfigError(
            f"{source}: [machines] network = {network!r} is not a network like 192.168.56.0/24"
        ) from None
    if raw is None:
        servers = DEFAULT_SERVERS
    else:
        if not isinstance(raw, list) or not raw:
            raise ConfigError(f"{source}: [[servers]] must be a list of tables with name, address")
        servers = []
        allowed = {"name", "address"} | ({"ssh_host"} if machines.backend == "ssh" else set())
        for i, entry in enumerate(raw, start=1):
            if not isinstance(entry, dict) or not {"name", "address"} <= set(entry) <= allowed:
                raise ConfigError(
                    f"{source}: [[servers]] entry {i} must have 'name' and 'address'"
                    + (" (and may have 'ssh_host')" if machines.backend == "ssh" else "")
                )
            servers.append(Server(str(entry["name"]), str(entry["address"]),
                                  str(entry.get("ssh_host", ""))))
        servers = tuple(servers)
    if len(servers) < 3:
        raise ConfigError(
            f"{source}: [[servers]] lists {len(servers)} servers; the lab needs at least 3"
        )
    names, addresses = set(), set()
    for server in servers:
        if not _HOSTNAME.match(server.name):
            raise ConfigError(
                f"{source}: [[servers]] name {server.name!r}: use lowercase letters, digits, '-'"
            )
        try:
            address = ipaddress.ip_address(server.address)
        except ValueError:
            raise ConfigError(
                f"{source}: [[servers]] {server.name} address {server.address!r} is not an IP"
            ) from None
        if address not in net or address in (net.network_address, net.broadcast_address):
            raise ConfigError(
                f"{source}: [[servers]] {server.name} address {server.address} is not a host "
                f"address of [machines] network {network}"
            )
        if machines.backend == "vagrant" and address == next(net.hosts()):
            raise ConfigError(
                f"{source}: [[servers]] {server.name} address {server.address} is the "
                f"network's first address, which the host uses as gateway; pick another"
            )
        if server.name in names or server.address in addresses:
            raise ConfigError(
                f"{source}: [[servers]] {server.name} ({server.address}) is listed twice"
            )
        names.add(server.name)
        addresses.add(server.address)
    return servers


def _check_consistency(config: LabConfig) -> None:
    """Rules that span several fields."""
    src = config.source
    if config.adopted and config.machines.backend != "ssh":
        raise ConfigError(f"{src}: [machines] mode = \"adopt\" needs backend = \"ssh\" "
                          "(Vagrant machines are always provisioned by the lab)")
    if config.adopted:
        monitors = config.adopt.monitors(len(config.servers))
        if len(monitors) != len(config.servers) or len(set(monitors)) != len(monitors):
            raise ConfigError(f"{src}: [adopt] monitor_names lists {len(monitors)} distinct "
                              f"names; give one per shard ({len(config.servers)})")
        if bool(config.adopt.password_env) == bool(config.adopt.password_file):
            raise ConfigError(f"{src}: [adopt] set exactly one of password_env or "
                              "password_file: where the deployment's Redis password comes from")
    if config.security.tls and config.engine.no_tls:
        raise ConfigError(f"{src}: [security] tls = true: engine {config.engine.name} cannot: "
                          f"{config.engine.no_tls}; choose another [images] engine")
    if config.adopted:
        _check_adopted_security(config, src)
        if config.machines.hostnames:
            raise ConfigError(f"{src}: [machines] hostnames is for a lab the lab provisions; an "
                              "adopted deployment's configs are its own: remove it")
    if config.machines.announce_hostnames and not config.machines.hostnames:
        raise ConfigError(f"{src}: [machines] announce_hostnames = true announces the names "
                          "[machines] hostnames gives the servers: set hostnames = true too")
    docker_machines = config.machines.backend == "vagrant" and config.machines.provider == "docker"
    if config.machines.image != "with-engine" and not docker_machines:
        raise ConfigError(f"{src}: [machines] image = \"{config.machines.image}\" is for the "
                          "docker provider's machines; VMs are as their box is, and an ssh "
                          "inventory's hosts as they are (both get the engine when it is missing)")
    suite = config.images.suite
    if suite and suite not in engine_install.DEBIAN_RELEASES:
        known = ", ".join(f"{name} (Debian {v})" for name, v in
                          engine_install.DEBIAN_RELEASES.items())
        raise ConfigError(f"{src}: [images] suite = {suite!r}: the machines' Debian release "
                          f"must be one of {known}, or \"\" for this host's")
    watchers = config.sentinels_per_shard
    if config.sentinel.quorum > watchers:
        raise ConfigError(
            f"{src}: [sentinel] quorum = {config.sentinel.quorum} is out of range: must be "
            f"1..{watchers} (the Sentinels watching each shard in the {config.layout} layout)"
        )
    replicas = config.redis.replicas_per_shard
    if config.layout == "spread" and replicas >= len(config.servers):
        raise ConfigError(
            f"{src}: [redis] replicas_per_shard = {replicas} needs more than {replicas} servers "
            f"in the spread layout (each replica on its own server)"
        )
    if config.redis.min_replicas_to_write > replicas:
        raise ConfigError(
            f"{src}: [redis] min_replicas_to_write = {config.redis.min_replicas_to_write} "
            f"is out of range: must be 0..{replicas} (replicas_per_shard)"
        )
    try:
        routes.parse_ack(config.clients.ack, f"{src}: [clients] ack =")
        routes.parse_workload(config.clients.workload, f"{src}: [clients] workload =")
    except routes.RouteError as exc:
        raise ConfigError(str(exc)) from None
    checked = config.haproxy.checked_first_port
    if checked and checked < 1024:
        raise ConfigError(f"{src}: [haproxy] checked_first_port = {checked} is out of range: "
                          f"must be 0 (none) or 1024..65000")
    ports = _listening_ports(config)
    clashes = {p for p in ports if ports.count(p) > 1}
    if clashes:
        raise ConfigError(
            f"{src}: ports overlap on one server: {', '.join(map(str, sorted(clashes)))}; "
            f"move [redis] master_port, [sentinel] port or [haproxy] first_port or "
            f"checked_first_port apart"
        )


def _listening_ports(config: LabConfig) -> list[int]:
    redis_ports = range(config.redis.master_port,
                        config.redis.master_port + config.redis.replicas_per_shard + 1)
    sentinel_count = config.sentinel.per_server if config.layout == "article" else 1
    sentinel_ports = range(config.sentinel.port, config.sentinel.port + sentinel_count)
    haproxy_ports = range(config.haproxy.first_port,
                          config.haproxy.first_port + 2 * len(config.servers))
    checked = config.haproxy.checked_first_port
    checked_ports = range(checked, checked + len(config.servers)) if checked else range(0)
    return [*redis_ports, *sentinel_ports, *haproxy_ports, *checked_ports,
            config.haproxy.stats_port]


def differences(applied: LabConfig, wanted: LabConfig) -> list[str]:
    """The settings in which ``wanted`` (lab.toml now) differs from ``applied`` (the lab
    as brought up), as ``section.key: old -> new``; SLOs and the file name aside (they
    are read at judging time, not applied)."""
    def flat(config: LabConfig) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for f in fields(config):
            if f.name in ("slo", "source"):
                continue
            value = getattr(config, f.name)
            if hasattr(value, "__dataclass_fields__"):
                found.update({f"{f.name}.{k.name}": getattr(value, k.name)
                              for k in fields(value)})
            else:
                found[f.name] = value
        return found
    old, new = flat(applied), flat(wanted)
    return [f"{key}: {old[key]!r} -> {new[key]!r}" for key in old if old[key] != new[key]]
