"""latency: delay redis1's lab traffic by 200 ms with netem, where the kernel has it.

Reported as "skipped: kernel lacks netem" where it does not (never as passed).
"""

from lab.chaos.scenarios import Expect, Scenario, Step


def expect(config):
    return Expect(failover=None, max_lost_writes=0)


SCENARIO = Scenario(
    name="latency",
    description=__doc__.splitlines()[0],
    faults=(Step("latency", {"server": 1, "ms": 200}),),
    hold_s=8,
    expect=expect,
)
