"""ACL users of a lab with ``[security] acl = true``: one user per role, each with the
least the role needs, as data with where that list comes from.

``default`` stays the lab's own administrator (``requirepass``): faults, reading datasets
back, reconfiguring. The others:

``app``          the workload and Locust: reads, writes, ``WAIT``, ``CLIENT INFO`` (which
                 instance served a call)
``replication``  replicas to their master (``masteruser``)
``sentinel``     Sentinel to the instances (``sentinel auth-user``)
``check``        HAProxy's checks (``AUTH``, ``PING``, ``INFO replication``, ``QUIT``)
``observer``     the lab's observers, settle and status: ``INFO`` and ``PING`` only

The rules were checked with ``ACL SETUSER`` on Redis 7.0 and Valkey 8.1 (both accept every
command named, ``+quit`` included) on 2026-12-03.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.engines import Engine

__all__ = ["ADMIN", "ROLES", "SENTINEL_PERMISSIONS", "Role", "roles"]

ADMIN = "default"


@dataclass(frozen=True)
class Role:
    name: str  # the ACL user's name, and the role
    rules: str  # what follows "user <name> on >password" in redis.conf
    source: str  # where the list comes from

    def line(self, password: str) -> str:
        """The role's ``user`` directive for redis.conf."""
        return f"user {self.name} on >{password} {self.rules}"


_SENTINEL_DOCS = ("redis.io, ACL, 'ACL rules for Sentinel and Replicas' (the Sentinel "
                  "user's minimum)")
_SENTINEL = ("allchannels +multi +slaveof +ping +exec +subscribe +config|rewrite +role "
             "+publish +info +client|setname +client|kill +script|kill")

# The commands a Sentinel user may be given, one at a time, for the catalogue's
# sentinel-acl-without-* scenarios (lab.chaos.faults.settings.SentinelAclDrop): the
# documented list, and FAILOVER, which Valkey 9.0 came to need (valkey-io/valkey#2779).
SENTINEL_PERMISSIONS = (*(word[1:] for word in _SENTINEL.split() if word.startswith("+")),
                        "failover")

ROLES: dict[str, Role] = {r.name: r for r in (
    Role("app", "~* +@read +@write +wait +ping +client|info",
         "the workload and Locust: SET, GET, WAIT, CLIENT INFO (lab/chaos/workload.py, "
         "lab/clients.py)"),
    Role("replication", "+psync +replconf +ping",
         "redis.io, ACL, 'ACL rules for Sentinel and Replicas'"),
    Role("sentinel", _SENTINEL, _SENTINEL_DOCS),
    Role("check", "+ping +info +quit", "HAProxy's tcp-check in provision/templates/haproxy.cfg.j2"),
    Role("observer", "+info +ping", "lab/probe.py and lab/chaos/observers.py: INFO, and PING "
         "as Sentinel sends it"),
)}


# The roles whose connections are redis-py clients of the lab.
CLIENTS = ("app", "observer")


def roles(engine: Engine) -> dict[str, Role]:
    """The roles as ``engine`` needs them: where ``CLIENT SETINFO`` exists, the clients'
    users may send it (redis-py does on every connect: without it each connection leaves
    a refusal in ACL LOG, measured on Valkey 8.1); Valkey 9's coordinated failover also
    sends ``FAILOVER`` to the instances as the Sentinel user (valkey-io/valkey#2779)."""
    found = dict(ROLES)
    if engine.client_setinfo:
        for name in CLIENTS:
            role = found[name]
            found[name] = Role(name, f"{role.rules} +client|setinfo",
                               f"{role.source}; CLIENT SETINFO, sent by redis-py on connect")
    if engine.coordinated_failover:
        sentinel = found["sentinel"]
        found["sentinel"] = Role(sentinel.name, f"{sentinel.rules} +failover",
                                 f"{sentinel.source}; valkey-io/valkey#2779: +failover for "
                                 "SENTINEL FAILOVER ... COORDINATED")
    return found

