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


def test_the_suite_s_prebuild_asks_for_each_selected_lab_s_images_once(monkeypatch):
    """tests/labs.py's ImagePrebuild: the article and spread labs share the machine image;
    a failed build is reported, never raised in the background thread."""
    from tests.labs import ImagePrebuild

    asked = []
    monkeypatch.setattr(images, "ensure",
                        lambda recipes, paths: asked.append([r.name for r in recipes])
                        or {r.name: 1.0 for r in recipes})
    prebuild = ImagePrebuild({"article", "e2e", "unknown-group"}).start()
    assert prebuild.wait() == "3 of 3 built in 0 s"
    assert sorted(asked[0]) == ["base-redis-7.0", "base-valkey-8.1", "machine"]

    def broken(recipes, paths):
        raise images.PreflightError("mmdebstrap is not installed\nsecond line")

    monkeypatch.setattr(images, "ensure", broken)
    assert ImagePrebuild({"inventory"}).start().wait() == \
        "failed (PreflightError: mmdebstrap is not installed)"
    assert ImagePrebuild(set()).start().wait() == ""  # no lab test selected: nothing
