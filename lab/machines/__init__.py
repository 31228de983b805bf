"""Machine backends: bring the lab's servers up and down, and hand out SSH access.

Every backend implements :class:`~lab.machines.base.Machines`: which machines are up
(:meth:`status`), how to make them so (:meth:`up`), how to reach each over SSH
(:meth:`ssh_config`, fed to Fabric by :mod:`lab.remote`, with ``uses_agent`` and
``sudo`` saying how to log in and run as root), how to remove them (:meth:`destroy`),
what the host must have first (:meth:`sanity_checks`), and, where it can, how to restart
one machine (:meth:`restart`).

``vagrant``  machines Vagrant creates and destroys (providers docker, virtualbox, libvirt)
``ssh``      hosts that already exist (an inventory): nothing created, nothing destroyed
"""

from lab.machines.base import Machines, RestartUnsupported
from lab.machines.ssh import SshInventory
from lab.machines.vagrant import VagrantMachines

__all__ = ["Machines", "RestartUnsupported", "SshInventory", "VagrantMachines"]
