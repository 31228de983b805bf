"""Named scenarios and what each is expected to show, for the layout and settings in use.

A scenario lives in ``scenarios/<name>.py`` and defines ``SCENARIO`` (or ``SCENARIOS``,
a family of them that differ in one parameter): the faults to
inject (in order; healed in reverse), how long to hold them, and an ``expect(config)``
function returning an :class:`Expect`. Expectations depend on the lab: the article
layout cannot fail over a lost server, ``min_replicas_to_write = 1`` bounds the writes a
cut-off master can lose, and so on.

:func:`judge` turns measurements into a verdict:

``pass``     every expectation held
``finding``  every expectation held, and the documented weakness showed (lost writes,
             split brain, a shard down): reported, not hidden
``fail``     an expectation did not hold (the lab behaved unlike its documentation)
``skipped``  the scenario cannot run here (e.g. the kernel lacks netem), with the reason
``error``    the run itself broke, or one of its observers did (a gap in the history)
             (exit status 2, like Jepsen's unknown)
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tomli_w

from lab.chaos import anomalies, faults
from lab.chaos.checkers import ShardMeasures
from lab.chaos.record import Convergence, Status, Verdict
from lab.config import LabConfig
from lab.paths import PROJECT_ROOT

__all__ = ["SAVED_EXPECT", "Expect", "Scenario", "Step", "fault_params", "judge", "load_all",
           "save", "select"]

SCENARIO_DIR = PROJECT_ROOT / "scenarios"


@dataclass(frozen=True)
class Step:
    fault: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Expect:
    """What the target shard should show. ``None`` means "not judged"."""

    failover: bool | None = None  # True: must fail over; False: must not
    failover_within_s: float | None = None
    max_lost_writes: int | None = 0
    lost_writes_are_finding: bool = False  # loss is the documented weakness, not a failure
    split_brain_expected: bool = False  # report split brain as a finding; fail if absent
    writes_during_fault: bool | None = None  # False: the shard is expected to be down
    finding: str = ""  # the weakness this scenario demonstrates, in one sentence
    # Sentinel channels the shard's Sentinels must publish (+tilt, -failover-abort-...).
    sentinel_events: tuple[str, ...] = ()
    # Error classes clients must have seen (NOREPLICAS, READONLY, ...).
    errors_seen: tuple[str, ...] = ()
    # A replica stuck (role slave, link down) at least this long: the finding it shows.
    replica_stuck_s: float | None = None
    # A Sentinel that answered nothing at least this long (it could not start again).
    sentinel_down_s: float | None = None
    # The shard's Sentinels named different masters at least this long.
    sentinels_disagree_s: float | None = None
    # Refusals the instances' ACL LOG must show ("sentinel slaveof": user and command).
    acl_denied: tuple[str, ...] = ()
    # List-append anomalies (lab.chaos.anomalies classes) this scenario documents beyond
    # what its lost writes and split brain already document (see documented_anomalies).
    anomalies: tuple[str, ...] = ()
    # A planned failover: the old master and the other replicas should continue from the
    # backlog (PSYNC, partial); each full sync it caused is reported as a finding.
    planned_failover: bool = False
    # A resync loop: at least this many full syncs served during the recording (the
    # finding it shows, with the longest time a replica's link was down).
    full_syncs_at_least: int | None = None
    # An instance that answered PING with MISCONF (it could not persist) at least this long.
    misconf_s: float | None = None
    # Instances that started again during the recording are reported (never asserted):
    # where nothing in the scenario restarts them (an OOM kill under a memory limit).
    restarts_reported: bool = False
    # Replicas evicting keys on their own (maxmemory honoured by replicas: datasets that
    # diverge from their master's): True, they must; False, they must not.
    replica_evictions: bool | None = None

    def documented_anomalies(self) -> frozenset[str]:
        """The anomaly classes that are findings here, not failures: data that vanished
        where lost writes are a documented weakness (lost appends, reads of them, and
        incompatible orders: a list that lost appends others had read, or restarted
        empty, shows its readers two histories); two histories and a master port read
        missing the other history's appends where split brain is; and ``anomalies``."""
        documented = set(self.anomalies)
        if self.lost_writes_are_finding or self.max_lost_writes is None:
            documented |= {"lost-append", "lost-read", "incompatible-order"}
        if self.split_brain_expected:
            documented |= {"incompatible-order", "stale-read:master"}
        return frozenset(documented)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Expect:
        return cls(**data)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    faults: tuple[Step, ...]
    expect: Callable[[LabConfig], Expect]
    hold_s: float = 8.0
    target_shard: int = 1
    # A saved Hypothesis sequence (inject / wait / heal steps, run in order) instead of
    # ``faults``: what ``--save-scenario`` writes as scenarios/<name>.toml.
    script: tuple[dict, ...] = ()
    # The upstream issue or documentation a catalogue scenario reproduces.
    reference: str = ""
    # Why it runs alone in a parallel campaign although its faults stay on one shard
    # (:mod:`lab.chaos.schedule`); empty: it may run beside scenarios on other shards.
    runs_alone: str = ""

    def injected(self) -> list[tuple[str, dict]]:
        """(fault, parameters) of every fault it injects, in order: its steps, or its
        script's inject steps."""
        if self.script:
            return [(s["kind"], fault_params(s)) for s in self.script if s["rule"] == "inject"]
        return [(s.fault, dict(s.params)) for s in self.faults]

    def check(self, topology) -> None:
        """ValueError naming the scenario, the fault and the fix when one of its faults is
        unknown or a parameter is outside its allowed values (before anything runs)."""
        for name, params in self.injected():
            try:
                faults.get(name).resolve(params, topology)
            except ValueError as exc:
                raise ValueError(f"scenario {self.name}: fault {name}: {exc}") from None


_SAVED_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
# A saved sequence is judged by the SLOs and by convergence: it has no documented outcome.
SAVED_EXPECT = Expect(max_lost_writes=None)


def fault_params(step: dict) -> dict:
    """A script step's fault parameters: everything but how the step is played."""
    return {k: v for k, v in step.items() if k not in ("rule", "kind", "hold_s", "keep")}


def load_all(directory: Path = SCENARIO_DIR) -> dict[str, Scenario]:
    """Every scenario in ``directory``: ``SCENARIO`` (or each of ``SCENARIOS``) of each
    ``*.py``, then each saved
    sequence ``*.toml``, by name, in file order."""
    found = {}
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"lab_scenarios.{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for scenario in getattr(module, "SCENARIOS", None) or (module.SCENARIO,):
            found[scenario.name] = scenario
    for path in sorted(directory.glob("*.toml")):
        scenario = _saved(path)
        found[scenario.name] = scenario
    return found


def _saved(path: Path) -> Scenario:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        steps = tuple(dict(step) for step in data["steps"])
        if not steps or not all(s.get("rule") in ("inject", "wait", "heal") for s in steps):
            raise ValueError("steps must be inject, wait or heal")
        return Scenario(data["name"], data.get("description", data["name"]), (),
                        lambda config: SAVED_EXPECT, float(data.get("hold_s", 2.0)),
                        target_shard=int(data.get("target_shard", _first_target(steps))),
                        script=steps)
    except (KeyError, ValueError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: not a saved scenario ({exc}); fix or remove it") from None


def _first_target(steps: tuple[dict, ...]) -> int:
    """The shard a saved sequence's first fault hits: the headline's shard. A server's
    number stands for the shard whose initial master it hosts (server i, shard i, in
    both layouts)."""
    first = next((s for s in steps if s["rule"] == "inject"), {})
    return int(first.get("shard", first.get("server", 1)))


def save(name: str, failure: dict, directory: Path = SCENARIO_DIR) -> Path:
    """Write a saved Hypothesis failure's steps as scenario ``name`` (``-k NAME`` runs it)."""
    if not _SAVED_NAME.match(name):
        raise ValueError(f"--save-scenario {name!r}: use lowercase letters, digits and '-'")
    if name in load_all(directory):
        raise ValueError(f"--save-scenario {name}: a scenario of that name exists already")
    path = directory / f"{name}.toml"
    error = str(failure.get("error", "")).splitlines()[0] if failure.get("error") else ""
    data = {"name": name,
            "description": f"{name}: the sequence Hypothesis shrank failure {failure['id']} "
                           f"to ({error})",
            "hold_s": 2.0, "saved_from": {"failure": failure["id"],
                                          "run": failure.get("run", "")},
            "steps": failure["steps"]}
    path.write_text("# Saved by `nox -s chaos -- --replay ID --save-scenario NAME`.\n"
                    + tomli_w.dumps(data))
    return path


def select(available: dict[str, Scenario], patterns: list[str]) -> list[Scenario]:
    """Scenarios whose name contains any of ``patterns`` (all when none); unknown -> error."""
    if not patterns:
        return list(available.values())
    chosen = [s for name, s in available.items() if any(p in name for p in patterns)]
    if not chosen:
        raise ValueError(f"no scenario matches {', '.join(patterns)}; "
                         f"known: {', '.join(available)}")
    return chosen


# List-append anomalies that asynchronous replication causes by design: a read through a
# replica port may lag, so it may miss a client's own append or go back in time. Counted
# and shown, never a failure.
BY_DESIGN = frozenset({"stale-read:replicas", "non-monotonic-read", "read-your-writes"})


# The other Sentinels learn a failover from the leader's hello, sent every 2 s (the
# observers ask every 250 ms): a longer disagreement is reported.
DISAGREE_REPORTED_S = 3.0


def _at_least(v: Verdict, bound: float | None, measured: float, check: str, finding: str,
              detail: str) -> None:
    """A stretch a scenario exists to show (a replica stuck, a Sentinel silent): at least
    ``bound`` seconds, asserted, and reported as found; nothing when ``bound`` is None."""
    if bound is None:
        return
    v.check(f"{check} for {bound:g} s or more", measured >= bound, f"{detail} {measured} s")
    if measured >= bound:
        v.findings.append(f"{finding} for {measured} s")


def _judge_evictions(expect: Expect, m: ShardMeasures, v: Verdict) -> None:
    """Keys ``maxmemory`` evicted: reported whenever there were some; a replica's own
    evictions asserted where the scenario says whether replicas evict."""
    own = m.replica_evicted or {}
    if expect.replica_evictions is not None:
        v.check("replicas evicted keys on their own" if expect.replica_evictions
                else "no replica evicted keys on its own",
                bool(own) == expect.replica_evictions,
                f"{sum(own.values())} key(s)" if m.evicted is not None
                else "INFO not read: unknown")
    if m.evicted:
        each = ", ".join(f"{label}{' (replica)' if label in own else ''}: {n}"
                         for label, n in m.evicted.items())
        v.findings.append(f"{sum(m.evicted.values())} keys evicted (maxmemory; {each})"
                          + (f": the replicas dropped {sum(own.values())} keys their master "
                             "kept, their datasets diverged" if own else ""))


def _judge_anomalies(expect: Expect, m: ShardMeasures, v: Verdict) -> None:
    """With the list-append workload: each anomaly class that lost data or showed two
    histories is a finding where the scenario documents it, else a failed check."""
    if m.anomalies is None:
        return
    documented = expect.documented_anomalies()
    for kind, count in m.anomalies.items():
        if kind in BY_DESIGN or not count:
            continue
        words = f"list-append: {count} {anomalies.WORDS[kind]}"
        if kind in documented:
            v.findings.append(words)
        else:
            v.check(f"no {anomalies.WORDS[kind]} (list-append)", False, words)


def judge(expect: Expect, m: ShardMeasures, convergence: Convergence | None,
          election_retry_s: float = 0.0) -> Verdict:
    """The verdict on one shard's measures.

    ``election_retry_s`` (the Sentinels' failover timeout) is added to a failover bound
    once per split vote that was *observed*: Sentinel retries a leaderless election after
    it, by design. The split is reported as a finding, never hidden in the bound.
    """
    v = Verdict(Status.PASS)
    notable = False
    if expect.failover is True:
        v.check("fails over", m.failover_s is not None,
                f"+switch-master after {m.failover_s} s" if m.failover_s is not None
                else "no +switch-master")
        if expect.failover_within_s is not None and m.failover_s is not None:
            bound = expect.failover_within_s
            if m.split_votes and election_retry_s:
                bound += m.split_votes * election_retry_s
                v.findings.append(f"Sentinel's election split {m.split_votes} time(s) and "
                                  f"was retried: failover took {m.failover_s} s")
                notable = True
            v.check(f"fails over within {bound:g} s", m.failover_s <= bound, f"{m.failover_s} s")
    elif expect.failover is False:
        v.check("does not fail over", m.failover_s is None,
                "no +switch-master" if m.failover_s is None
                else f"+switch-master after {m.failover_s} s")

    if expect.max_lost_writes is not None:
        if m.lost_writes is None:
            v.check("acknowledged writes kept", False, "no read-back: loss unknown")
        elif expect.lost_writes_are_finding and m.lost_writes > expect.max_lost_writes:
            v.findings.append(f"{m.lost_writes} acknowledged writes lost")
        else:
            v.check(f"at most {expect.max_lost_writes} acknowledged writes lost",
                    m.lost_writes <= expect.max_lost_writes, f"{m.lost_writes} lost")

    elif m.lost_writes:  # not an expectation here (a saved sequence, an example): explained
        v.findings.append(explain_loss(m))
        notable = True

    if expect.split_brain_expected:
        split = m.split_brain_s
        v.check("split brain measured", split > 0,
                f"{m.split_brain_roles_s} s two masters, "
                f"{m.split_brain_haproxy_s} s two UP in HAProxy")
        if split > 0:
            v.findings.append(f"split brain: {m.split_brain_roles_s} s with two masters, "
                              f"{m.split_brain_haproxy_s} s with two UP in HAProxy")

    # The behaviour a catalogue scenario exists to show: asserted, and reported as found.
    for channel in expect.sentinel_events:
        seen = m.sentinel_events.get(channel, 0)
        v.check(f"Sentinel published {channel}", seen > 0, f"{seen} time(s)")
        if seen:
            v.findings.append(f"Sentinel published {channel} ({seen} time(s))")
        if seen and channel == "+tilt":
            v.findings.append(f"a Sentinel of shard {m.shard} stayed in TILT for up to "
                              f"{m.tilt_s} s")
    for error in expect.errors_seen:
        seen = m.errors.get(error, 0)
        v.check(f"clients were answered {error}", seen > 0, f"{seen} operation(s)")
        if seen:
            v.findings.append(f"clients were answered {error} {seen} time(s)")
    for denial in expect.acl_denied:
        seen = (m.acl_denials or {}).get(denial, 0)
        user, _, command = denial.partition(" ")
        v.check(f"the instances' ACL refused {user} {command.upper()}", seen > 0,
                f"{seen} time(s)" if m.acl_denials is not None else "ACL LOG not read")
        if seen:
            v.findings.append(f"the instances' ACL refused {user} {command.upper()} "
                              f"{seen} time(s) (ACL LOG)")
    _at_least(v, expect.replica_stuck_s, m.replica_link_down_s, "a replica could not sync",
              f"a replica of shard {m.shard} could not sync", "longest link down")
    _at_least(v, expect.sentinel_down_s, m.sentinel_down_s, "a Sentinel answered nothing",
              f"a Sentinel of shard {m.shard} answered nothing", "longest")
    _at_least(v, expect.sentinels_disagree_s, m.sentinels_disagree_s,
              "the Sentinels named different masters",
              f"the Sentinels of shard {m.shard} named different masters", "longest")
    if expect.sentinels_disagree_s is None and m.sentinels_disagree_s >= DISAGREE_REPORTED_S:
        # Reported, never asserted: a cold start, a failover one Sentinel learned late.
        v.findings.append(f"the Sentinels of shard {m.shard} named different masters for "
                          f"up to {m.sentinels_disagree_s} s")

    if expect.misconf_s is not None:
        v.check(f"an instance answered PING with MISCONF for {expect.misconf_s:g} s or more",
                m.misconf_s >= expect.misconf_s, f"longest {m.misconf_s} s")
    if m.misconf_s or m.misconf_writes:
        # Why Sentinel did what it did, whatever the scenario: reported, never asserted.
        v.findings.append(disk_errors(m))

    _judge_evictions(expect, m, v)

    if m.restarted and expect.restarts_reported:
        v.findings.append(f"{', '.join(m.restarted)} started again during the recording "
                          "(a new run_id)")
        notable = True

    if m.named_replaced:
        # Reported, never asserted: a Sentinel restarted from an old file may learn the
        # failover from a hello before anyone asks it.
        v.findings.append(f"{', '.join(m.named_replaced)} named the master the failover "
                          "replaced again, after it had named the new one")

    _judge_anomalies(expect, m, v)
    if expect.full_syncs_at_least is not None:
        full = m.syncs["full"] if m.syncs else None
        v.check(f"at least {expect.full_syncs_at_least} full syncs", full is not None
                and full >= expect.full_syncs_at_least,
                f"{full} full sync(s)" if full is not None else "INFO not read: unknown")
        if full is not None and full >= expect.full_syncs_at_least:
            v.findings.append(f"the shard's replicas were fully resynchronised {full} "
                              f"time(s) ({m.syncs['partial']} partial, "
                              f"{m.syncs['partial_refused']} PSYNC refused); a replica's "
                              f"link was down for up to {m.replica_link_down_s} s")
    if expect.planned_failover and m.syncs and m.syncs["full"]:
        v.findings.append(planned_full_syncs(m.syncs))
        notable = True

    worst = max([m.outage_s or 0, *m.outage_by_haproxy.values()])
    if expect.writes_during_fault is False and worst:
        by = ", ".join(f"{h}: {s} s" for h, s in sorted(m.outage_by_haproxy.items()))
        v.findings.append(f"shard {m.shard} unavailable for writes for up to {worst} s "
                          f"(through each HAProxy: {by})")

    settled = bool(convergence and convergence.settled)
    v.check("converges after heal", settled,
            f"settled in {convergence.seconds} s" if settled
            else f"not settled: {(convergence.problems if convergence else ['never checked'])[:3]}")
    if convergence and convergence.datasets_equal is False:
        v.check("replicas' datasets equal", False, str(convergence.datasets))

    if any(not c.ok for c in v.checks):
        v.status = Status.FAIL
    elif v.findings and (expect.finding or expect.lost_writes_are_finding or notable):
        v.status = Status.FINDING
        if expect.finding:
            v.findings.insert(0, expect.finding)
    return v


def disk_errors(m: ShardMeasures) -> str:
    """What an instance that could not persist told Sentinel and the clients, and what
    Sentinel did about it."""
    refused = ", ".join(f"{served}: {n}" for served, n in m.misconf_writes.items())
    writes = f"; {sum(m.misconf_writes.values())} write(s) refused with MISCONF " \
             f"({refused})" if refused else "; no write refused with MISCONF"
    then = f"Sentinel failed the master over {m.failover_s} s after the fault" \
        if m.failover_s is not None else "Sentinel did not fail over"
    if m.failover_s is not None and m.split_brain_roles_s:
        # Sentinel reconfigures no instance it sees down: the old master stays one.
        then += (f"; the old master, still refusing PING, stayed a master (two for "
                 f"{m.split_brain_roles_s} s) until it could persist again")
    return (f"an instance of shard {m.shard} could not persist and answered PING with "
            f"MISCONF for up to {m.misconf_s} s, which Sentinel counts as down{writes}: "
            f"{then}")


def planned_full_syncs(syncs: dict) -> str:
    """The finding of a planned failover that was not followed by partial syncs only."""
    sent = "" if syncs.get("repl_bytes") is None else \
        f", {syncs['repl_bytes'] / 10**6:.1f} MB sent to replicas"
    return (f"the planned failover was followed by {syncs['full']} full sync(s) and "
            f"{syncs['partial']} partial one(s) ({syncs['partial_refused']} PSYNC refused"
            f"{sent}): a replica was sent the whole dataset again")


def explain_loss(m: ShardMeasures) -> str:
    """Why a shard lost acknowledged writes, from what its measures show."""
    said = f"shard {m.shard}: {m.lost_writes} acknowledged writes lost"
    if m.restarted and m.failover_s is None:
        # Before split brain: a replica resynced with REPLICAOF NO ONE (memory-limit)
        # says role:master for a few milliseconds, which is not why anything was lost.
        return (f"{said} without a failover: {', '.join(m.restarted)} started again (a new "
                "run_id) with less than it had acknowledged (an older or empty dataset) "
                "and its replicas copied it")
    if m.split_brain_roles_s > 0 or m.split_brain_haproxy_s > 0:
        return (f"{said} while two of its instances said role:master for "
                f"{m.split_brain_roles_s} s ({m.split_brain_haproxy_s} s both UP in "
                "HAProxy): the old master kept taking writes that the new one never had, "
                "and dropped them when Sentinel made it a replica")
    if m.failover_s is not None:
        return (f"{said}: Sentinel failed over after {m.failover_s} s and the new master "
                "lacked what the old one had acknowledged (asynchronous replication)")
    return (f"{said} without a failover: the master came back with less than it had "
            "acknowledged (a restart from an older or empty dataset) and its replicas "
            "copied it")
