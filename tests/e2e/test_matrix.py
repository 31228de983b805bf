"""``nox -s matrix`` on a real lab: two engines, two scenarios, one page read back in
headless Chromium; the lab ends on the engine it started with."""

import json
import uuid

from lab.paths import REPORTS
from lab.report import command
from lab.versions import engine_version
from tests.labs import run_lab, status_once_settled


def test_the_matrix_runs_each_engine_and_its_page_shows_every_cell(spread_lab):
    matrix_id = f"test-matrix-{uuid.uuid4().hex[:8]}"
    result = run_lab("matrix", "--engines", "redis-7.0,valkey-8.1", "-k", "crash-master",
                     "-k", "pause-master", "--run-id", matrix_id, config=spread_lab.config_path,
                     timeout=1500)
    assert result.returncode == 0, result.stderr
    record = json.loads((REPORTS / matrix_id / "matrix.json").read_text())
    assert record["complete"] and [r["engine"] for r in record["runs"]] == ["redis-7.0",
                                                                           "valkey-8.1"]
    # Each run measured the engine it names (asked of the running servers, not assumed).
    versions = [json.loads((REPORTS / r["run_id"] / "results.json").read_text())
                ["lab"]["versions"]["engine"] for r in record["runs"]]
    assert versions[0].startswith("redis 7.0.") and versions[1].startswith("valkey 8.1.")
    assert record["runs"][0]["switched"] == "re-provisioned"  # the spread lab runs Valkey

    problems, check = command.verify(REPORTS / matrix_id / "index.html")
    assert problems == []
    cells = {(c["engine"], c["scenario"]): c for c in check.answers["cells"]}
    assert set(cells) == {(e, s) for e in ("redis-7.0", "valkey-8.1")
                          for s in ("crash-master", "pause-master")}
    for (engine, scenario), cell in cells.items():
        assert cell["status"] in ("pass", "finding"), (engine, scenario, cell)
        assert "outage" in cell["text"] and " s" in cell["text"], cell
    for engine in ("redis-7.0", "valkey-8.1"):  # Sentinel failed the frozen master over
        assert "failover\t-" not in cells[(engine, "pause-master")]["text"]

    # Back where it started: the lab runs Valkey 8.1 again, settled.
    assert "valkey-8.1" in record["restored"] and "stayed" in record["restored"]
    assert status_once_settled(spread_lab.config_path).returncode == 0
    master = spread_lab.lab.topology.shards[0].initial_master
    assert engine_version(master.address, spread_lab.password).startswith("valkey 8.1.")
