"""``--what chaos``: the bench lab with down-after 1000 ms and no restart policy (a crashed
master stays down, as in the native floor of docs/design.md, Facts):

* ``crash-master`` repeated: fault -> ``+switch-master`` and fault -> writes resumed
  through HAProxy, with where the time goes (+sdown, +odown, +switch-master, the new
  master UP in HAProxy, the first write), against the **floor** measured in the same run
  (:mod:`lab.chaos.floor`: the same kill on one native shard on loopback with the lab's
  settings and templates, the same workload and checkers), as lab / floor;
* the time to reset to settled after a fault (what Hypothesis pays between examples);
* ``crash-master`` repeated on the same lab with ``[security] tls = true`` (re-provisioned
  in place): failover and writes resumed over TLS beside the plaintext ones of this run.
"""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

from lab.bench.base import (
    BENCH_LAB,
    CHAOS_SETTINGS,
    Measurement,
    bench_lab,
    lab_up,
    median_phases,
    register,
    say,
    with_tls,
)
from lab.bench.numbers import median
from lab.chaos import history
from lab.context import Lab
from lab.progress import quiet
from lab.runs import new_run_dir


def _measure_chaos(lab: Lab, config_path: Path, repeat: int) -> dict:
    """crash-master on the lab against the same kill on a native shard (the floor),
    side by side in this run; and the reset time between Hypothesis examples."""
    from lab.chaos import checkers, floor
    from lab.chaos.runner import ChaosSession, run_scenario
    from lab.chaos.scenarios import load_all

    say("bench: chaos lab up (down-after 1000 ms, no restart policy)")
    lab_up(lab, config_path)
    run_id, run_dir = new_run_dir("bench")
    session = ChaosSession(lab, run_dir, run_id)
    crash = load_all()["crash-master"]
    failover, resumed, resets, lab_phases = [], [], [], []
    try:
        for i in range(1, repeat + 1):
            say(f"bench {i}/{repeat}: crash-master on the lab")
            with quiet():
                # each repetition its own history (crash-master-<i>.jsonl)
                result = run_scenario(session, crash, repetition=i, repetitions=repeat)
            m = result.target
            failover.append(m.failover_s)
            resumed.append(m.writes_resumed_s)
            events = history.read(run_dir / result.history)
            at = next(e["t"] for e in events if e["type"] == "fault" and e["phase"] == "inject")
            lab_phases.append(checkers.failover_phases(
                events, at, lab.topology.shard(crash.target_shard).master_backend))
            say(f"bench {i}/{repeat}: reset to settled after a paused master")
            fault = session.inject("pause-master", shard=2)
            time.sleep(3)
            session.heal(fault)
            resets.append(round(session.reset(), 2))
    finally:
        session.close()  # heals everything first
    floor_runs = []
    missing = floor.available()
    if missing:
        say(f"bench: floor skipped: {missing}")
    else:
        say(f"bench: the floor: the same kill on a native shard on loopback, {repeat} times")
        with quiet():
            floor_runs = floor.measure(tomllib.loads(CHAOS_SETTINGS), repeat, run_dir)
    lab_resumed = median(resumed)
    floor_resumed = median([r.writes_resumed_s for r in floor_runs])
    return {
        "settings": {"down_after_ms": 1000, "restart": "no"},
        "crash_master": {
            "failover_s": failover, "writes_resumed_s": resumed,
            "median_failover_s": median(failover), "median_writes_resumed_s": lab_resumed,
            "phases_median_s": median_phases(lab_phases),
        },
        "floor": {
            "skipped": missing or None,
            "writes_resumed_s": [r.writes_resumed_s for r in floor_runs],
            "median_writes_resumed_s": floor_resumed,
            "median_failover_s": median([r.failover_s for r in floor_runs]),
            "phases_median_s": median_phases([r.phases for r in floor_runs]),
        },
        "lab_over_floor": round(lab_resumed / floor_resumed, 3)
        if lab_resumed and floor_resumed else None,
        "gap_s": round(lab_resumed - floor_resumed, 3)
        if lab_resumed and floor_resumed else None,
        "target_gap_s": 0.3,
        "reset_s": {"runs": resets, "median": median(resets), "target": 10.0},
        "run": run_id,
        **_with_tls(config_path, repeat, lab_resumed),
    }


def _with_tls(config_path: Path, repeat: int, plain_resumed: float | None) -> dict:
    """crash-master ``repeat`` times on the same lab with [security] tls = true: the
    failover and writes-resumed times beside the plaintext ones of this run."""
    from lab.chaos.runner import ChaosSession, run_scenario
    from lab.chaos.scenarios import load_all

    lab, path = with_tls(config_path, "lab-chaos-tls.toml")
    say("bench: the same lab with [security] tls = true (re-provisioned)")
    lab_up(lab, path)
    run_id, run_dir = new_run_dir("bench-tls")
    session = ChaosSession(lab, run_dir, run_id)
    failover, resumed = [], []
    try:
        for i in range(1, repeat + 1):
            say(f"bench {i}/{repeat}: crash-master on the lab over TLS")
            with quiet():
                m = run_scenario(session, load_all()["crash-master"], repetition=i,
                                 repetitions=repeat).target
            failover.append(m.failover_s)
            resumed.append(m.writes_resumed_s)
    finally:
        session.close()
    tls_resumed = median(resumed)
    return {"tls": {"failover_s": failover, "writes_resumed_s": resumed,
                    "median_failover_s": median(failover),
                    "median_writes_resumed_s": tls_resumed, "run": run_id},
            "tls_over_plain_writes_resumed": round(tls_resumed / plain_resumed, 3)
            if tls_resumed and plain_resumed else None}


def _print_chaos(chaos: dict) -> None:
    c, f = chaos["crash_master"], chaos["floor"]
    say(f"crash-master (down-after 1000 ms): writes resumed median lab "
          f"{c['median_writes_resumed_s']} s, floor {f['median_writes_resumed_s']} s "
          f"(measured in this run), lab/floor {chaos['lab_over_floor']}, gap "
          f"{chaos['gap_s']} s (target < {chaos['target_gap_s']} s)")
    say(f"  where the time goes (median s from the kill): lab {c['phases_median_s']}")
    say(f"                                               floor {f['phases_median_s']}")
    say(f"reset to settled: median {chaos['reset_s']['median']} s (target < 10 s)")
    if "tls" in chaos:
        tls = chaos["tls"]
        say(f"crash-master over TLS: writes resumed median {tls['median_writes_resumed_s']} s, "
            f"failover {tls['median_failover_s']} s; TLS / plaintext "
            f"{chaos['tls_over_plain_writes_resumed']}")


register(Measurement("chaos", "crash-master against the native floor; reset to settled",
                     lambda args, path, previous: _measure_chaos(
                         bench_lab(path, BENCH_LAB + CHAOS_SETTINGS), path, args.repeat),
                     _print_chaos))
