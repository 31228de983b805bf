"""``nox -s heal``: remove every fault leftover from the machines, e.g. after the
controlling machine crashed mid-fault (:mod:`lab.leftovers` says what counts)."""

from __future__ import annotations

import logging

from lab import leftovers, runs
from lab.context import Lab

__all__ = ["run"]

log = logging.getLogger(__name__)


def run(lab: Lab) -> int:
    """0 when nothing is left, 1 when something could not be removed."""
    runs.require_up(lab)
    machines = lab.connect_all()
    try:
        leftovers.heal_everything(machines)
        left = leftovers.find(machines)
    finally:
        for machine in machines:
            machine.close()
    log.info("chaos: healed: no fault leftovers" if not left else f"chaos: still left: {left}")
    return 0 if not left else 1
