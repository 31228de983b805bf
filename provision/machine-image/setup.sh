#!/bin/sh
# Runs once inside the machine image's chroot (lab.images): turns a bootstrapped Debian
# into a Vagrant docker-provider machine: sshd, the vagrant user, Docker-in-Docker (a
# bare machine has no engine yet: lab_up installs it over SSH, into the settings below).
set -eu
here=/tmp/lab-setup

if getent group docker >/dev/null; then
    useradd --create-home --shell /bin/bash --groups docker vagrant
else
    useradd --create-home --shell /bin/bash vagrant
fi
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/vagrant
chmod 0440 /etc/sudoers.d/vagrant
install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.ssh

# Host keys are made at first boot (lab-machine-init), never baked into the image.
rm -f /etc/ssh/ssh_host_*
cat > /etc/ssh/sshd_config.d/lab.conf <<'CONF'
PasswordAuthentication no
PermitRootLogin no
UseDNS no
CONF

# The inner engine: host networking only, so no bridge and no iptables rules of its own;
# the lab's chaos rules are the only ones in the machine's tables.
mkdir -p /etc/docker
cat > /etc/docker/daemon.json <<'CONF'
{"storage-driver": "overlay2", "bridge": "none", "iptables": false, "ip-forward": false,
 "log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "2"}}
CONF

install -m 0755 "$here/lab-machine-init" /usr/local/sbin/lab-machine-init
