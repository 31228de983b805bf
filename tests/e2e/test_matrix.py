"""``nox -s matrix`` on a real lab (the spread lab: TLS and ACL users): two engines x two
routes, one scenario, one page read back in headless Chromium; the lab ends on the
engine it started with."""

import json

from lab.paths import REPORTS
from lab.report import command
from lab.versions import engine_version
from tests.labs import status_once_settled

VARIANTS = [f"{e} · {r}" for e in ("redis-7.0", "valkey-8.1")
            for r in ("haproxy", "haproxy-sentinel")]


def test_the_matrix_runs_each_variant_and_its_page_shows_every_cell(spread_lab, spread_matrix):
    matrix_id, result = spread_matrix.matrix_id, spread_matrix.process
    assert result.returncode == 0, result.stderr
    record = json.loads((REPORTS / matrix_id / "matrix.json").read_text())
    assert record["complete"] and [r["label"] for r in record["runs"]] == VARIANTS
    # Each run measured the engine it names (asked of the running servers, not assumed).
    results = {r["label"]: json.loads((REPORTS / r["run_id"] / "results.json").read_text())
               for r in record["runs"]}
    versions = [results[v]["lab"]["versions"]["engine"] for v in VARIANTS]
    assert all(v.startswith("redis 7.0.") for v in versions[:2])
    assert all(v.startswith("valkey 8.1.") for v in versions[2:])
    # The lab switches engine once per engine; a route only changes the clients.
    assert [r["switched"] for r in record["runs"]] == ["re-provisioned", "nothing",
                                                      "re-provisioned", "nothing"]

    # The resumed master answers role:master for about ten seconds: plain HAProxy takes it
    # back in (two UP), the Sentinel-checked one does not, whatever the engine.
    for variant, data in results.items():
        [pause] = data["scenarios"]
        assert data["options"]["route"] == variant.split(" · ")[1]
        two_up = pause["measures"]["1"]["split_brain_haproxy_s"]
        assert pause["measures"]["1"]["split_brain_roles_s"] > 5, variant
        if variant.endswith("haproxy-sentinel"):
            assert two_up < 1.0, (variant, two_up)
        else:
            assert two_up > 5, (variant, two_up)

    problems, check = command.verify(REPORTS / matrix_id / "index.html")
    assert problems == []
    cells = {(c["variant"], c["scenario"]): c for c in check.answers["cells"]}
    assert set(cells) == {(v, "pause-master") for v in VARIANTS}
    for (variant, scenario), cell in cells.items():
        assert cell["status"] in ("pass", "finding"), (variant, scenario, cell)
        assert "outage" in cell["text"] and "failover\t-" not in cell["text"], cell

    # Back where it started: the lab runs Valkey 8.1 again, settled.
    assert "valkey-8.1" in record["restored"] and "stayed" in record["restored"]
    assert status_once_settled(spread_lab.config_path).returncode == 0
    master = spread_lab.lab.topology.shards[0].initial_master
    assert engine_version(master.address, spread_lab.access).startswith("valkey 8.1.")
