"""The recorded-run sequence, written once: what chaos, replay, the workshop and the
matrix do around their work so that a run ends the same way however it ends.

- SIGTERM is an interrupt like Ctrl-C (a CI runner's cancel, ``kill``);
- an interrupt marks the record ``interrupted`` and says so, then goes on up (exit 130);
- on every exit, in this order: what the run opened is closed (a chaos session heals its
  faults), the record is written, and the run's ``finish`` runs (its summary, the report).

The record is whatever the run keeps (a ``RunRecord``, a ``MatrixRecord``): this module
needs only its ``interrupted`` flag and the ``write`` it is given.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["RecordedRun"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class RecordedRun:
    """``with RecordedRun(record, write, "chaos: interrupted: healing the lab", finish) as
    run:``; ``run.closing(thing)`` has ``thing.close()`` called on the way out, before the
    record is written (the last registered first)."""

    def __init__(self, record: Any, write: Callable[[], None], interrupted_says: str,
                 finish: Callable[[], None] = lambda: None) -> None:
        self.record = record
        self._write = write
        self._interrupted_says = interrupted_says
        self._finish = finish
        self._closers: list[Callable[[], None]] = []
        self._previous: Any = None

    def closing(self, thing: T) -> T:
        self._closers.append(thing.close)
        return thing

    def __enter__(self) -> RecordedRun:
        self._previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        try:
            if kind is not None and issubclass(kind, KeyboardInterrupt):
                self.record.interrupted = True
                log.info(self._interrupted_says)
            self._close_all()
        finally:
            signal.signal(signal.SIGTERM, self._previous)
            try:
                self._write()
            finally:
                self._finish()
        return False  # whatever ended the run goes on up

    def _close_all(self) -> None:
        """Close everything, the last opened first; the first error is raised after all."""
        failure = None
        for close in reversed(self._closers):
            try:
                close()
            except BaseException as exc:  # noqa: BLE001 - every closer must get its turn
                failure = failure or exc
        if failure is not None:
            raise failure


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt
