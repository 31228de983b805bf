"""What the lab actually runs: the engine (Redis or Valkey), HAProxy, Docker and the
machines' OS, asked live.

Recorded once per chaos run in ``results.json`` so a report (and a go/no-go decision)
names the versions it was measured on. Informational: a question that fails is recorded
as ``unknown (reason)`` and never stops the run.
"""

from __future__ import annotations

from collections.abc import Callable

from lab import probe
from lab.access import Access
from lab.at_once import each_at_once
from lab.remote import Machine
from lab.topology import Topology


def collect(topology: Topology, machines: dict[str, Machine], access: Access,
            container: Callable[[str, str], str]) -> dict[str, str]:
    """Versions as one string each; differing answers across machines are all listed."""
    return {
        "engine": _distinct(lambda i: engine_version(i.address, access), topology.instances),
        "haproxy": _distinct(lambda m: _first_line(m.run(
            f"docker exec {container(m.server.name, 'haproxy')} haproxy -v")).split(" - ")[0],
            machines.values()),
        "docker": _distinct(lambda m: m.run(
            "docker version --format '{{.Server.Version}}'").strip(), machines.values()),
        "compose": _distinct(lambda m: _first_line(m.run(
            "docker-compose version --short 2>/dev/null || docker compose version --short")),
            machines.values()),
        "machine_os": _distinct(lambda m: m.run(
            ". /etc/os-release && echo \"$PRETTY_NAME\"", sudo=False).strip(),
            machines.values()),
    }


def engine_version(address: tuple[str, int], access: Access) -> str:
    """``redis 7.0.15``, ``valkey 8.1.1``: Valkey's ``redis_version`` is a fixed
    compatibility value, its release is in ``valkey_version``."""
    with probe.client(*address, access, timeout=2) as r:
        info = r.info("server")
    product = str(info.get("server_name") or "redis")
    return f"{product} {info.get(f'{product}_version') or info['redis_version']}"


def _distinct(ask: Callable, items) -> str:
    """Every item asked at once (one SSH connection or Redis client each), the distinct
    answers in the items' order."""
    def answer(item) -> str:
        try:
            return ask(item) or "unknown"
        except Exception as exc:  # noqa: BLE001 - informational only
            return f"unknown ({type(exc).__name__})"

    answers = each_at_once(answer, items)
    if not answers:
        return "unknown"
    return " / ".join(dict.fromkeys(answers))


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""
