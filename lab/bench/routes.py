"""``--what routes``: on the bench lab, the same paced Locust load (20 users x 50 calls/s,
half reads, 20 s) through each route (:mod:`lab.routes`), the routes interleaved within
each repetition: throughput and p99 latency of writes and reads side by side; then the
check traffic the Sentinel-checked HAProxy adds on the Sentinels: commands and
connections per second each Sentinel serves on the idle lab, with the hardened HAProxy and
with ``[haproxy] checked_first_port = 0`` (the same lab re-provisioned without it).
"""

from __future__ import annotations

import time
from pathlib import Path

from lab.bench.base import Measurement, bench_lab, lab_down, lab_up, register, say
from lab.bench.numbers import median
from lab.context import Lab
from lab.runs import new_run_dir

ROUTE_LOAD = {"users": 20, "spawn_rate": 20.0, "run_time": "20s", "rate": 50.0,
              "read_ratio": 0.5}


def _measure_routes(lab: Lab, config_path: Path, repeat: int) -> dict:
    from lab.load import LoadOptions, LoadProcess
    from lab.routes import ROUTES

    say("bench: routes lab up")
    lab_up(lab, config_path)
    run_id, run_dir = new_run_dir("bench-routes")
    samples: dict[str, list[dict]] = {route: [] for route in ROUTES}
    for i in range(1, repeat + 1):
        for route in ROUTES:  # interleaved: drift on the machine hits every route alike
            say(f"bench: routes {i}/{repeat}: Locust {ROUTE_LOAD['users']} users x "
                  f"{ROUTE_LOAD['rate']:g}/s through {route}")
            locust = LoadProcess(lab, LoadOptions(**ROUTE_LOAD, route=route),
                                 run_dir / f"{route}-{i}")
            locust.start()
            locust.wait(timeout=120)
            samples[route].append(_locust_totals(locust.out_dir))
    result: dict = {"run": run_id, "load": ROUTE_LOAD, "runs": samples, "median": {
        route: {key: median([s[key] for s in runs]) for key in runs[0]}
        for route, runs in samples.items()}}
    say("bench: Sentinel traffic on the idle lab, with the Sentinel-checked HAProxy")
    with_checks = _sentinel_traffic(lab)
    plain_path = config_path.with_name("lab-plain.toml")
    plain_path.write_text(config_path.read_text() + "\n[haproxy]\nchecked_first_port = 0\n")
    plain = Lab.load(plain_path)
    say("bench: ... and without it (HAProxy re-provisioned)")
    lab_up(plain, plain_path)
    without = _sentinel_traffic(plain)
    result["sentinel_traffic"] = {
        "with_checks": with_checks, "without_checks": without,
        "added_commands_per_s_per_sentinel": round(
            with_checks["commands_per_s_per_sentinel"] -
            without["commands_per_s_per_sentinel"], 1),
        "added_connections_per_s_per_sentinel": round(
            with_checks["connections_per_s_per_sentinel"] -
            without["connections_per_s_per_sentinel"], 1)}
    lab_down(plain)
    return result


def _locust_totals(out_dir: Path) -> dict:
    """Writes and reads: requests/s and p99 (ms), failures, from Locust's CSV."""
    import csv

    with (out_dir / "locust_stats.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["Name"] != "Aggregated"]
    totals = {}
    for op, label in (("SET", "write"), ("GET", "read")):
        mine = [r for r in rows if r["Name"].startswith(op)]
        count = sum(int(r["Request Count"]) for r in mine)
        totals[f"{label}_per_s"] = round(sum(float(r["Requests/s"]) for r in mine), 1)
        # p99 over the shards: the worst shard's (Locust keeps no merged histogram per op).
        totals[f"{label}_p99_ms"] = max((float(r["99%"]) for r in mine), default=None)
        totals[f"{label}_failures"] = sum(int(r["Failure Count"]) for r in mine)
        totals[f"{label}_count"] = count
    return totals


def _sentinel_traffic(lab: Lab, seconds: float = 10.0) -> dict:
    """Commands and connections per second each Sentinel served over ``seconds`` idle."""
    from lab.probe import client

    def counters() -> list[tuple[int, int]]:
        found = []
        for sentinel in lab.topology.sentinels:
            with client(*sentinel.address, lab.access.sentinels) as r:
                stats = r.info("stats")
                found.append((int(stats["total_commands_processed"]),
                              int(stats["total_connections_received"])))
        return found

    before = counters()
    time.sleep(seconds)
    after = counters()
    n = len(before)
    return {
        "seconds": seconds, "sentinels": n,
        "commands_per_s_per_sentinel": round(
            sum(a[0] - b[0] for a, b in zip(after, before, strict=True)) / seconds / n, 1),
        "connections_per_s_per_sentinel": round(
            sum(a[1] - b[1] for a, b in zip(after, before, strict=True)) / seconds / n, 1),
    }


def _print_routes(r: dict) -> None:
    say(f"routes at {r['load']['users']} users x {r['load']['rate']:g}/s (medians):")
    for route, m in r["median"].items():
        say(f"  {route:<17} writes {m['write_per_s']}/s p99 {m['write_p99_ms']} ms, "
              f"reads {m['read_per_s']}/s p99 {m['read_p99_ms']} ms, failures "
              f"{m['write_failures']}+{m['read_failures']}")
    t = r["sentinel_traffic"]
    say(f"  Sentinel-checked HAProxy adds {t['added_commands_per_s_per_sentinel']} commands/s "
          f"and {t['added_connections_per_s_per_sentinel']} connections/s per Sentinel "
          f"(with {t['with_checks']['commands_per_s_per_sentinel']}, without "
          f"{t['without_checks']['commands_per_s_per_sentinel']})")


register(Measurement("routes", "the three routes at the same Locust load; check traffic",
                     lambda args, path, previous: _measure_routes(bench_lab(path), path,
                                                                  args.repeat),
                     _print_routes))
