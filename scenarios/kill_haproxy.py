"""kill-haproxy: stop redis1's HAProxy. Clients using it lose all six ports; no failover.

Redis and Sentinel do not notice; clients that use another server's HAProxy keep working.
Nothing acknowledged is lost.
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    return Expect(failover=False, max_lost_writes=0)


SCENARIO = Scenario(
    name="kill-haproxy",
    description=__doc__.splitlines()[0],
    faults=(Step("kill-haproxy", {"server": 1}),),
    hold_s=6,
    expect=expect,
)
