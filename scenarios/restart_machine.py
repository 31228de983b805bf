"""restart-machine: restart machine redis1 itself (its container, on the docker provider).

Everything on it goes down at once and comes back with the machine's Docker engine
(``restart: always``). In the article layout that is all of shard 1: without persistence
the shard returns empty. On VM providers the scenario reports "skipped" (use
restart-server there).
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    wiped = config.redis.persistence == "none"
    return Expect(max_lost_writes=0, lost_writes_are_finding=wiped,
                  finding="the whole machine restarted: instances without persistence came "
                          "back empty" if wiped else "")


SCENARIO = Scenario(
    name="restart-machine",
    description=__doc__.splitlines()[0],
    faults=(Step("restart-machine", {"server": 1}),),
    hold_s=6,
    expect=expect,
)
