"""kill-sentinels-majority: stop a majority of shard 1's Sentinels, then its master.

One Sentinel cannot reach the quorum nor win an election: no failover may happen, and the
shard takes no writes until the master is back. That is Sentinel working as designed.
Without persistence the master comes back empty and, still master, wipes its replicas.
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    empty_restart = config.redis.persistence == "none"
    return Expect(failover=False, max_lost_writes=0, writes_during_fault=False,
                  lost_writes_are_finding=empty_restart,
                  finding="with a majority of its Sentinels gone a shard cannot fail over: "
                          "it is down until its master returns"
                          + (" (empty, without persistence)" if empty_restart else ""))


SCENARIO = Scenario(
    name="kill-sentinels-majority",
    description=__doc__.splitlines()[0],
    faults=(Step("kill-sentinels", {"shard": 1, "count": "majority"}),
            Step("stop-master", {"shard": 1})),
    hold_s=10,
    # Serial vs parallel, 5 runs each (docs/first-run.md, "Serial vs parallel"): lost writes, parallel median
    # 139, outside the serial 107-131.
    runs_alone="its lost writes in a lane fell outside the serial runs' range",
    expect=expect,
)
