"""Machine backends: bring the lab's servers up and down, and hand out SSH access.

A backend answers three questions for the rest of the lab: which machines are up
(:meth:`status`), how to make them so (:meth:`up`), and how to reach each over SSH
(:meth:`ssh_config`, fed to Fabric by :mod:`lab.remote`, with ``uses_agent`` and
``sudo`` saying how to log in and run as root).

``vagrant``  machines Vagrant creates and destroys (providers docker, virtualbox, libvirt)
``ssh``      hosts that already exist (an inventory): nothing created, nothing destroyed
"""

from lab.machines.ssh import SshInventory
from lab.machines.vagrant import VagrantMachines

__all__ = ["SshInventory", "VagrantMachines"]
