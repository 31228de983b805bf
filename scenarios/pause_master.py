"""pause-master: freeze the master of shard 1 (docker pause), then resume it: the zombie.

Sentinel fails over while the old master is frozen. Resumed, the old master still reports
``role:master`` until Sentinel converts it (about ten seconds): two masters at once, and
HAProxy sends writes to both. What the old one acknowledges in that window is lost.
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    return Expect(
        failover=True, failover_within_s=config.sentinel.down_after_ms / 1000 + 3,
        max_lost_writes=0, lost_writes_are_finding=True, split_brain_expected=True,
        finding="the resumed master kept role:master after the failover: split brain",
    )


SCENARIO = Scenario(
    name="pause-master",
    description=__doc__.splitlines()[0],
    faults=(Step("pause-master", {"shard": 1}),),
    hold_s=10,
    expect=expect,
)
