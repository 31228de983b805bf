"""Faults on whole machines: restarted through their backend (a power cycle)."""

from __future__ import annotations

from lab.chaos.faults.base import Applied, Fault, Param, register
from lab.leftovers import LABEL


@register
class RestartMachine(Fault):
    """Restart the machine itself (docker provider: its container, from the host)."""

    name = "restart-machine"
    family = "machines"
    params = (Param("server", "server", 1),)
    words = "restart machine {server} itself"

    def inject(self, nemesis, server):
        at = nemesis.restart_machine(server)
        return Applied(self.name, {"server": server},
                       [(server, f"docker ps -aq --filter {LABEL} --filter status=exited "
                                 "| xargs -r docker start")], at=at)
