"""Where a lab keeps its files.

Everything lives under ``.lab/`` beside the Vagrantfile (git-ignored), or under
``$REDIS_HA_LAB_HOME``::

    .lab/cache/            images and wheels, shared by every lab on this host
    .lab/labs/<lab name>/  one lab's secrets, SSH key, bundles, Vagrant state and the
                           lab.toml it was brought up with

Labs with different names (and address ranges) can therefore run side by side, which is
how the test suite avoids touching a user's lab. Run output lives in ``reports/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = PROJECT_ROOT / "provision" / "templates"
MACHINE_IMAGE_DIR = PROJECT_ROOT / "provision" / "machine-image"
# What every node image (Redis, Sentinel) adds to its engine: the lab's clock shim.
NODE_IMAGE_DIR = PROJECT_ROOT / "provision" / "node-image"
VAGRANTFILE_DIR = PROJECT_ROOT
REPORTS = PROJECT_ROOT / "reports"  # every run's output: generated, never committed


def state_root() -> Path:
    home = os.environ.get("REDIS_HA_LAB_HOME")
    return Path(home) if home else PROJECT_ROOT / ".lab"


@dataclass(frozen=True)
class LabPaths:
    home: Path  # this lab's own directory
    images: Path  # the shared image cache

    @classmethod
    def for_lab(cls, name: str) -> LabPaths:
        root = state_root()
        return cls(root / "labs" / name, root / "cache" / "images")

    @staticmethod
    def applied_labs() -> list[Path]:
        """The ``applied-lab.toml`` of every lab brought up from this checkout."""
        return sorted((state_root() / "labs").glob("*/applied-lab.toml"))

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
    def tls(self) -> Path:
        """The lab's CA and servers' certificates and keys ([security] tls)."""
        return self.home / "tls"

    @property
    def machines_json(self) -> Path:
        return self.home / "machines.json"

    @property
    def vagrant_dotfile(self) -> Path:
        return self.home / "vagrant"

    @property
    def applied_config(self) -> Path:
        return self.home / "applied-lab.toml"

    def ensure(self) -> None:
        for directory in (self.home, self.bundles, self.images, self.ssh_key.parent):
            directory.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o700)
