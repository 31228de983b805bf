"""The recorded-run sequence (lab/recorded.py) that chaos, replay, the workshop and the
matrix share: SIGTERM is an interrupt, an interrupt is marked and goes on up, and on every
exit what was opened is closed, then the record written, then the run finished."""

from __future__ import annotations

import os
import signal
import time
from types import SimpleNamespace

import pytest

from lab.recorded import RecordedRun


class Thing:
    def __init__(self, name, steps, fails=False):
        self.name, self.steps, self.fails = name, steps, fails

    def close(self):
        self.steps.append(f"close {self.name}")
        if self.fails:
            raise RuntimeError(f"{self.name} would not close")


def run(steps, record):
    return RecordedRun(record, lambda: steps.append("write"), "test: interrupted",
                       lambda: steps.append("finish"))


def test_a_finished_run_closes_writes_and_finishes_in_that_order():
    steps, record = [], SimpleNamespace(interrupted=False)
    with run(steps, record) as recorded:
        recorded.closing(Thing("session", steps))
        recorded.closing(Thing("page", steps))
        steps.append("work")
    assert steps == ["work", "close page", "close session", "write", "finish"]
    assert record.interrupted is False


def test_sigterm_is_an_interrupt_marked_on_the_record_and_the_handler_is_put_back():
    steps, record = [], SimpleNamespace(interrupted=False)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), run(steps, record) as recorded:
        recorded.closing(Thing("session", steps))
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the signal ends this wait
        steps.append("never")
    assert record.interrupted is True
    assert steps == ["close session", "write", "finish"]
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_error_is_not_marked_interrupted_and_a_failed_close_still_writes():
    steps, record = [], SimpleNamespace(interrupted=False)
    with pytest.raises(ValueError), run(steps, record) as recorded:
        recorded.closing(Thing("session", steps))
        raise ValueError("the run broke")
    assert record.interrupted is False and steps == ["close session", "write", "finish"]

    steps.clear()
    with pytest.raises(RuntimeError, match="page would not close"), \
            run(steps, record) as recorded:
        recorded.closing(Thing("session", steps))
        recorded.closing(Thing("page", steps, fails=True))
    assert steps == ["close page", "close session", "write", "finish"]
