"""``lab_down``: remove every machine, inner container, network and rule of the lab.

Works after a failed or half-finished ``lab_up``, and when ``lab.toml`` has been broken
since: it reads the config that ``lab_up`` applied. Keeps the secrets and the image cache
(so the next ``lab_up`` is warm) unless asked to drop the images too.

On an SSH inventory the hosts stay: what the lab put there goes (fault leftovers, the
containers and volumes, the bundle, with ``--images`` the images).
"""

from __future__ import annotations

import logging
import shutil
import time

from lab import certificates, host, images, leftovers, provision, render
from lab.at_once import each_at_once
from lab.context import Lab

log = logging.getLogger(__name__)



def run(lab: Lab, *, remove_images: bool = False) -> float:
    started = time.monotonic()
    machines = lab.machines()
    if lab.config.adopted:
        log.info(f"lab_down: {lab.config.name} is adopted: healing fault leftovers, removing "
            "nothing of the deployment")
        _clear_inventory(lab, remove_images=False, remove_stack=False)
    elif lab.is_inventory:
        log.info(f"lab_down: removing the lab's stack from the hosts of {lab.config.name}")
        _clear_inventory(lab, remove_images)
    else:
        log.info(f"lab_down: destroying the machines of {lab.config.name}")
        machines.destroy()
        if remove_images and machines.uses_local_engine and host.docker_engine_answers():
            images.remove_all()
    shutil.rmtree(lab.paths.bundles, ignore_errors=True)
    certificates.remove(lab.paths)  # the CA and every key go with the lab
    shutil.rmtree(lab.paths.vagrant_dotfile, ignore_errors=True)
    lab.paths.machines_json.unlink(missing_ok=True)
    lab.forget_applied()
    if remove_images:
        shutil.rmtree(lab.paths.images.parent, ignore_errors=True)
    seconds = time.monotonic() - started
    log.info(f"lab_down: done in {seconds:.1f} s")
    return seconds


def _clear_inventory(lab: Lab, remove_images: bool, remove_stack: bool = True
                     ) -> None:
    lab_images: tuple[str, ...] = ()
    if remove_images:
        names = lab.image_names()
        lab_images = tuple(sorted({names.redis_base, names.haproxy, render.node_image(names)}))
    machines = lab.connect_all()

    def clear(machine) -> None:
        leftovers.heal_everything([machine])
        done = provision.remove_stack(machine, lab_images) if remove_stack else "faults healed"
        log.info(f"  {machine.server.name}: {done}")

    try:
        each_at_once(clear, machines)
    finally:
        for machine in machines:
            machine.close()

