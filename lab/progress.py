"""How the lab shows progress: its modules log through ``logging`` (``lab.*`` loggers);
an entry point (the CLI, the bench) decides where the lines go and how loud they are."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["lowered", "quiet", "show_progress"]


def show_progress() -> None:
    """The lab's own progress lines, plain, on stdout; other libraries' (paramiko's
    "Connected ...") only from warnings up."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stdout)
    logging.getLogger("lab").setLevel(logging.INFO)


@contextmanager
def quiet() -> Iterator[None]:
    """The lab's progress lines stay out for the ``with`` body (the bench prints what it
    measured instead)."""
    with lowered("lab", logging.WARNING):
        yield


@contextmanager
def lowered(name: str, level: int) -> Iterator[None]:
    """Logger ``name`` shows only ``level`` and up for the ``with`` body."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)
