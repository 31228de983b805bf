"""The node images' clock shim (provision/node-image/lab-clock.c), compiled as the image
build compiles it and preloaded into a real process: its wall clock moves by the file's
seconds, read again within a second; its monotonic clock does not move."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lab.paths import NODE_IMAGE_DIR

PROBE = textwrap.dedent("""
    import json, sys, time
    out = []
    for step in range(2):
        out.append({"wall": time.time(), "mono": time.monotonic()})
        if step == 0:
            print("ready", flush=True)
            sys.stdin.readline()  # the test changes the offset, then says go
            time.sleep(1.2)  # the shim reads the file again at most once a second
    print(json.dumps(out), flush=True)
""")


def compiled(name: str, tmp_path_factory) -> Path:
    """The node image's shim ``name`` (``lab-clock``), compiled as the image build does."""
    if not shutil.which("gcc"):
        pytest.skip("skipped: gcc is not installed (scripts/setup-host installs it)")
    built = tmp_path_factory.mktemp("shim") / f"{name}.so"
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-shared", "-fPIC", "-o", str(built),
                    str(NODE_IMAGE_DIR / f"{name}.c")], check=True)
    return built


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    return compiled("lab-clock", tmp_path_factory)


def test_the_shim_moves_the_wall_clock_by_the_files_seconds_and_follows_it(shim, tmp_path):
    offset = tmp_path / "clock-offset"
    offset.write_text("+3600\n")
    probe = subprocess.Popen(
        [sys.executable, "-c", PROBE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, env={"LD_PRELOAD": str(shim), "LAB_CLOCK_OFFSET_FILE": str(offset)})
    assert probe.stdout.readline().strip() == "ready"
    import time
    real = time.time()
    offset.write_text("-60\n")
    probe.stdin.write("go\n")
    probe.stdin.flush()
    first, second = json.loads(probe.stdout.readline())
    probe.wait(timeout=10)
    assert 3590 < first["wall"] - real < 3610  # an hour ahead
    assert -70 < second["wall"] - time.time() < -50  # the new offset, a minute behind
    assert 1.1 < second["mono"] - first["mono"] < 5  # monotonic: only the real time passed


def test_without_an_offset_file_the_shim_keeps_the_real_time(shim, tmp_path):
    answer = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time())"], capture_output=True,
        text=True, check=True, env={"LD_PRELOAD": str(shim),
                                    "LAB_CLOCK_OFFSET_FILE": str(tmp_path / "none")})
    import time
    assert abs(float(answer.stdout) - time.time()) < 2
