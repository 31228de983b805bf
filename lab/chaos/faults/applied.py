"""What an injected fault returns (exactly what undoes it), and how it says it cannot run.

Apart from :mod:`~lab.chaos.faults.base` so that the nemesis, which faults act through,
needs nothing of the faults themselves.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

__all__ = ["CONTAINER_RUNNING", "Applied", "FaultSkipped"]

# A shell test that a container runs ({cid} filled in by str.format): what a heal of a
# process fault waits for, and what crash-master's undo checks first.
CONTAINER_RUNNING = "[ \"$(docker inspect -f '{{{{.State.Running}}}}' {cid})\" = true ]"


class FaultSkipped(Exception):
    """The fault cannot run on these machines; the message says why."""


@dataclass
class Applied:
    """A fault as injected: what it hit and the commands that undo it, per server."""

    kind: str
    target: dict
    undo: list[tuple[str, str]] = field(default_factory=list)  # (server name, command)
    # Checks that succeed once what the undo put back is back (a container running
    # again): a heal waits for them, so the next step never acts on a half-restarted
    # target. (server name, command)
    ready: list[tuple[str, str]] = field(default_factory=list)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    # When the destructive command was issued: the fault's start in the history (target
    # lookups before it do not count, a slow command after it does).
    at: float = field(default_factory=time.time)
