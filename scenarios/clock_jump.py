"""clock-jump-*: one Sentinel's clock steps forwards or back, then the master is stopped.

A Sentinel's timer runs ten times a second; when it sees the wall clock go back, or leap
by more than 2 s, it cannot trust its own timeouts and enters TILT: for 30 s it watches
but acts on nothing. Here the clock of one Sentinel of shard 1 steps (the lab's
clock shim, that process only: the host's clock and every other process keep the real
time), the master is stopped 2 s later, and the lab measures whether the other Sentinels
fail over without it, how long the TILT lasts and what the failover cost. The heal steps
the clock back: a second jump, a second TILT.
"""

from lab.chaos.scenarios import Expect, Scenario

REFERENCE = ("redis/redis#10547 (TILT), Sentinel documentation \"TILT mode\": a clock "
             "that jumps while the process runs (sentinel-tilt freezes the process instead)")


def expect(config):
    return Expect(failover=True, failover_within_s=config.sentinel.down_after_ms / 1000 + 3,
                  max_lost_writes=0, lost_writes_are_finding=config.redis.persistence == "none",
                  sentinel_events=("+tilt",),
                  finding="a Sentinel whose clock stepped entered TILT while it kept running; "
                          "the other two failed the master over")


def _scenario(direction: str, seconds: int) -> Scenario:
    return Scenario(
        name=f"clock-jump-{direction}",
        description=__doc__.splitlines()[0].replace("forwards or back", direction),
        faults=(),
        script=(
            {"rule": "inject", "kind": "clock-jump", "shard": 1, "seconds": seconds,
             "hold_s": 2.0},
            {"rule": "inject", "kind": "stop-master", "shard": 1},
        ),
        hold_s=10,
        expect=expect,
        reference=REFERENCE,
    )


# Forward by 20 s only: the heal then steps the clock back as far, and a Sentinel whose
# clock went back refreshes nothing until it catches up with the times it noted while
# ahead (its INFO refresh waits for "now" to pass them): a minute's step back outlasts the
# lab's convergence bound. Back by a minute: the heal's forward step costs nothing.
SCENARIOS = (_scenario("forward", 20), _scenario("back", -60))
