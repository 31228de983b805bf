"""The versions a run records, asked of every machine at once (without a lab)."""

from __future__ import annotations

import threading

from lab import versions


def test_every_machine_is_asked_at_once_and_distinct_answers_keep_their_order():
    barrier = threading.Barrier(3, timeout=5)  # asked one after another, it would break

    def ask(machine: str) -> str:
        barrier.wait()
        if machine == "redis3":
            raise ConnectionError("cut off")
        return {"redis1": "HAProxy version 2.6.12", "redis2": "HAProxy version 2.6.12"}[machine]

    assert versions._distinct(ask, ["redis1", "redis2", "redis3"]) == \
        "HAProxy version 2.6.12 / unknown (ConnectionError)"
    assert versions._distinct(ask, []) == "unknown"
