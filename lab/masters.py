"""Which instance is a shard's master *now*: asked of its Sentinels, read-only.

Faults target roles ("the master of shard 2"), the dry-run plan names the hosts they
would touch, and a reset demotes stale masters: all ask here, at the moment they need
it. Nothing is changed and no SSH connection is needed.
"""

from __future__ import annotations

from collections import Counter

from lab import probe
from lab.access import Access
from lab.topology import RedisInstance, Topology

__all__ = ["NoMasterError", "named_master"]


class NoMasterError(RuntimeError):
    """No Sentinel names a master of the shard, and no instance says it is one."""


def named_master(topology: Topology, access: Access, shard_number: int) -> RedisInstance:
    """The master most of the shard's Sentinels name, else the instance saying it is one."""
    shard = topology.shard(shard_number)
    votes: Counter = Counter()
    for sentinel in topology.sentinels_of(shard):
        try:
            with probe.client(*sentinel.address, access.sentinels, timeout=1) as s:
                host, port = s.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME",
                                               shard.monitor_name)
                votes[(topology.address_of(host), int(port))] += 1
        except Exception:  # noqa: BLE001 - an unreachable Sentinel does not vote
            continue
    for address, _ in votes.most_common():
        instance = shard.instance_at(*address)
        if instance:
            return instance
    for instance in shard.instances:
        try:
            with probe.client(*instance.address, access, timeout=1) as r:
                if r.info("replication").get("role") == "master":
                    return instance
        except Exception:  # noqa: BLE001
            continue
    raise NoMasterError(f"no instance of shard {shard_number} can be named master")
