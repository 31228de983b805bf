"""``lab_down``: remove every machine, inner container, network and rule of the lab.

Works after a failed or half-finished ``lab_up``, and when ``lab.toml`` has been broken
since: it reads the config that ``lab_up`` applied. Keeps the secrets and the image cache
(so the next ``lab_up`` is warm) unless asked to drop the images too.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

from lab import host, images
from lab.context import Lab
from lab.errors import PreflightError

Log = Callable[[str], None]


def run(lab: Lab, log: Log = print, *, remove_images: bool = False) -> float:
    started = time.monotonic()
    docker_provider = lab.config.machines.provider == "docker"
    if docker_provider and not _engine_answers():
        log("lab_down: no Docker engine answers, so no machine container can be running")
    else:
        log(f"lab_down: destroying the machines of {lab.config.name}")
        lab.machines().destroy(log)
        if remove_images and docker_provider:
            images.remove_all(log)
    shutil.rmtree(lab.paths.bundles, ignore_errors=True)
    shutil.rmtree(lab.paths.vagrant_dotfile, ignore_errors=True)
    lab.paths.machines_json.unlink(missing_ok=True)
    lab.forget_applied()
    if remove_images:
        shutil.rmtree(lab.paths.images.parent, ignore_errors=True)
    seconds = time.monotonic() - started
    log(f"lab_down: done in {seconds:.1f} s")
    return seconds


def _engine_answers() -> bool:
    try:
        host.require_docker_engine()
    except PreflightError:
        return False
    return True
