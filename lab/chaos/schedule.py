"""Which scenarios of a campaign may run at once, and on which shard (issue 23).

A scenario is *shard-local* when every fault it injects acts on one shard through its
``shard`` parameter (the registry's ``touches`` is ``master`` or ``shard``). Two shards
are *independent* when no server hosts an instance or a Sentinel of both. Shard-local
scenarios then run at once, one *lane* per independent shard, each lane one scenario
after another, each scenario moved to its lane's shard (the catalogue names shard 1; the
shards of a layout are alike). Every other scenario runs *alone*, after the lanes, on the
whole lab:

* a fault that names a server (isolate-server, kill-haproxy, restart-machine, ...) touches
  every shard on that server;
* a scenario that says ``runs_alone`` (with its reason, from the serial-vs-parallel
  comparison in docs/first-run.md).

In the ``article`` layout shard *i* lives entirely on server *i*: three lanes. In the
``spread`` layout every shard has an instance and a Sentinel on every server: no shard is
independent, and the campaign runs in order, as ``--serial`` does. Load (Locust) drives
every shard at once, so a campaign with load runs in order as well.

Pure: :func:`plan` reads the scenarios, the registry and the topology; the campaign runs
what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lab.chaos import faults
from lab.chaos.faults.base import servers_of_shard
from lab.chaos.scenarios import Scenario, Step
from lab.topology import Topology

__all__ = ["Job", "Schedule", "estimate_s", "independent_shards", "plan", "relocate",
           "shard_local"]

# What a scenario costs beyond its holds and waits (reset, warm-up, heal, convergence,
# read-back): the catalogue measured about 12 s a scenario (docs/measured.md). Only the
# lanes' balance depends on it.
OVERHEAD_S = 12.0


@dataclass(frozen=True)
class Job:
    """One repetition of one scenario; ``index`` is its place in the serial order (the
    record lists results in that order, however they ran)."""

    index: int
    scenario: Scenario
    repetition: int
    repetitions: int

    @property
    def label(self) -> str:
        """As its result is labelled (:attr:`~lab.chaos.record.ScenarioResult.label`)."""
        return self.scenario.name if self.repetitions == 1 else \
            f"{self.scenario.name} #{self.repetition}"


@dataclass(frozen=True)
class Schedule:
    lanes: tuple[tuple[int, tuple[Job, ...]], ...]  # (shard, its jobs): the lanes at once
    alone: tuple[Job, ...]  # then these, one after another, on the whole lab
    serial_because: str = ""  # why nothing runs at once, when nothing does

    @property
    def jobs(self) -> list[Job]:
        """Every job, in the serial order."""
        return sorted([*(j for _, jobs in self.lanes for j in jobs), *self.alone],
                      key=lambda j: j.index)

    def to_json(self) -> dict:
        """What the record keeps: each lane's shard and results' labels, then the rest."""
        return {"mode": "parallel" if self.lanes else "serial",
                "lanes": {str(shard): [j.label for j in jobs] for shard, jobs in self.lanes},
                "alone": [j.label for j in self.alone],
                "serial_because": self.serial_because}

    def describe(self) -> str:
        if not self.lanes:
            return f"one scenario after another ({self.serial_because})"
        counts = ", ".join(f"shard {shard}: {len(jobs)}" for shard, jobs in self.lanes)
        return (f"{len(self.lanes)} lanes at once ({counts}), then {len(self.alone)} "
                "alone")


def plan(scenarios: list[Scenario], repeat: int, topology: Topology,
         serial_because: str = "") -> Schedule:
    """The schedule of ``scenarios``, each ``repeat`` times. ``serial_because``: the
    caller's reason to run everything in order (``--serial``, load); empty: where the
    topology allows, shard-local scenarios run in lanes."""
    jobs = [Job(i, s, r, repeat) for i, (s, r) in
            enumerate((s, r) for s in scenarios for r in range(1, repeat + 1))]
    shards = independent_shards(topology)
    if not serial_because and len(shards) < 2:
        serial_because = (f"the {topology.layout} layout: every shard shares a server with "
                          "another")
    local = [j for j in jobs if shard_local(j.scenario, topology)] if not serial_because \
        else []
    if len(local) < 2:
        return Schedule((), tuple(jobs), serial_because or "fewer than two shard-local "
                                                           "scenarios")
    # Longest first, each to the lane with the least work so far (LPT): the lanes end
    # close together.
    load = {shard: 0.0 for shard in shards}
    assigned: dict[int, list[Job]] = {shard: [] for shard in shards}
    for job in sorted(local, key=lambda j: (-estimate_s(j.scenario), j.index)):
        shard = min(shards, key=lambda n: (load[n], n))
        load[shard] += estimate_s(job.scenario)
        assigned[shard].append(replace(job, scenario=relocate(job.scenario, shard)))
    lanes = tuple((shard, tuple(sorted(assigned[shard], key=lambda j: j.index)))
                  for shard in shards if assigned[shard])
    in_lanes = {j.index for j in local}
    alone = tuple(j for j in jobs if j.index not in in_lanes)
    return Schedule(lanes, alone)


def independent_shards(topology: Topology) -> tuple[int, ...]:
    """The shards that share no server (instances and Sentinels) with any other shard."""
    footprint = {s.number: set(servers_of_shard(topology, s.number)) for s in topology.shards}
    return tuple(n for n, servers in footprint.items()
                 if all(not servers & other for m, other in footprint.items() if m != n))


def shard_local(scenario: Scenario, topology: Topology) -> bool:
    """Whether every fault of ``scenario`` acts through a shard parameter on its target
    shard (and the scenario does not say it must run alone)."""
    if scenario.runs_alone:
        return False
    steps = scenario.injected()
    for name, params in steps:
        fault = faults.get(name)
        if fault.touches not in ("master", "shard") or \
                fault.resolve(params, topology).get("shard") != scenario.target_shard:
            return False
    return bool(steps)


def relocate(scenario: Scenario, shard: int) -> Scenario:
    """``scenario`` with its faults (and so its headline) on shard ``shard``."""
    return replace(
        scenario, target_shard=shard,
        faults=tuple(Step(s.fault, {**s.params, "shard": shard}) for s in scenario.faults),
        script=tuple({**step, "shard": shard} if step["rule"] == "inject" else step
                     for step in scenario.script))


def estimate_s(scenario: Scenario) -> float:
    """About how long a scenario takes: its holds and waits plus :data:`OVERHEAD_S`."""
    # A wait step's seconds, an inject step's hold (a fault may have a parameter called
    # seconds too: clock-jump's step).
    waits = sum(float(step["seconds"] if step["rule"] == "wait" else step.get("hold_s", 0.0))
                for step in scenario.script)
    return scenario.hold_s + waits + OVERHEAD_S
