"""Fake bare hosts, one per OS the lab installs Docker on.

Each answers provisioning's commands as that OS would (its ``os-release``, its package
manager's messages, ``docker version``) and keeps the state those commands change
(repositories, installed packages, a running engine), so an install sequence missing a
step, or a host without network, sudo or a package, fails here as it would on the real
host. What is modelled is only what :mod:`lab.provision` asks; anything else answers
"command not found".
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from lab.config import Server
from lab.engine_install import START_ENGINE, STOP_ENGINE
from lab.errors import RemoteCommandError


@dataclass(frozen=True)
class Package:
    commands: tuple[str, ...] = ()  # what it installs ("docker", "compose-plugin", ...)
    repo: str = "base"  # the repository that offers it


@dataclass
class FakeHost:
    """A machine with no Docker engine yet, as one OS ships it."""

    server: Server
    os_release: str
    manager: str  # "apt", "yum" or "dnf"
    catalogue: dict[str, Package]
    systemd: bool = True
    versions: dict[str, str] = field(default_factory=dict)  # "engine", "compose"
    network: bool = True
    sudo_ok: bool = True
    use_sudo: bool = True
    repos: set[str] = field(default_factory=lambda: {"base"})
    base_repo_reachable: bool = True  # False: CentOS 7's dead mirrorlist
    apt_lists: bool = False
    installed: set[str] = field(default_factory=set)
    engine_running: bool = False
    commands: list[str] = field(default_factory=list)

    # -- the Machine interface provisioning uses ----------------------------------------

    def run(self, command: str, *, sudo: bool = True, check: bool = True,
            timeout: float | None = 600) -> str:
        stdout, status = self._answer(command, sudo)
        if check and status != 0:
            raise RemoteCommandError(
                f"{self.server.name}: `{command}` failed (exit {status}):\n{stdout}")
        return stdout

    def ok(self, command: str, *, sudo: bool = True) -> bool:
        return self._answer(command, sudo)[1] == 0

    def put(self, local, remote: str) -> None:
        pass

    def ran(self, pattern: str) -> list[str]:
        return [c for c in self.commands if re.search(pattern, c)]

    # -- the OS --------------------------------------------------------------------------

    def _answer(self, command: str, sudo: bool) -> tuple[str, int]:
        self.commands.append(command)
        if command == "cat /etc/os-release":
            return self.os_release, 0
        if sudo and self.use_sudo and not self.sudo_ok:
            return "sudo: a password is required", 1
        if command == "true":
            return "", 0
        if command == START_ENGINE.command:
            return self._start_engine()
        if command == STOP_ENGINE.command:
            self.engine_running = False
            return "", 0
        probe = re.match(r"command -v (\S+) >/dev/null$", command)
        if probe:
            return "", 0 if probe.group(1) in self.installed else 1
        if command.startswith("docker"):
            return self._docker(command)
        if command.startswith("apt-get update"):
            return self._apt_update()
        if "apt-get install" in command:
            return self._install(_names(command.split("apt-get install", 1)[1]))
        if command.startswith("yum install") or command.startswith("dnf install"):
            return self._install(_names(command.split("install", 1)[1]))
        if command.startswith("sed -i") and "vault.centos.org" in command:
            self.base_repo_reachable = True
            return "", 0
        if "--add-repo" in command:
            return self._add_repo(command)
        return f"sh: 1: {command.split()[0]}: not found", 127

    def _start_engine(self) -> tuple[str, int]:
        if "dockerd" not in self.installed:
            if self.systemd:
                return "Failed to enable unit: Unit file docker.service does not exist.", 1
            return "", 0  # `nohup dockerd &` fails in the background
        self.engine_running = True
        return "", 0

    def _docker(self, command: str) -> tuple[str, int]:
        if "docker" not in self.installed and not command.startswith("docker-compose"):
            return "sh: 1: docker: not found", 127
        if command.startswith("docker info"):
            return ("", 0) if self.engine_running else (
                "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.", 1)
        if command.startswith("docker version"):
            return self.versions.get("engine", "?") + "\n", 0 if self.engine_running else 1
        if command.startswith("docker compose"):
            if "compose-plugin" not in self.installed:
                return "docker: 'compose' is not a docker command.", 1
            return self.versions.get("compose", "?") + "\n", 0
        if command.startswith("docker-compose"):
            if "docker-compose" not in self.installed:
                return "sh: 1: docker-compose: not found", 127
            return self.versions.get("compose", "?") + "\n", 0
        return "", 0

    def _apt_update(self) -> tuple[str, int]:
        if not self.network:
            return ("W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease"
                    "  Temporary failure resolving 'deb.debian.org'\nW: Some index files "
                    "failed to download. They have been ignored, or old ones used instead.", 1)
        self.apt_lists = True
        return "Reading package lists...", 0

    def _install(self, names: list[str]) -> tuple[str, int]:
        if self.manager == "yum" and not self.base_repo_reachable:
            return ("Could not retrieve mirrorlist http://mirrorlist.centos.org/?release=7&"
                    "arch=x86_64&repo=os&infra=stock error was\n14: curl#6 - \"Could not "
                    "resolve host: mirrorlist.centos.org; Unknown error\"\nCannot find a "
                    "valid baseurl for repo: base/7/x86_64", 1)
        if not self.network and self.manager != "apt":
            return {"yum": "Cannot find a valid baseurl for repo: base/7/x86_64",
                    "dnf": "Error: Failed to download metadata for repo 'appstream': Cannot "
                           "prepare internal mirrorlist"}[self.manager], 1
        for name in names:
            package = self.catalogue.get(name)
            offered = package is not None and package.repo in self.repos and (
                self.manager != "apt" or self.apt_lists)
            if not offered:
                return {
                    "apt": f"Reading package lists...\nE: Unable to locate package {name}",
                    "yum": f"No package {name} available.\nError: Nothing to do",
                    "dnf": f"No match for argument: {name}\nError: Unable to find a match: "
                           f"{name}",
                }[self.manager], 100 if self.manager == "apt" else 1
        for name in names:
            self.installed.update(self.catalogue[name].commands)
        return "", 0

    def _add_repo(self, command: str) -> tuple[str, int]:
        tool = "yum-config-manager" if command.startswith("yum-config-manager") else \
            "dnf-config-manager"
        if tool not in self.installed:
            if tool == "dnf-config-manager":
                return "No such command: config-manager. Please use /usr/bin/dnf --help", 1
            return "sh: yum-config-manager: command not found", 127
        if not self.network:
            return ("Could not fetch/save url https://download.docker.com/linux/centos/"
                    "docker-ce.repo to file: [Errno 14] curl#6 - \"Could not resolve host\"", 1)
        self.repos.add("docker-ce")
        return "Adding repo from: https://download.docker.com/linux/centos/docker-ce.repo", 0


def _names(arguments: str) -> list[str]:
    return [word for word in shlex.split(arguments) if not word.startswith("-")]


# -- the OSes --------------------------------------------------------------------------

_DEBIAN_TOOLS = {"iptables": Package(("iptables",)), "redis-tools": Package(("redis-cli",))}
_DOCKER_CE = {
    "containerd.io": Package(("containerd",), "docker-ce"),
    "docker-compose-plugin": Package(("compose-plugin",), "docker-ce"),
}


def debian_12(server: Server, **kw) -> FakeHost:
    return FakeHost(server, 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'
                    'VERSION_ID="12"\nVERSION_CODENAME=bookworm\n', "apt", {
                        "docker.io": Package(("dockerd", "docker")),
                        "docker-compose": Package(("docker-compose",)),
                        **_DEBIAN_TOOLS,
                    }, systemd=False, versions={"engine": "20.10.24+dfsg1",
                                                "compose": "1.29.2"}, **kw)


def debian_13(server: Server, **kw) -> FakeHost:
    """Debian 13: the CLI is a package of its own, and docker-compose is Compose v2."""
    return FakeHost(server, 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\n'
                    'VERSION_ID="13"\nVERSION_CODENAME=trixie\n', "apt", {
                        "docker.io": Package(("dockerd",)),
                        "docker-cli": Package(("docker",)),
                        "docker-compose": Package(("docker-compose", "compose-plugin")),
                        **_DEBIAN_TOOLS,
                    }, systemd=False, versions={"engine": "26.1.5+dfsg1",
                                                "compose": "2.26.1"}, **kw)


def ubuntu_24(server: Server, **kw) -> FakeHost:
    return FakeHost(server, 'NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\n',
                    "apt", {
                        "docker.io": Package(("dockerd", "docker")),
                        "docker-compose-v2": Package(("compose-plugin",)),
                        **_DEBIAN_TOOLS,
                    }, versions={"engine": "24.0.7", "compose": "2.24.6"}, **kw)


def centos_7(server: Server, **kw) -> FakeHost:
    """CentOS 7 as a box ships it today: the mirrorlist is gone (EOL)."""
    return FakeHost(server, 'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\n'
                    'ID_LIKE="rhel fedora"\nVERSION_ID="7"\n', "yum", {
                        "yum-utils": Package(("yum-config-manager",)),
                        "iptables": Package(("iptables",)),
                        "docker-ce-26.1.4": Package(("dockerd",), "docker-ce"),
                        "docker-ce-cli-26.1.4": Package(("docker",), "docker-ce"),
                        **_DOCKER_CE,
                    }, base_repo_reachable=False,
                    versions={"engine": "26.1.4", "compose": "2.27.1"}, **kw)


def rocky_9(server: Server, **kw) -> FakeHost:
    return FakeHost(server, 'NAME="Rocky Linux"\nVERSION="9.4 (Blue Onyx)"\nID="rocky"\n'
                    'ID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n', "dnf", {
                        "dnf-plugins-core": Package(("dnf-config-manager",)),
                        "iptables": Package(("iptables",)),
                        "docker-ce": Package(("dockerd",), "docker-ce"),
                        "docker-ce-cli": Package(("docker",), "docker-ce"),
                        **_DOCKER_CE,
                    }, versions={"engine": "27.3.1", "compose": "2.29.7"}, **kw)


OSES = {"debian-12": debian_12, "debian-13": debian_13, "ubuntu-24.04": ubuntu_24,
        "centos-7": centos_7, "rocky-9.4": rocky_9}
