"""Where a lab keeps its files.

Per-lab state (secrets, the SSH key, rendered bundles, Vagrant's own state, the image
cache) lives in ``.lab/`` beside ``lab.toml`` (git-ignored), or in ``$REDIS_HA_LAB_HOME``.
Run output lives in ``reports/``. Nothing else is written into the source tree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = PROJECT_ROOT / "provision" / "templates"
MACHINE_IMAGE_DIR = PROJECT_ROOT / "provision" / "machine-image"
VAGRANTFILE_DIR = PROJECT_ROOT


@dataclass(frozen=True)
class LabPaths:
    home: Path

    @classmethod
    def for_project(cls, root: Path = PROJECT_ROOT) -> LabPaths:
        home = os.environ.get("REDIS_HA_LAB_HOME")
        return cls(Path(home) if home else root / ".lab")

    @property
    def secrets(self) -> Path:
        return self.home / "secrets.json"

    @property
    def ssh_key(self) -> Path:
        return self.home / "ssh" / "id_ed25519"

    @property
    def bundles(self) -> Path:
        return self.home / "bundles"

    @property
    def machines_json(self) -> Path:
        return self.home / "machines.json"

    @property
    def vagrant_dotfile(self) -> Path:
        return self.home / "vagrant"

    @property
    def images(self) -> Path:
        return self.home / "images"

    def ensure(self) -> None:
        for directory in (self.home, self.bundles, self.images, self.ssh_key.parent):
            directory.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o700)
