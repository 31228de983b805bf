"""``nox -s workshop``: list the exercises, or run the named ones with the live page.

Everything that can be refused is refused before the lab is touched: an unknown or
broken exercise, an address this machine does not have, a taken port, real hosts without
``--i-accept-disruption``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

from lab import runs
from lab.context import Lab
from lab.errors import LabError
from lab.workshop import exercises as exercise_module
from lab.workshop.live import LiveServer, LiveState, check_bind
from lab.workshop.session import AutoRoom, TerminalRoom, Workshop

__all__ = ["list_exercises", "run"]

log = logging.getLogger(__name__)


def list_exercises() -> None:
    found = exercise_module.load_all()
    print("exercises (nox -s workshop -- NAME [NAME ...], or --all):")
    for name, exercise in found.items():
        predictions = sum(1 for s in exercise.steps if s.predict)
        print(f"  {name:<28} {exercise.minutes:>3} min  {len(exercise.steps)} steps, "
              f"{predictions} prediction(s)  {exercise.title}")


def run(args: argparse.Namespace, publish: Callable[[Path], None]) -> int:
    if args.list or not (args.exercises or args.all):
        list_exercises()
        return 0
    if args.all and args.exercises:
        raise LabError("name exercises or give --all, not both")
    chosen = list(exercise_module.load_all().values()) if args.all \
        else exercise_module.select(args.exercises)
    if not args.no_live:
        check_bind(args.bind, args.live_port)
    lab = Lab.load(args.config, prefer_applied=True)
    runs.require_up(lab)
    lab.require_consent(args.i_accept_disruption, "a workshop")
    live = LiveState(lab.topology)
    server = None if args.no_live else LiveServer(live, args.bind, args.live_port).start()
    if server:
        log.info(f"workshop: live page: {server.url}  (put it on the projector)")
    room = AutoRoom() if args.auto else TerminalRoom()
    try:
        return Workshop(lab, room, live, args.run_id, publish).run(chosen)
    finally:
        if server:
            server.stop()
            log.info("workshop: live page stopped")
