"""A chaos campaign: scenarios (and the Hypothesis state machine) in one run.

Results land in ``reports/<run-id>/``: one JSONL history per scenario and
``results.json``, rewritten after every scenario so an interrupted run keeps what it
finished (marked ``"complete": false``).

Exit status: 0 every verdict is pass, finding or skipped; 1 a scenario failed its
expectations or an invariant broke; 2 the run could not complete (a scenario errored,
the lab was not up or never settled); 130 interrupted (the lab is healed first).
"""

from __future__ import annotations

import json
import signal
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from lab.chaos import nemesis, plan, stateful
from lab.chaos import scenarios as scenario_module
from lab.chaos.runner import ChaosSession, run_scenario
from lab.context import Lab
from lab.errors import LabError
from lab.load import LoadOptions
from lab.paths import REPORTS

Log = Callable[[str], None]


def new_run_dir(kind: str = "chaos") -> tuple[str, Path]:
    run_id = time.strftime(f"%Y%m%d-%H%M%S-{kind}", time.gmtime())
    run_dir = REPORTS / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    return run_id, run_dir


class Results:
    """``results.json`` of a run, written after every change."""

    def __init__(self, run_dir: Path, run_id: str, lab: Lab) -> None:
        self.path = run_dir / "results.json"
        self.data = {
            "run_id": run_id,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "complete": False,
            "lab": {
                "name": lab.config.name,
                "layout": lab.config.layout,
                "backend": lab.config.machines.backend,
                "provider": None if lab.is_inventory else lab.config.machines.provider,
                "machines": lab.machines_label,
                "servers": [vars(s) for s in lab.config.servers],
                "sentinel": vars(lab.config.sentinel),
                "redis": vars(lab.config.redis),
                "haproxy": vars(lab.config.haproxy),
                "images": lab.config.images.source,
                "topology": lab.topology.as_dict(),
            },
            "scenarios": [],
            "hypothesis": None,
        }
        self.write()

    def add(self, result: dict) -> None:
        self.data["scenarios"].append(result)
        self.write()

    def write(self) -> None:
        self.data["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        tmp = self.path.with_suffix(".partial")
        tmp.write_text(json.dumps(self.data, indent=2, default=str) + "\n")
        tmp.replace(self.path)

    def exit_code(self) -> int:
        statuses = [s["status"] for s in self.data["scenarios"]]
        hypothesis = self.data.get("hypothesis") or {}
        if "error" in statuses or hypothesis.get("status") == "error":
            return 2
        if "fail" in statuses or hypothesis.get("status") == "fail":
            return 1
        return 0


def run(lab: Lab, patterns: list[str], log: Log = print, profile: str | None = "ci",
        seed: int | None = None, scenarios: bool = True, load: LoadOptions | None = None,
        accept_disruption: bool = False, plan_only: bool = False) -> int:
    """Run the chosen scenarios, then (with a profile) the Hypothesis state machine.

    On an SSH inventory nothing runs without ``accept_disruption``: the dry-run plan is
    printed and the run refused. ``plan_only`` prints the plan for any lab and stops."""
    require_up(lab)
    try:
        chosen = scenario_module.select(scenario_module.load_all(), patterns) \
            if scenarios else []
    except ValueError as exc:
        raise LabError(str(exc)) from None
    if plan_only or _needs_consent(lab, accept_disruption):
        _print_plan(plan.describe(lab.topology, chosen, profile, _master_finder(lab),
                                  stateful.FAULT_KINDS), log)
        if plan_only:
            return 0
        _refuse_disruption()
    run_id, run_dir = new_run_dir()
    log(f"chaos: run {run_id}: {len(chosen)} scenario(s) on the {lab.config.layout} layout")
    results = Results(run_dir, run_id, lab)
    results.data["options"] = {"scenarios": [s.name for s in chosen], "profile": profile,
                               "seed": seed, "with_load": bool(load)}
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    session = ChaosSession(lab, run_dir, run_id, log, load)
    try:
        results.data["lab"]["versions"] = session.versions()
        results.write()
        for scenario in chosen:
            try:
                results.add(run_scenario(session, scenario))
            except LabError as exc:
                results.add({"scenario": scenario.name, "status": "error", "error": str(exc)})
                log(f"chaos: {scenario.name}: ERROR {exc}")
            except Exception as exc:  # noqa: BLE001 - recorded, and the campaign goes on
                results.add({"scenario": scenario.name, "status": "error",
                             "error": f"{type(exc).__name__}: {exc}",
                             "traceback": traceback.format_exc()})
                log(f"chaos: {scenario.name}: ERROR {type(exc).__name__}: {exc}")
        if profile:
            results.data["hypothesis"] = stateful.run(session, profile, seed)
            results.write()
        results.data["complete"] = True
    except KeyboardInterrupt:
        results.data["interrupted"] = True
        log("chaos: interrupted: healing the lab")
        raise
    finally:
        try:
            session.close()
        finally:
            signal.signal(signal.SIGTERM, previous)
            results.write()
            _summary(results, log)
            write_report(run_dir, log)
    return results.exit_code()


def replay(lab: Lab, failure_id: str, log: Log = print, accept_disruption: bool = False) -> int:
    """Replay a saved failing sequence; exit 1 when it reproduces, 0 when it does not."""
    require_up(lab)
    if _needs_consent(lab, accept_disruption):
        _print_plan(plan.describe_replay(lab.topology, failure_id), log)
        _refuse_disruption()
    if stateful.find_failure(failure_id) is None:
        raise LabError(f"no saved failure {failure_id!r} under reports/*/failures/; "
                       "the id is printed when Hypothesis finds one")
    run_id, run_dir = new_run_dir("replay")
    results = Results(run_dir, run_id, lab)
    session = ChaosSession(lab, run_dir, run_id, log)
    try:
        results.data["lab"]["versions"] = session.versions()
        results.data["hypothesis"] = stateful.replay(session, failure_id)
        results.data["complete"] = True
    finally:
        session.close()
        results.write()
        write_report(run_dir, log)
    return 1 if results.data["hypothesis"]["status"] == "fail" else 0


def heal(lab: Lab, log: Log = print) -> int:
    """Remove every fault leftover from the machines, e.g. after a killed controller."""
    require_up(lab)
    machines = lab.connect_all()
    try:
        nemesis.heal_everything(machines)
        left = nemesis.leftovers(machines)
    finally:
        for machine in machines:
            machine.close()
    log("chaos: healed: no fault leftovers" if not left else f"chaos: still left: {left}")
    return 0 if not left else 1


def write_report(run_dir: Path, log: Log) -> Path | None:
    """The run's HTML page and the index; a failure here never loses the raw data."""
    from lab import report  # plotly is imported only when a report is written

    try:
        page = report.build_run(run_dir)
        report.build_index(run_dir.parent)
    except Exception as exc:  # noqa: BLE001 - results.json and the histories are kept
        log(f"report: not written ({type(exc).__name__}: {exc}); "
            f"rebuild it with `nox -s report -- {run_dir.name}`")
        return None
    log(f"report: {page}")
    return page


def _master_finder(lab: Lab) -> Callable[[int], object]:
    """Read-only: asks the Sentinels; the nemesis gets no SSH connection here."""
    finder = nemesis.Nemesis(lab.topology, [], lab.secrets.redis_password,
                             lab.config.machines.network)
    return finder.master_of


def _needs_consent(lab: Lab, accept_disruption: bool) -> bool:
    """Real hosts (an SSH inventory) are disrupted only when the user said so."""
    return lab.is_inventory and not accept_disruption


def _print_plan(lines: list[str], log: Log) -> None:
    log("chaos plan (dry run: nothing has been touched):")
    for line in lines:
        log(f"  {line}")


def _refuse_disruption() -> None:
    raise LabError("chaos on an SSH inventory disrupts real hosts: the plan above lists every "
                   "fault and the hosts it touches; rerun with --i-accept-disruption to go ahead")


def require_up(lab: Lab) -> None:
    if not lab.paths.applied_config.exists():
        raise LabError(f"lab {lab.config.name} is not up; run `nox -s lab_up` first")


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _summary(results: Results, log: Log) -> None:
    log("")
    log(f"{'scenario':<30} {'verdict':<8} failover  outage  lost  split-brain")
    for s in results.data["scenarios"]:
        m = (s.get("measures") or {}).get(str(s.get("target_shard", 1)), {})
        split = max(m.get("split_brain_roles_s", 0), m.get("split_brain_haproxy_s", 0))
        log(f"{s['scenario']:<30} {s['status']:<8} {_num(m.get('failover_s')):>8}  "
            f"{_num(m.get('outage_s')):>6}  {_num(m.get('lost')):>4}  {split:>9.1f} s")
    state = "complete" if results.data["complete"] else "INCOMPLETE"
    log(f"chaos: results ({state}): {results.path}")


def _num(value) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) else str(value)
