"""``--what load``, side by side in one run through the same HAProxy port (5000):
``redis-benchmark`` (50 clients, SET) and Locust users at saturation (SET only, 50 users,
one process and two), plus redis-benchmark straight to the master for reference, and
Locust's CPU per 1000 ops/s; then the default ``nox -s load`` and how much of a core
Locust needed for it. Last, the same lab with ``[security] tls = true`` (re-provisioned
in place): redis-benchmark through HAProxy and direct, and Locust at saturation, beside
the plaintext numbers of the same run as ratios (the cost of TLS on this machine).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from lab.access import Access
from lab.bench.base import Measurement, bench_lab, lab_down, lab_up, register, say, with_tls
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
        result[f"locust_{processes}p"] = _saturation(lab, run_dir / f"saturation-{processes}p",
                                                     processes)
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
    result["tls"] = _with_tls(config_path, address, port, master, run_dir)
    plain = {"redis_benchmark_haproxy": result["redis_benchmark_haproxy"]["ops_per_s"],
             "redis_benchmark_direct": result["redis_benchmark_direct"]["ops_per_s"],
             "locust_1p": result["locust_1p"]["ops_per_s"]}
    result["tls_over_plain"] = {key: round(result["tls"][key]["ops_per_s"] / value, 3)
                                if value and result["tls"][key]["ops_per_s"] else None
                                for key, value in plain.items()}
    return result


def _saturation(lab: Lab, out_dir: Path, processes: int) -> dict:
    """Locust at saturation: 50 users, SET only, on shard 1, for 20 s."""
    from lab.load import LoadOptions, LoadProcess, summary

    options = LoadOptions(users=50, spawn_rate=50, run_time="20s", processes=processes,
                          read_ratio=0.0, shards=1, rate=0)
    locust = LoadProcess(lab, options, out_dir)
    locust.start()
    locust.wait(timeout=120)
    ops = sum(float(r["Requests/s"]) for r in summary(locust.out_dir))
    cpu = locust.cpu_seconds()
    return {"ops_per_s": round(ops), "cpu_s": cpu, "duration_s": 20,
            "cpu_cores_per_1000_ops_s": round(cpu / 20 / (ops / 1000), 3) if ops else None}


def _with_tls(config_path: Path, address: str, port: int, master: int, run_dir: Path) -> dict:
    """The same bench lab brought to [security] tls = true, the same load; then down."""
    lab, path = with_tls(config_path, "lab-tls.toml")
    say("bench: the same lab with [security] tls = true (re-provisioned)")
    lab_up(lab, path)
    found = {}
    for label, target in (("redis_benchmark_haproxy", port), ("redis_benchmark_direct", master)):
        say(f"bench: redis-benchmark --tls -c 50 SET -> {address}:{target}")
        found[label] = _redis_benchmark(address, target, lab.access)
    say(f"bench: Locust at saturation over TLS, 50 users, 1 process, SET -> :{port}")
    found["locust_1p"] = _saturation(lab, run_dir / "saturation-tls-1p", 1)
    lab_down(lab)
    return found


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
    if "tls" in load:
        say("with TLS, as a share of the plaintext numbers of this run: " + ", ".join(
            f"{key} {ratio}" for key, ratio in load["tls_over_plain"].items()))


register(Measurement("load", "redis-benchmark and Locust through HAProxy, side by side",
                     lambda args, path, previous: _measure_load(bench_lab(path), path),
                     _print_load))
