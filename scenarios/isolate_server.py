"""isolate-server: cut server redis1 off from the other servers (clients still reach it).

In the article layout shard 1 lives entirely on redis1, Sentinels included: they still
see their master, so nothing fails over, and clients that go through the other servers'
HAProxy lose shard 1 for the whole partition. The spread layout fails shard 1 over to a
replica on another server instead; redis1's old master keeps serving the clients that
reach it directly: split brain until the partition heals.
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    if config.layout == "article":
        return Expect(
            failover=False, max_lost_writes=0, writes_during_fault=False,
            finding="a shard and all its Sentinels share one server: cut off, it cannot fail "
                    "over and is unreachable through the other servers",
        )
    return Expect(
        failover=True, failover_within_s=config.sentinel.down_after_ms / 1000 + 3,
        max_lost_writes=0, lost_writes_are_finding=True,
        finding="the isolated old master kept acknowledging writes from the clients that "
                "reached it; they were lost when it rejoined",
    )


SCENARIO = Scenario(
    name="isolate-server",
    description=__doc__.splitlines()[0],
    faults=(Step("isolate-server", {"server": 1}),),
    hold_s=10,
    expect=expect,
)
