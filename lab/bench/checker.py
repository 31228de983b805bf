"""``--what checker`` (no lab needed): the list-append anomaly checker
(:mod:`lab.chaos.anomalies`) on synthetic histories of 10^4, 10^5 and 10^6 operations:
its time and the process's peak memory (history and checker), each size in a fresh
process so that one size's memory does not hide the next's. Aim (issue 26): 10^6
operations in under 30 s and under 1 GiB, growing linearly.

The synthetic history is a lab's, shaped as the workload makes it: clients appending
unique values to a few lists per shard, a new list every 100 appends, and reading whole
lists, most up to date, some a few appends behind (a lagging replica), a few acknowledged
appends lost at the end. Then, the checker on the largest real list-append history
under ``reports/``.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import subprocess
import sys
import time

from lab.bench.base import Measurement, register, say

SIZES = (10_000, 100_000, 1_000_000)
CLIENTS = 10
KEYS_AT_ONCE = 4  # lists being appended to at any time
APPENDS_PER_KEY = 100


def synthetic(n_ops: int, seed: int = 0) -> tuple[list[dict], dict[str, list[str]]]:
    """``n_ops`` list-append operations and each key's final list."""
    rng = random.Random(seed)
    lists: dict[str, list[str]] = {}
    ops: list[dict] = []
    appended = 0
    t = 0.0
    for i in range(n_ops):
        t += 0.001
        generation = appended // APPENDS_PER_KEY  # a new set of lists every so often
        key = f"bench:list:{generation * KEYS_AT_ONCE + rng.randrange(KEYS_AT_ONCE)}"
        current = lists.setdefault(key, [])
        client = rng.randrange(CLIENTS)
        if rng.random() < 0.8:
            value = f"{client}-{i}"
            current.append(value)
            appended += 1
            ops.append({"op": "append", "key": key, "value": value, "client": client,
                        "start": t, "end": t + 0.0005, "outcome": "ok"})
        else:
            behind = rng.choice((0, 0, 0, 1, 2))  # a replica a few appends behind
            ops.append({"op": "lrange", "key": key, "value": current[:len(current) - behind],
                        "client": client, "start": t, "end": t + 0.0005, "outcome": "ok",
                        "kind": "replicas" if behind else "master"})
    final = {k: v[:-1] if i % 50 == 0 else v for i, (k, v) in enumerate(lists.items())}
    return ops, final


def one_size(n_ops: int) -> dict:
    """Run in a fresh process: build a history of ``n_ops``, check it, say what it took."""
    from lab.chaos.anomalies import check

    ops, final = synthetic(n_ops)
    started = time.perf_counter()
    found = check(ops, final)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"ops": n_ops, "check_s": round(seconds, 3), "peak_rss_mb": round(peak_mb, 1),
            "anomalies": {k: n for k, n in found.counts.items() if n}}


def _measure(repeat: int) -> dict:
    sizes = []
    for n_ops in SIZES:
        runs = []
        for _ in range(repeat):
            out = subprocess.run(
                [sys.executable, "-c", "import json, sys; from lab.bench.checker import "
                 f"one_size; print(json.dumps(one_size({n_ops})))"],
                capture_output=True, text=True, check=True, timeout=600).stdout
            runs.append(json.loads(out))
        size = {"ops": n_ops, "check_s": [r["check_s"] for r in runs],
                "median_check_s": statistics.median(r["check_s"] for r in runs),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                "anomalies": runs[0]["anomalies"]}
        say(f"  checker: {n_ops:>9,} operations: {size['median_check_s']} s, "
            f"peak {size['peak_rss_mb']} MB")
        sizes.append(size)
    largest = sizes[-1]
    return {"sizes": sizes, "real": _real_history(),
            "us_per_op": [round(s["median_check_s"] / s["ops"] * 1e6, 2) for s in sizes],
            "target": "10^6 operations in under 30 s and under 1024 MB",
            "meets_target": largest["median_check_s"] < 30 and largest["peak_rss_mb"] < 1024}


def _real_history() -> dict | None:
    """The checker on the largest list-append history under ``reports/`` (None: none yet;
    run ``nox -s chaos -- --workload list-append``)."""
    from lab.chaos import anomalies, history
    from lab.paths import REPORTS

    found = [p for p in REPORTS.glob("*/*.jsonl")
             if '"op": "lrange"' in p.read_text(encoding="utf-8", errors="replace")[:2_000_000]]
    if not found:
        return None
    path = max(found, key=lambda p: p.stat().st_size)
    events = history.read(path)
    ops = [e for e in events if e["type"] == "op"]
    finals = {e["shard"]: e["lists"] for e in events if e["type"] == "readback-lists"}
    started = time.perf_counter()
    for shard in sorted({o["shard"] for o in ops}):
        anomalies.check([o for o in ops if o["shard"] == shard], finals.get(shard))
    seconds = time.perf_counter() - started
    say(f"  checker: {path.parent.name}/{path.name}: {len(ops):,} operations in {seconds:.3f} s")
    return {"history": f"{path.parent.name}/{path.name}", "ops": len(ops),
            "check_s": round(seconds, 3)}


register(Measurement("checker", "the list-append anomaly checker on 10^4-10^6 operations (no lab)",
                     lambda args, path, previous: _measure(args.repeat),
                     lambda result: say(f"checker: {result}")))
