"""kill-sentinels-majority: stop a majority of shard 1's Sentinels, then its master.

One Sentinel cannot reach the quorum nor win an election: no failover may happen, and the
shard takes no writes until the master is back. That is Sentinel working as designed.
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    return Expect(failover=False, max_lost_writes=0, writes_during_fault=False,
                  finding="with a majority of its Sentinels gone a shard cannot fail over: "
                          "it is down until its master returns")


SCENARIO = Scenario(
    name="kill-sentinels-majority",
    description=__doc__.splitlines()[0],
    faults=(Step("kill-sentinels", {"shard": 1, "count": "majority"}),
            Step("stop-master", {"shard": 1})),
    hold_s=10,
    expect=expect,
)
