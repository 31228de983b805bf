"""How a machine gets a Docker engine and a compose command, per OS: the steps as data.

:func:`install_plan` takes a machine's ``/etc/os-release`` and answers the named command
sequence that installs the engine there:

* Debian and Ubuntu: from the machine's own apt sources (Debian 13 split the CLI out of
  ``docker.io`` into ``docker-cli``, only a Recommends, and its ``docker-compose`` is
  Compose v2);
* CentOS 7: the end-of-life mirrors swapped for the vault, then Docker CE 26.1 (its last
  release line for el7) with the compose plugin;
* EL9 (Rocky, Alma, RHEL, CentOS Stream): ``docker-ce`` and the compose plugin from
  Docker's repository.

:mod:`lab.provision` runs the steps one at a time over Fabric, so a failure names the host
and the step. The Debian package lists are also what the machine image is built from
(:mod:`lab.images`): one definition of "the engine on Debian N".
"""

from __future__ import annotations

from dataclasses import dataclass

DOCKER_CE_EL7 = "26.1.4"  # Docker CE's last release line for el7
DOCKER_CE_REPO = "https://download.docker.com/linux/centos/docker-ce.repo"
# Debian's release codenames the machine image can be built from, and their versions.
DEBIAN_RELEASES = {"bookworm": 12, "trixie": 13}
# Besides the engine: iptables for the network faults, redis-cli for the faults that
# speak to an instance from its own machine.
DEBIAN_LAB_TOOLS = ("iptables", "redis-tools")
_YUM = "yum install -y -q --setopt=skip_missing_names_on_install=False"


@dataclass(frozen=True)
class OsRelease:
    """What ``/etc/os-release`` says about a machine."""

    id: str
    version_id: str = ""
    id_like: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> OsRelease:
        values = {key: value.strip().strip('"') for key, _, value in
                  (line.partition("=") for line in text.splitlines() if "=" in line)}
        return cls(values.get("ID", "unknown"), values.get("VERSION_ID", ""),
                   tuple(values.get("ID_LIKE", "").split()))

    @property
    def label(self) -> str:
        """``debian-12``, ``centos-7``, ``rocky-9.4``."""
        return f"{self.id}-{self.version_id}" if self.version_id else self.id

    @property
    def major(self) -> int:
        head = self.version_id.split(".")[0]
        return int(head) if head.isdigit() else 0

    def is_like(self, *families: str) -> bool:
        return self.id in families or any(f in self.id_like for f in families)


@dataclass(frozen=True)
class Step:
    """One named command of an install; its name is what an error cites."""

    name: str
    command: str


def debian_engine_packages(version: int) -> tuple[str, ...]:
    """The packages that give Debian ``version`` a Docker engine, its CLI and compose
    (installed without Recommends, so every one is named)."""
    cli = ("docker-cli",) if version >= 13 else ()  # in docker.io itself up to Debian 12
    return ("docker.io", *cli, "docker-compose")


def install_plan(os: OsRelease) -> tuple[Step, ...] | None:
    """The steps that install the engine and compose on ``os``; None where unsupported."""
    if os.id == "debian":  # testing/sid have no VERSION_ID: as the newest release
        return _apt(debian_engine_packages(os.major or max(DEBIAN_RELEASES.values())))
    if os.is_like("debian") and os.id != "ubuntu":  # a derivative: as Debian 12
        return _apt(debian_engine_packages(12))
    if os.id == "ubuntu":
        compose = "docker-compose-v2" if os.major >= 22 else "docker-compose"
        return _apt(("docker.io", compose))
    if os.id == "centos" and os.major == 7:
        # yum skips names it cannot find unless told not to: a missing package must fail.
        return (
            # CentOS 7 is end-of-life: its mirrors moved to vault.centos.org.
            Step("vault repositories",
                 "sed -i -e 's|^mirrorlist=|#mirrorlist=|' -e "
                 "'s|^#\\?baseurl=http://mirror.centos.org|baseurl=http://vault.centos.org|' "
                 "/etc/yum.repos.d/CentOS-*.repo"),
            Step("yum-utils", f"{_YUM} yum-utils iptables"),
            Step("Docker CE repository", f"yum-config-manager --add-repo {DOCKER_CE_REPO}"),
            Step(f"Docker CE {DOCKER_CE_EL7}",
                 f"{_YUM} docker-ce-{DOCKER_CE_EL7} docker-ce-cli-{DOCKER_CE_EL7} "
                 "containerd.io docker-compose-plugin"),
        )
    if os.is_like("rhel", "centos", "fedora") and os.major == 9:
        return (
            Step("dnf-plugins-core", "dnf install -y -q dnf-plugins-core iptables"),
            Step("Docker CE repository", f"dnf config-manager --add-repo {DOCKER_CE_REPO}"),
            Step("docker-ce", "dnf install -y -q docker-ce docker-ce-cli containerd.io "
                              "docker-compose-plugin"),
        )
    return None


# Starting the engine is the same everywhere: systemd where it is PID 1 (VMs), else the
# daemon itself (a container machine), unless a package's own scripts started it already.
START_ENGINE = Step(
    "start the engine",
    "if [ -d /run/systemd/system ]; then systemctl enable --now docker; "
    "elif ! pgrep -x dockerd >/dev/null; then "
    "nohup dockerd >/var/log/dockerd.log 2>&1 </dev/null & fi")
# What a failed install stops again, so nothing half-installed is left running.
STOP_ENGINE = Step(
    "stop the engine",
    "if [ -d /run/systemd/system ]; then systemctl disable --now docker docker.socket; "
    "else pkill -x dockerd; fi; true")


def _apt(packages: tuple[str, ...]) -> tuple[Step, ...]:
    wanted = " ".join((*packages, *DEBIAN_LAB_TOOLS))
    return (
        # apt-get update exits 0 when a source cannot be fetched (no network): its "Failed
        # to fetch" lines fail the step here, rather than the install after it.
        Step("apt-get update",
             "apt-get update -q 2>&1 | awk '{print} /^(E:|W: Failed to fetch)/{bad=1} "
             "END{exit bad}'"),
        Step(f"apt-get install {wanted}",
             "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
             + wanted),
    )
