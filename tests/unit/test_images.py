"""The image cache on a host where two labs come up at once (two test workers)."""

from __future__ import annotations

import threading
import time

from lab import images
from lab.paths import LabPaths


def test_two_builders_take_turns_so_an_image_is_never_built_twice_at_once(tmp_path,
                                                                           monkeypatch):
    inside, overlaps = [], []

    def build(recipes, paths):
        if inside:
            overlaps.append(recipes)
        inside.append(recipes)
        time.sleep(0.2)
        inside.remove(recipes)
        return {}

    monkeypatch.setattr(images, "_ensure", build)
    paths = LabPaths(tmp_path / "labs" / "x", tmp_path / "cache" / "images")
    workers = [threading.Thread(target=images.ensure, args=((name,), paths))
               for name in ("first", "second")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=10)
    assert overlaps == [] and inside == []
