"""Machine backends: bring the lab's servers up and down, and hand out SSH access.

A backend answers three questions for the rest of the lab: which machines are up
(:meth:`status`), how to make them so (:meth:`up`, :meth:`destroy`), and how to reach each
over SSH (:meth:`ssh_config`, fed to Fabric by :mod:`lab.remote`). Vagrant (providers
docker, virtualbox, libvirt) is the only backend so far.
"""

from lab.machines.vagrant import VagrantMachines

__all__ = ["VagrantMachines"]
