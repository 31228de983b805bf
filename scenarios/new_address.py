"""new-address: shard 1's master's server answers under its name at a new address.

Needs ``[machines] hostnames = true`` (announced or not). Deployments that address servers
by name (Kubernetes StatefulSets, re-created VMs) see this on every reschedule: the name
stays, the address does not. Sentinel used to resolve a name once and keep connecting to
that address, so it failed over, and never reached the old master again
(redis/redis#9103, #8300); since Redis 7.0 it resolves the name again when a link drops
(redis/redis#10146), and so does every engine here. HAProxy resolves its servers' names
when it starts: until it is reloaded, no HAProxy reaches the moved instances, and the
shard takes no writes through it, although Sentinel never failed over.
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    return Expect(
        failover=False, max_lost_writes=0, writes_during_fault=False,
        finding="Sentinel followed the name to its new address (no failover); HAProxy "
                "kept the address it resolved at start: no write through it reached the "
                "moved master until the heal",
    )


SCENARIO = Scenario(
    name="new-address",
    description=__doc__.splitlines()[0],
    faults=(Step("new-address", {"shard": 1}),),
    hold_s=15,
    expect=expect,
    reference=("redis/redis#9103 \"Failover not happening after enabling announce-hostnames & "
               "resolve-hostnames\" (https://github.com/redis/redis/issues/9103); fixed by "
               "redis/redis#10146"),
)
