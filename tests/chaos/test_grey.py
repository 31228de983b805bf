"""Grey failures on the real article lab (issue 27): what CI checks of them. Their
catalogue scenarios (replica-buffer-loop, cold-start, sentinel-conf-readonly,
clock-jump-*) run in the opt-in catalogue test and the engine matrix; the safety test
checks that status names each one's leftovers and heal removes them."""

from __future__ import annotations

import time

from lab import leftovers
from lab.chaos import faults
from lab.chaos.nemesis import Nemesis
from lab.probe import client

BOUND_S = 10.0  # the shim reads the offset at most once a second; TILT follows at once


def _sentinel_state(sentinel, access) -> tuple[float, int]:
    """(its wall clock less ours, in seconds; 1 when it is in TILT) as it answers."""
    with client(*sentinel.address, access.sentinels, timeout=2) as r:
        info = r.info()
    return info["server_time_usec"] / 1e6 - time.time(), int(info["sentinel_tilt"])


def _until(predicate, what: str):
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {BOUND_S:g} s: {what}")


def test_a_sentinels_clock_jump_puts_it_in_tilt_without_freezing_it(chaos_lab):
    """One Sentinel's wall clock steps 60 s (the lab's clock shim, that process only): it
    answers throughout, reports the stepped time and TILT; the other Sentinels' clocks
    never move; the heal steps its clock back and leaves nothing behind."""
    lab = chaos_lab.lab
    jumped, *others = lab.topology.sentinels_of(lab.topology.shard(3))
    machines = lab.connect_all()
    nemesis = Nemesis(lab.topology, machines, chaos_lab.access, lab.config.machines.network,
                      engine=lab.config.engine)
    try:
        applied = faults.inject(nemesis, "clock-jump", shard=3, seconds=60)
        try:
            offset, _ = _until(
                lambda: (state := _sentinel_state(jumped, chaos_lab.access))[1] and state,
                f"{jumped.label} in TILT")
            assert 55 < offset < 65, offset  # answering, a minute ahead: not frozen
            for other in others:
                assert abs(_sentinel_state(other, chaos_lab.access)[0]) < 2, other.label
        finally:
            nemesis.heal(applied)
        _until(lambda: abs(_sentinel_state(jumped, chaos_lab.access)[0]) < 2,
               f"{jumped.label}'s clock back")
        assert leftovers.find(machines) == []
    finally:
        for machine in machines:
            machine.close()
