"""What the observers read, without a lab: HAProxy's stats answer (recorded from the article
lab's redis1), one cut short by a fault, and an observer that meets an error it did not
foresee (the 60-minute search of issue 22 lost its HAProxy observer to one)."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from lab.access import Access
from lab.chaos.observers import Observers
from lab.probe import parse_stats

STATS = (Path(__file__).parent.parent / "data" / "haproxy-stats.csv").read_text()


def test_a_whole_stats_answer_names_each_backends_up_servers():
    up = parse_stats(STATS)
    assert up["shard1_master"] == ["redis1_6379"]
    assert up["shard1_replicas"] == ["redis1_6380", "redis1_6381"]
    assert up["shard1_master_checked"] == ["redis1_6379_by_1_2", "redis1_6379_by_1_3",
                                           "redis1_6379_by_2_3"]
    assert "stats" not in up and not any(b.startswith("shard1_redis1") for b in up)


@pytest.mark.parametrize("cut", [
    STATS.index("shard1_replicas,redis1_6380,") + 40,  # in the middle of a line
    STATS.index("shard1_replicas,redis1_6380,") + 17,  # before the status column
])
def test_an_answer_cut_short_is_an_error_not_servers_down(cut):
    with pytest.raises(ValueError, match="cut short"):
        parse_stats(STATS[:cut])


class _History:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def record(self, kind: str, **fields) -> None:
        self.events.append((kind, fields))


def test_an_observer_that_breaks_is_recorded_and_starts_again():
    observers = Observers(None, None, Access(), _History())
    calls = []

    def _haproxy(server):
        calls.append(server.name)
        if len(calls) == 1:
            raise AttributeError("'NoneType' object has no attribute 'startswith'")
        observers._stop.set()  # the second run watches until stopped

    thread = threading.Thread(target=observers._guarded,
                              args=(_haproxy, SimpleNamespace(name="redis1")))
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive() and calls == ["redis1", "redis1"]
    assert observers.history.events == [("observer_error", {
        "observer": "haproxy redis1",
        "error": "AttributeError: 'NoneType' object has no attribute 'startswith'"})]
