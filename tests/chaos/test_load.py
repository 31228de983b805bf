"""Locust through HAProxy against the CI lab: alone, with two processes, and during a fault."""

import csv
import json
from pathlib import Path

from tests.chaos.conftest import scenario
from tests.labs import recorded, run_lab, write_config

PORTS = {f"{op} :{port}" for op, port in (("SET", 5000), ("GET", 5001), ("SET", 5002),
                                           ("GET", 5003), ("SET", 5004), ("GET", 5005))}


def rows(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_load_reports_every_port_with_throughput(chaos_lab):
    result = recorded("load", "--users", "6", "--spawn-rate", "6", "--run-time", "10s",
                      config=chaos_lab.config_path)
    assert result.returncode == 0, result.stdout + result.process.stderr
    out = result.run_dir
    stats = {r["Name"]: r for r in rows(out / "locust_stats.csv") if r["Name"] != "Aggregated"}
    assert set(stats) == PORTS
    for name, row in stats.items():
        assert int(row["Request Count"]) > 0 and float(row["Requests/s"]) > 0, name
    history = rows(out / "locust_stats_history.csv")
    assert {r["Name"] for r in history} >= PORTS  # full history, per port
    assert (out / "locust.html").stat().st_size > 10_000
    for f in out.iterdir():
        assert chaos_lab.password not in f.read_text(errors="replace"), f"{f} leaks it"


def test_load_along_the_other_routes_names_the_route_in_its_csv(chaos_lab):
    expected = {"sentinel-client": {f"{op} shard{n}" for op in ("SET", "GET") for n in (1, 2, 3)},
                "haproxy-sentinel": {f"{op} :{port}" for op, port in (
                    ("SET", 5100), ("GET", 5001), ("SET", 5101), ("GET", 5003), ("SET", 5102),
                    ("GET", 5005))}}
    for route, names in expected.items():
        result = recorded("load", "--route", route, "--users", "6", "--spawn-rate", "6",
                          "--run-time", "6s", config=chaos_lab.config_path)
        assert result.returncode == 0, result.stdout + result.process.stderr
        stats = [r for r in rows(result.run_dir / "locust_stats.csv") if r["Name"] != "Aggregated"]
        assert {r["Name"] for r in stats if int(r["Request Count"]) > 0} == names, route
        assert {r["Type"] for r in stats} == {route}
        assert all(int(r["Failure Count"]) == 0 for r in stats), route


def test_two_locust_processes(chaos_lab):
    result = recorded("load", "--users", "4", "--spawn-rate", "4", "--run-time", "8s",
                      "--processes", "2", config=chaos_lab.config_path)
    assert result.returncode == 0, result.stdout + result.process.stderr
    stats = rows(result.run_dir / "locust_stats.csv")
    assert {r["Name"] for r in stats if int(r["Request Count"]) > 0} >= PORTS
    assert "2 process(es)" in result.stdout


def test_bad_load_input(chaos_lab, tmp_path):
    zero = run_lab("load", "--users", "0", config=chaos_lab.config_path)
    assert zero.returncode == 2 and "--users 0: must be at least 1" in zero.stderr
    unknown = run_lab("load", "--userz", "3", config=chaos_lab.config_path)
    assert unknown.returncode == 2 and "unrecognized arguments: --userz" in unknown.stderr
    route = run_lab("load", "--route", "envoy", config=chaos_lab.config_path)
    assert route.returncode == 2 and "--route 'envoy': unknown route" in route.stderr
    not_up = run_lab("load", config=write_config(tmp_path, name="rhl-never-up", subnet=61))
    assert not_up.returncode == 2 and "lab rhl-never-up is not up" in not_up.stderr


def test_a_crashed_master_shows_as_a_failure_spike_on_its_port_only(chaos_lab):
    result = recorded("chaos", "-k", "crash-master", "--no-hypothesis", "--with-load",
                      "--load-users", "6", config=chaos_lab.config_path)
    results = result.results
    crash = scenario(results, "crash-master")
    # Its expectations hold under load too (the CI campaign leaves crash-master to this).
    assert result.returncode == 0 and crash["status"] in ("pass", "finding"), crash
    load = Path("reports", results["run_id"], crash["load"]["dir"])
    faults = json.loads((load / "faults.json").read_text())
    inject = next(f["t"] for f in faults["faults"] if f["phase"] == "inject")
    history = rows(load / "locust_stats_history.csv")

    def failures(name):
        return [float(r["Failures/s"]) for r in history if r["Name"] == name]

    spike = [float(r["Failures/s"]) for r in history
             if r["Name"] == "SET :5000" and float(r["Timestamp"]) >= inject - 1]
    assert max(spike, default=0) > 0, "no failure spike on the crashed shard's master port"
    for name in PORTS - {"SET :5000", "GET :5001"}:
        assert failures(name), f"no history for {name}"
        assert max(failures(name)) == 0, f"{name} failed although its shard was not touched"
    # The run's report links Locust's own report and charts its series under the timeline.
    page = result.page.read_text()
    assert f'href="{crash["load"]["report"]}"' in page
    assert "Locust GET :5001" in page and "Locust SET :5000 failures" in page
