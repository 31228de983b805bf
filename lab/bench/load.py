"""``--what load``, side by side in one run through the same HAProxy port (5000):
``redis-benchmark`` (50 clients, SET) and Locust users at saturation (SET only, 50 users,
one process and two), plus redis-benchmark straight to the master for reference, and
Locust's CPU per 1000 ops/s; then the default ``nox -s load`` and how much of a core
Locust needed for it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from lab.access import Access
from lab.bench.base import Measurement, bench_lab, lab_down, lab_up, register, say
from lab.context import Lab
from lab.runs import new_run_dir


def _measure_load(lab: Lab, config_path: Path) -> dict:
    from lab.load import LoadOptions, LoadProcess, summary

    say("bench: load lab up")
    lab_up(lab, config_path)
    address = lab.config.servers[0].address
    port = lab.config.haproxy.first_port
    master = lab.topology.shard(1).initial_master.port
    run_id, run_dir = new_run_dir("bench-load")
    result: dict = {"run": run_id, "port": port}
    for label, target in (("redis_benchmark_haproxy", port), ("redis_benchmark_direct", master)):
        say(f"bench: redis-benchmark -c 50 SET -> {address}:{target}")
        result[label] = _redis_benchmark(address, target, lab.access)

    for processes in (1, 2):
        say(f"bench: Locust at saturation, 50 users, {processes} process(es), SET -> :{port}")
        options = LoadOptions(users=50, spawn_rate=50, run_time="20s", processes=processes,
                              read_ratio=0.0, shards=1, rate=0)
        locust = LoadProcess(lab, options, run_dir / f"saturation-{processes}p")
        locust.start()
        locust.wait(timeout=120)
        ops = sum(float(r["Requests/s"]) for r in summary(locust.out_dir))
        cpu = locust.cpu_seconds()
        result[f"locust_{processes}p"] = {
            "ops_per_s": round(ops), "cpu_s": cpu, "duration_s": 20,
            "cpu_cores_per_1000_ops_s": round(cpu / 20 / (ops / 1000), 3) if ops else None,
        }
    best = max(result["locust_1p"]["ops_per_s"], result["locust_2p"]["ops_per_s"])
    rb = result["redis_benchmark_haproxy"]["ops_per_s"]
    result["ratio_locust_to_redis_benchmark"] = round(best / rb, 3) if rb else None
    result["target_ratio"] = 0.25

    say("bench: default nox -s load (20 users, 1 process, 30 s)")
    locust = LoadProcess(lab, LoadOptions(), run_dir / "default")
    locust.start()
    locust.wait(timeout=120)
    ops = sum(float(r["Requests/s"]) for r in summary(locust.out_dir))
    cpu = locust.cpu_seconds()
    result["default_load"] = {"ops_per_s": round(ops), "cpu_s": cpu, "duration_s": 30,
                              "locust_cores_used": round(cpu / 30, 2)}
    lab_down(lab)
    return result


def _redis_benchmark(host: str, port: int, access: Access) -> dict:
    tls = access.tls.cli_args() if access.tls else []
    out = subprocess.run(
        ["redis-benchmark", *tls, "-h", host, "-p", str(port), "-a", access.password or "",
         "-c", "50", "-n", "200000", "-t", "set", "-q"],
        capture_output=True, text=True, timeout=300,
    ).stdout.replace("\r", "\n")
    match = re.findall(r"SET: ([\d.]+) requests per second", out)
    return {"ops_per_s": round(float(match[-1])) if match else None}


def _print_load(load: dict) -> None:
    say(f"redis-benchmark SET through :{load['port']}: "
          f"{load['redis_benchmark_haproxy']['ops_per_s']}/s "
          f"(direct {load['redis_benchmark_direct']['ops_per_s']}/s)")
    for p in (1, 2):
        lp = load[f"locust_{p}p"]
        say(f"Locust {p} process(es): {lp['ops_per_s']}/s, "
              f"{lp['cpu_cores_per_1000_ops_s']} cores per 1000 ops/s")
    say(f"ratio Locust / redis-benchmark: {load['ratio_locust_to_redis_benchmark']} "
          f"(target >= {load['target_ratio']})")
    d = load["default_load"]
    say(f"default load: {d['ops_per_s']}/s using {d['locust_cores_used']} cores of Locust")


register(Measurement("load", "redis-benchmark and Locust through HAProxy, side by side",
                     lambda args, path, previous: _measure_load(bench_lab(path), path),
                     _print_load))
