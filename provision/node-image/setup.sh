#!/bin/sh
# Run in the chroot of every node image (Redis, Sentinel) by lab.images, after the
# builder compiled this directory's C sources on the host: lab-clock.so, which every lab
# Sentinel runs preloaded with, and lab-fsync.so, every lab Redis instance
# (lab-entrypoint.sh).
set -eu
install -m 0644 /tmp/lab-setup/lab-clock.so /usr/local/lib/lab-clock.so
install -m 0644 /tmp/lab-setup/lab-fsync.so /usr/local/lib/lab-fsync.so
