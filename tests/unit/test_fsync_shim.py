"""The node images' fsync shim (provision/node-image/lab-fsync.c), compiled as the image
build compiles it and preloaded into a real process: each fsync and fdatasync waits the
file's milliseconds, read again within a second; without the file, none."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.unit.test_clock_shim import compiled

# Times two syncs of a file: first with the delay the file says, then, once the test has
# written 0 and a second has passed (the shim reads the file at most once a second), again.
PROBE = textwrap.dedent("""
    import os, sys, time
    fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY)
    def timed():
        started = time.monotonic()
        os.fsync(fd)
        os.fdatasync(fd)
        return time.monotonic() - started
    print(timed(), flush=True)
    sys.stdin.readline()
    time.sleep(1.2)
    print(timed(), flush=True)
""")


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    return compiled("lab-fsync", tmp_path_factory)


def test_each_sync_waits_the_files_milliseconds_and_follows_it(shim, tmp_path):
    delay = tmp_path / "fsync-delay-ms"
    delay.write_text("400\n")
    probe = subprocess.Popen(
        [sys.executable, "-c", PROBE, str(tmp_path / "data")], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True,
        env={"LD_PRELOAD": str(shim), "LAB_FSYNC_DELAY_FILE": str(delay)})
    slow = float(probe.stdout.readline())
    delay.write_text("0\n")
    probe.stdin.write("go\n")
    probe.stdin.flush()
    fast = float(probe.stdout.readline())
    probe.wait(timeout=10)
    assert slow >= 0.8  # fsync and fdatasync, 400 ms each (a sleep is never shorter)
    assert fast < 0.4  # no delay any more: nothing near one sync's 400 ms


def test_without_a_delay_file_syncs_are_not_slowed(shim, tmp_path):
    answer = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "data")], input="go\n",
        capture_output=True, text=True, check=True,
        env={"LD_PRELOAD": str(shim), "LAB_FSYNC_DELAY_FILE": str(tmp_path / "none")})
    assert all(float(t) < 0.4 for t in answer.stdout.split())
