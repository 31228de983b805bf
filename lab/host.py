"""Facts about, and checks of, the host the lab is driven from.

Every check raises :class:`~lab.errors.PreflightError` with the fix in the message, and
runs before anything is created, so a failed check leaves nothing behind.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
from pathlib import Path

from lab.errors import PreflightError

SETUP_HINT = "run `bash scripts/setup-host` as root"
VAGRANT_NETWORK_PREFIX = "vagrant_network_"


def apt_source() -> tuple[str, str]:
    """(mirror URL, suite) of the host's own Debian/Ubuntu apt configuration."""
    suite = ""
    os_release = Path("/etc/os-release")
    if os_release.exists():
        match = re.search(r"^VERSION_CODENAME=\"?(\w+)", os_release.read_text(), re.M)
        suite = match.group(1) if match else ""
    mirror = ""
    candidates = sorted(Path("/etc/apt/sources.list.d").glob("*.sources")) + [
        Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]
    for source in candidates:
        if not source.exists():
            continue
        text = source.read_text()
        urls = re.findall(r"^URIs:\s*(\S+)", text, re.M) + re.findall(
            r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.M)
        urls = [u for u in urls if "security" not in u]
        if urls:
            mirror = urls[0]
            break
    if not (mirror and suite):
        raise PreflightError(
            "cannot tell the host's apt mirror and release; set [images] mirror and suite "
            "in lab.toml (e.g. mirror = \"http://deb.debian.org/debian\", suite = \"bookworm\")"
        )
    return mirror, suite


def require_tool(name: str, package: str | None = None) -> str:
    path = shutil.which(name)
    if not path:
        raise PreflightError(
            f"`{name}` is not installed; {SETUP_HINT} (or apt-get install {package or name})"
        )
    return path


def require_docker_engine() -> None:
    require_tool("docker", "docker.io")
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True, text=True, timeout=20,
        )
    except subprocess.TimeoutExpired:
        result = None
    if result is None or result.returncode != 0:
        raise PreflightError(
            "no Docker engine answers on this host; start one with "
            "`dockerd >/var/log/dockerd.log 2>&1 &` or " + SETUP_HINT
        )


def docker_engine_answers() -> bool:
    try:
        require_docker_engine()
    except PreflightError:
        return False
    return True


def docker_json(*args: str) -> list[dict]:
    out = subprocess.run(["docker", *args], capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []


def check_address_range(network: str, lab_label: str) -> None:
    """Refuse a lab network that something other than this lab already uses.

    Taken means: a host interface has an address in it that is not the bridge of this
    lab's own Vagrant network, or a Docker network overlaps it and is not ours.
    """
    net = ipaddress.ip_network(network)
    ours = _our_docker_networks(net, lab_label)
    our_bridges = {f"br-{n['Id'][:12]}" for n in ours}
    # Docker networks first: their name says more than a bridge interface's.
    for other in _overlapping_docker_networks(net):
        if other["Id"] not in {n["Id"] for n in ours}:
            raise PreflightError(
                f"address range {network} is already used by Docker network "
                f"{other['Name']!r}; remove it (docker network rm) or set [machines] network "
                "and the [[servers]] addresses in lab.toml"
            )
    out = subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True).stdout
    for link in json.loads(out or "[]"):
        for addr in link.get("addr_info", []):
            if addr.get("family") != "inet":
                continue
            iface_net = ipaddress.ip_interface(f"{addr['local']}/{addr['prefixlen']}").network
            if iface_net.overlaps(net) and link["ifname"] not in our_bridges:
                raise PreflightError(
                    f"address range {network} is already in use on this host "
                    f"(interface {link['ifname']} has {addr['local']}/{addr['prefixlen']}); "
                    "free it or set [machines] network and the [[servers]] addresses in lab.toml"
                )


def _overlapping_docker_networks(net: ipaddress.IPv4Network) -> list[dict]:
    ids = subprocess.run(["docker", "network", "ls", "-q"], capture_output=True,
                         text=True).stdout.split()
    found = []
    for info in docker_json("network", "inspect", *ids) if ids else []:
        for cfg in (info.get("IPAM") or {}).get("Config") or []:
            subnet = cfg.get("Subnet")
            if subnet and ":" not in subnet and ipaddress.ip_network(subnet).overlaps(net):
                found.append(info)
    return found


def _our_docker_networks(net: ipaddress.IPv4Network, lab_label: str) -> list[dict]:
    """Vagrant-made networks on ``net`` whose containers (if any) all belong to this lab."""
    ours = []
    for info in _overlapping_docker_networks(net):
        if not info["Name"].startswith(VAGRANT_NETWORK_PREFIX):
            continue
        members = list((info.get("Containers") or {}).keys())
        if all(_has_lab_label(c, lab_label) for c in members):
            ours.append(info)
    return ours


def _has_lab_label(container_id: str, lab_label: str) -> bool:
    info = docker_json("inspect", container_id)
    labels = (info[0].get("Config") or {}).get("Labels") or {} if info else {}
    return labels.get("redis-ha-lab.lab") == lab_label


def lab_containers(lab_label: str) -> list[str]:
    """IDs of the host containers that are this lab's machines (running or not)."""
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=redis-ha-lab.lab={lab_label}"],
        capture_output=True, text=True,
    ).stdout
    return out.split()


def lab_networks(network: str, lab_label: str) -> list[dict]:
    return _our_docker_networks(ipaddress.ip_network(network), lab_label)
