"""Workshop mode on the real lab: an exercise run with --auto while headless Chromium
watches the live page; the break-fix exercise; Ctrl-C in the middle of a step.

Two exercises run here (CI); every other shipped exercise runs with
``LAB_WORKSHOP_ALL=1`` (about 6 minutes); ``nox -s bench -- --what workshop`` measures the
page on happy-failover and zombie-master.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import pytest

from lab import probe
from lab.chaos import history, slo
from lab.chaos.judge import judge_history
from lab.paths import PROJECT_ROOT, REPORTS
from lab.report import browser, command
from lab.workshop import exercises
from tests.labs import status_once_settled

IN_CI = ["happy-failover", "break-fix-masterauth"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_workshop(lab, *args: str) -> tuple[subprocess.Popen, str, int]:
    run_id = f"test-workshop-{uuid.uuid4().hex[:8]}"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", "--config", str(lab.config_path), "workshop", *args,
         "--live-port", str(port), "--run-id", run_id],
        cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    return process, run_id, port


@pytest.mark.browser
def test_an_exercise_runs_unattended_while_the_page_shows_the_failover(chaos_lab):
    process, run_id, port = start_workshop(chaos_lab, "happy-failover", "--auto")
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
    reader.start()
    changes = browser.watch_text(f"http://127.0.0.1:{port}/", "#shard-1-master",
                                 until=lambda: process.poll() is not None, bound_s=600,
                                 ready_s=120)
    process.wait(timeout=120)
    reader.join(timeout=10)
    text = "".join(output)
    assert process.returncode == 0, text
    assert "\n" not in "".join(t for _, t in changes)

    run_dir = REPORTS / run_id
    results = json.loads((run_dir / "results.json").read_text())
    assert results["kind"] == "workshop" and results["complete"] is True
    step = results["workshop"][0]["steps"][1]
    events = history.read(run_dir / f"{step['scenario']}.jsonl")
    inject = next(e for e in events if e["type"] == "fault" and e["phase"] == "inject")
    heal = next(e for e in events if e["type"] == "fault" and e["phase"] == "heal")
    old_master = inject["target"]["instance"]
    promoted = next(e["instance"] for e in events if e["type"] == "role" and e["t"] > inject["t"]
                    and e["role"] == "master" and e["instance"] != old_master)
    # The page named the old master before the fault, and the promoted replica, alone,
    # while the fault was still on: from the observers' own events, within the fault.
    assert any(t < inject["t"] and shown == old_master for t, shown in changes), changes
    shown_new = [t for t, shown in changes if shown == promoted]
    assert shown_new and inject["t"] < shown_new[0] < heal["t"], (changes, inject, heal)

    # Prediction vs measured, the measured value the checker's (judged again here).
    judged = judge_history(events)
    measured = slo.values(judged.measures, judged.convergence)["writes_resumed_s"]
    assert step["measure"] == "writes_resumed_s" and step["measured"] == measured
    assert step["answer"] == "3 s" and step["answered_by"] == "auto"
    assert step["correct"] == (abs(3 - measured) <= 1.5)
    page = run_dir / "index.html"
    problems, check = command.verify(page)
    assert problems == []
    assert check.answers["workshop_steps"] == 2
    assert f'data-measured="{measured}"' in page.read_text()
    index = (REPORTS / "index.html").read_text()
    assert f'{run_id}/index.html' in index and "workshop" in index


def test_break_fix_starts_broken_takes_the_fix_and_proves_it(chaos_lab):
    process, run_id, _ = start_workshop(chaos_lab, "break-fix-masterauth", "--auto",
                                        "--no-live")
    output, _ = process.communicate(timeout=900)
    assert process.returncode == 0, output
    exercise = json.loads((REPORTS / run_id / "results.json").read_text())["workshop"][0]
    broken, fix, proof = exercise["steps"][1:]
    assert broken["measure"] == "convergence_s" and broken["measured"] is None  # never settled
    assert broken["correct"] is True  # --auto answers "no: something stays broken"
    assert fix["changed"] == ["redis.masterauth_on_masters"] and fix["how"] == "live"
    assert proof["check_held"] is True and proof["measures"]["convergence_s"] <= 30
    # Afterwards every instance has masterauth again (the lab's own settings).
    lab = chaos_lab.lab
    for instance in lab.topology.instances:
        with probe.client(*instance.address, chaos_lab.access) as r:
            assert r.config_get("masterauth")["masterauth"] == chaos_lab.password, instance


def test_ctrl_c_in_a_step_heals_stops_the_page_and_keeps_the_finished_steps(chaos_lab):
    process, run_id, port = start_workshop(chaos_lab, "happy-failover", "--auto")
    run_dir = REPORTS / run_id
    deadline = time.monotonic() + 180
    injected = False
    while time.monotonic() < deadline and not injected:
        injected = any('"phase": "inject"' in p.read_text() for p in run_dir.glob("*.jsonl"))
        time.sleep(0.2)
    assert injected, "the fault was never injected"
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=180)
    assert process.returncode == 130, output
    assert "live page stopped" in output
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/state", timeout=2)
    results = json.loads((run_dir / "results.json").read_text())
    assert results["complete"] is False and results["interrupted"] is True
    assert [s["action"] for s in results["workshop"][0]["steps"]] == ["narrate"]
    assert (run_dir / "index.html").is_file()
    status = status_once_settled(chaos_lab.config_path)
    assert status.returncode == 0, status.stdout
    assert "Fault leftovers: none" in status.stdout


OPT_IN = "LAB_WORKSHOP_ALL"


@pytest.mark.skipif(os.environ.get(OPT_IN) != "1",
                    reason=f"opt-in: every other shipped exercise, about 6 min "
                           f"({OPT_IN}=1); CI runs {', '.join(IN_CI)}")
@pytest.mark.parametrize("name", [n for n in exercises.load_all() if n not in IN_CI])
def test_every_other_shipped_exercise_runs_unattended(chaos_lab, name):
    process, run_id, _ = start_workshop(chaos_lab, name, "--auto", "--no-live")
    output, _ = process.communicate(timeout=1200)
    assert process.returncode == 0, output
    exercise = json.loads((REPORTS / run_id / "results.json").read_text())["workshop"][0]
    assert exercise["complete"] and exercise["error"] is None
    graded = [s for s in exercise["steps"] if s["question"]]
    assert graded and all(s["grade"] for s in graded)
