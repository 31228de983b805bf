"""Can the lab reach an adopted deployment as each of its roles? Asked once, before
anything else touches it, so that a wrong CA, a wrong password or a missing permission is
one line naming the host, the port and what failed (exit 2), not a settle that times out.

Every instance is reached as the administrator (the faults, read-back and ACL LOG need
it) and as each client role of :mod:`lab.access`; the administrator then asks ``ACL
DRYRUN`` whether each role's user may run what the lab will send as it, so a missing
permission is found without writing anything. Every Sentinel is asked for each shard's
master. Read-only throughout.
"""

from __future__ import annotations

import re

import redis

from lab.acl import CLIENTS
from lab.at_once import each_at_once
from lab.context import Lab
from lab.errors import LabError
from lab.probe import client
from lab.topology import RedisInstance, SentinelInstance

__all__ = ["NEEDS", "check"]

# What the lab sends as each role (lab/chaos/workload.py, lab/chaos/observers.py,
# lab/probe.py, loadtests/): checked with ACL DRYRUN, one representative call each.
NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "app": (("SET", "lab:access-check", "1"), ("GET", "lab:access-check"), ("WAIT", "0", "1"),
            ("PING",), ("CLIENT", "INFO")),
    "observer": (("INFO", "replication"), ("PING",)),
}


def check(lab: Lab) -> None:
    """LabError (exit 2) naming the first endpoint and role that fails; None when every
    one answers as the lab needs."""
    problems = each_at_once(lambda i: _instance(lab, i), lab.topology.instances) + \
        each_at_once(lambda s: _sentinel(lab, s), lab.topology.sentinels)
    found = [p for p in problems if p]
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise LabError(f"{lab.config.source}: adopt: {found[0]}{more}")


def _instance(lab: Lab, instance: RedisInstance) -> str:
    """The first failure reaching ``instance`` as the administrator, then as each client
    role (its own connection, and ACL DRYRUN asked over the administrator's one)."""
    try:
        admin = client(*instance.address, lab.access, timeout=3)
        admin.ping()
    except redis.RedisError as exc:
        return _where(instance, "default", _explain(exc, lab))
    with admin:
        for role in CLIENTS:
            access = lab.access_as(role)
            if not access.username:  # the role connects as the administrator: checked
                continue
            try:
                with client(*instance.address, access, timeout=3) as r:
                    r.ping()
                refused = _refused(admin, access.username, NEEDS[role])
            except redis.RedisError as exc:
                return _where(instance, access.username, _explain(exc, lab))
            if refused:
                return _where(instance, access.username, refused)
    return ""


def _refused(admin: redis.Redis, user: str, calls: tuple[tuple[str, ...], ...]) -> str:
    """What ACL DRYRUN says ``user`` may not run ("" when everything is allowed)."""
    for call in calls:
        try:
            answer = admin.execute_command("ACL", "DRYRUN", user, *call)
        except redis.ResponseError as exc:
            if "unknown" in str(exc).lower():  # an engine without DRYRUN: not checkable
                return ""
            raise
        if answer != "OK":
            return f"ACL refuses {' '.join(call[:2])}: {answer}"
    return ""


def _sentinel(lab: Lab, sentinel: SentinelInstance) -> str:
    try:
        with client(*sentinel.address, lab.access.sentinels, timeout=3) as r:
            for number in sentinel.shards:
                r.execute_command("SENTINEL", "get-master-addr-by-name",
                                  lab.topology.shard(number).monitor_name)
    except redis.RedisError as exc:
        return _where(sentinel, "the Sentinel's default user", _explain(exc, lab))
    return ""


def _where(endpoint: RedisInstance | SentinelInstance, user: str, what: str) -> str:
    host, port = endpoint.address
    return f"{endpoint.server.name} {host}:{port} as {user}: {what}"


def _explain(exc: redis.RedisError, lab: Lab) -> str:
    """The failure in words, with what to fix."""
    text = str(exc)
    if "certificate verify failed" in text.lower():
        reason = re.sub(r"\s*\(_ssl\.c:\d+\)\.?$", "", text.split("] ")[-1]).rstrip(".")
        return (f"TLS: the server's certificate does not verify against [adopt] ca_file "
                f"{lab.config.adopt.ca_file} ({reason})")
    if isinstance(exc, redis.AuthenticationError) or "WRONGPASS" in text:
        return "wrong user name or password (check [adopt] password_* and users_file)"
    if isinstance(exc, redis.exceptions.NoPermissionError):
        return f"ACL: {text}"
    return f"{type(exc).__name__}: {text}"
