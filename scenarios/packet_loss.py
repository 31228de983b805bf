"""packet-loss: drop 30 % of the lab traffic redis1 receives (iptables statistic).

Slow, not dead: retransmissions keep connections alive. Sentinel should not fail over on
loss alone at these timings, and nothing acknowledged may be lost.
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    return Expect(failover=None, max_lost_writes=0)


SCENARIO = Scenario(
    name="packet-loss",
    description=__doc__.splitlines()[0],
    faults=(Step("packet-loss", {"server": 1, "percent": 30}),),
    hold_s=8,
    expect=expect,
)
