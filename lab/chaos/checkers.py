"""Measurements over a history: pure functions, one definition each (docs/design.md, Measures).

``outage``        per shard, the longest gap between two successful writes through its
                  master port that overlaps a fault window; also per HAProxy the clients
                  used (``outage_by_haproxy``), since a partition can hide a shard from
                  some clients only
``failover``      fault start -> first ``+switch-master``; fault start -> first successful
                  write through HAProxy that started after that switch (the fault start:
                  the first fault that does more than set the stage, :func:`clock_start`)
``lost``          acknowledged writes absent from the shard's final master after heal and
                  settle (keys set, and values appended to lists: the anomalies' lost
                  appends); ``indeterminate``: unacknowledged writes that did land
``unconfirmed``   (``--ack wait:N``) writes the master acknowledged and fewer than N
                  replicas confirmed; ``unconfirmed_lost``: those of them absent after heal
``demoted``       writes acknowledged by a demoted master: an instance a majority of the
                  shard's Sentinels named before, while that majority names another
                  (``demoted_writes``), and the time clients spent
                  writing to such an instance (``demoted_write_s``: per client, from the
                  first to the last write of each unbroken run of them, merged over clients)
``split brain``   total time two instances of one shard reported ``role:master``, and time
                  the route's HAProxy master backend had two instances UP
``convergence``   after heal, within a bound: one master per shard, every Sentinel agrees,
                  replicas linked, datasets equal (recorded by the runner, judged here)
``stale reads``   reads through replica ports that missed a write acknowledged earlier
``acl denials``   commands the shard's instances' ACLs refused during the recording, per
                  user and command (ACL LOG's counts after less before)
``anomalies``     of the list-append operations, against each list's final content
                  (:mod:`lab.chaos.anomalies`, one definition per class)

Every function takes the event list of :func:`lab.chaos.history.read` (sorted by ``t``)
and tolerates the hard cases: no events, a fault that never healed, events slightly out
of order (observations arrive from many threads).
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from lab.chaos import anomalies
from lab.topology import backend_name, haproxy_instance

# A write the serving instance acknowledged (with WAIT, confirmed or not).
ACKNOWLEDGED = ("ok", "unconfirmed")


@dataclass(frozen=True)
class Window:
    """A fault's time span; ``healed`` is False when the history ends before its heal."""

    fault: str
    start: float
    end: float
    healed: bool
    stage: bool = False  # it only set the stage for the fault proper (Fault.sets_stage)


@dataclass
class ShardMeasures:
    shard: int
    writes: dict[str, int] = field(default_factory=dict)  # outcome -> count
    reads: dict[str, int] = field(default_factory=dict)
    outage_s: float | None = None
    outage_open: bool = False  # no successful write after the fault, to the end
    outage_by_haproxy: dict[str, float] = field(default_factory=dict)  # as clients saw it
    failover_s: float | None = None
    writes_resumed_s: float | None = None
    new_master: str | None = None
    split_votes: int = 0  # Sentinel elections that found no leader (-failover-abort-not-elected)
    lost_writes: int | None = None  # None: no read-back, unknown
    lost_keys: list[str] = field(default_factory=list)
    indeterminate_writes: int | None = None
    unconfirmed: int = 0
    unconfirmed_lost: int | None = None
    demoted_writes: int = 0
    demoted_write_s: float = 0.0
    split_brain_roles_s: float = 0.0
    split_brain_haproxy_s: float = 0.0
    stale_reads: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    # Sentinel events about this shard from the first fault of any kind on, per channel
    # (+tilt, -failover-abort-no-good-slave, ...): what the catalogue scenarios assert on.
    sentinel_events: dict[str, int] = field(default_factory=dict)
    # The longest time one of the shard's instances was a replica with its link down.
    replica_link_down_s: float = 0.0
    # The longest time one of the shard's Sentinels answered nothing (stopped, crashed,
    # unable to start), from the first fault on.
    sentinel_down_s: float = 0.0
    # The longest time the shard's Sentinels named different masters, from the first
    # fault on (until every one of them agrees again).
    sentinels_disagree_s: float = 0.0
    # The longest time one of the shard's Sentinels was in TILT (+tilt to -tilt, or to the
    # end of the history), from the first fault on.
    tilt_s: float = 0.0
    # The longest time one of the shard's instances answered PING with MISCONF (it could
    # not persist: a full disk), from the first fault on; and the writes refused with
    # MISCONF, by the instance that refused them (its address, as clients saw it).
    misconf_s: float = 0.0
    misconf_writes: dict[str, int] = field(default_factory=dict)
    # Sentinels that named the master a failover replaced again, after the failover every
    # Sentinel had learned (one restarted from a file that never saved the failover).
    named_replaced: list[str] = field(default_factory=list)
    # Refusals by the instances' ACLs during the recording, "user command" -> count
    # ("sentinel slaveof"); None: ACL LOG not read (an older history, an instance that
    # did not answer).
    acl_denials: dict[str, int] | None = None
    # The list-append anomalies (lab.chaos.anomalies.CLASSES -> count; a class that needs
    # the final lists is None when they could not be read); None: no list operations.
    anomalies: dict[str, int | None] | None = None
    # The first witnesses of each class (Anomaly as plain data), for the report.
    anomaly_examples: dict[str, list[dict]] = field(default_factory=dict)
    appends: dict[str, int] = field(default_factory=dict)  # outcome -> count
    # Resynchronisations the shard's masters served during the recording (syncs): full,
    # partial, partial_refused, repl_bytes (None where the engine does not count them);
    # None: INFO not read before and after (an older history, an instance unreadable).
    syncs: dict[str, int | None] | None = None
    # The shard's instances that started again during the recording (a new run_id
    # between the reads before and after: crashed, killed, OOM-killed, restarted).
    restarted: list[str] = field(default_factory=list)
    # Keys the shard's instances evicted (maxmemory) during the recording, per instance,
    # and those of them that were replicas (keys a replica dropped on its own: its
    # dataset is no longer its master's); None: INFO not read before and after.
    evicted: dict[str, int] | None = None
    replica_evicted: dict[str, int] | None = None

    @property
    def split_brain_s(self) -> float:
        """Split brain as one number: the longer of the two ways it is seen."""
        return max(self.split_brain_roles_s, self.split_brain_haproxy_s)

    def as_dict(self) -> dict:
        return asdict(self)


def fault_windows(events: list[dict]) -> list[Window]:
    """Inject/heal pairs by fault id; an unhealed fault lasts to the end of the history."""
    end = events[-1]["t"] if events else 0.0
    injected: dict[str, dict] = {}
    windows = []
    for e in events:
        if e["type"] != "fault":
            continue
        if e["phase"] == "inject":
            injected[e["id"]] = e
        elif e["phase"] == "heal" and e["id"] in injected:
            start = injected.pop(e["id"])
            windows.append(Window(start["fault"], start["t"], e["t"], True,
                                  start.get("stage", False)))
    windows += [Window(e["fault"], e["t"], end, False, e.get("stage", False))
                for e in injected.values()]
    return sorted(windows, key=lambda w: w.start)


def measure(
    events: list[dict], shards: list[int], monitor_names: dict[int, str],
    master_backends: dict[int, str | None] | None = None,
    sentinels: dict[int, list[str]] | None = None,
) -> dict[int, ShardMeasures]:
    """Every measurement for every shard (``master_backends``: the HAProxy master backend
    each shard's writes went through, default ``shard<N>_master``, None: no HAProxy;
    ``sentinels``: the labels of the Sentinels watching each shard, to place their events
    that name no shard, like +tilt, and to count a majority; without it those events
    count for every shard and the majority is of the Sentinels seen naming a master)."""
    if master_backends is None:
        master_backends = {n: backend_name(n, "master") for n in shards}
    windows = fault_windows(events)
    first_fault = clock_start(windows)
    ops = [e for e in events if e["type"] == "op"]
    result = {}
    for shard in shards:
        m = ShardMeasures(shard)
        mine = [o for o in ops if o["shard"] == shard]
        writes = [o for o in mine if o["op"] == "write"]
        reads = [o for o in mine if o["op"] == "read"]
        appends = [o for o in mine if o["op"] == "append"]
        # What a client's write is for availability: a key set or a value appended.
        any_writes = sorted(writes + appends, key=lambda o: o["t"]) if appends else writes
        m.writes = dict(Counter(o["outcome"] for o in writes))
        m.reads = dict(Counter(o["outcome"] for o in reads))
        m.appends = dict(Counter(o["outcome"] for o in appends))
        m.errors = dict(Counter(o.get("error") or ("unconfirmed" if o["outcome"] == "unconfirmed"
                                                   else "unknown")
                                for o in mine if o["outcome"] != "ok"))
        m.outage_s, m.outage_open = outage(any_writes, windows, _span(events))
        for host in sorted({o["host"] for o in any_writes}):
            seconds, _ = outage([o for o in any_writes if o["host"] == host], windows,
                                _span(events))
            if seconds is not None:
                m.outage_by_haproxy[host] = seconds
        if first_fault is not None:
            switch = first_switch(events, monitor_names[shard], first_fault)
            if switch:
                m.failover_s = round(switch[0] - first_fault, 3)
                m.new_master = switch[1]
                after = [o["end"] for o in any_writes
                         if o["outcome"] == "ok" and o["start"] >= switch[0]]
                if after:
                    m.writes_resumed_s = round(min(after) - first_fault, 3)
            m.split_votes = split_votes(events, monitor_names[shard], first_fault)
            m.named_replaced = named_replaced(events, shard, monitor_names[shard], first_fault)
        m.lost_writes, m.lost_keys, m.indeterminate_writes = lost_writes(events, shard, writes)
        m.unconfirmed = m.writes.get("unconfirmed", 0)
        m.unconfirmed_lost = unconfirmed_lost(events, shard, writes)
        voters = len(sentinels[shard]) if sentinels and shard in sentinels else None
        m.demoted_writes, m.demoted_write_s = demoted(any_writes,
                                                      named_majority(events, shard, voters))
        m.split_brain_roles_s = round(split_brain_roles(events, shard), 3)
        backend = master_backends.get(shard)
        m.split_brain_haproxy_s = round(split_brain_haproxy(events, backend), 3) \
            if backend else 0.0
        m.stale_reads = stale_reads(writes, reads)
        watching = set(sentinels[shard]) if sentinels and shard in sentinels else None
        # From the first fault of any kind: what a fault that sets the stage makes
        # Sentinel do (a conversion, a TILT) counts too.
        m.sentinel_events = sentinel_events(events, monitor_names[shard], watching,
                                            windows[0].start if windows
                                            else _span(events)[0])
        m.replica_link_down_s = round(replica_link_down(events, shard, first_fault), 3)
        m.sentinel_down_s = round(sentinel_down(events, shard, first_fault), 3)
        # From the first fault of any kind: one that sets the stage may be the cause.
        m.sentinels_disagree_s = round(sentinels_disagree(
            events, shard, windows[0].start if windows else None), 3)
        m.tilt_s = round(tilt(events, watching, first_fault), 3)
        m.misconf_s = round(misconf(events, shard, first_fault), 3)
        m.misconf_writes = refused_by(any_writes, "MISCONF")
        m.acl_denials = acl_denials(events, shard)
        m.syncs = syncs(events, shard)
        m.restarted = restarted(events, shard)
        m.evicted, m.replica_evicted = evictions(events, shard) or (None, None)
        if appends or any(o["op"] == "lrange" for o in mine):
            m.anomalies, m.anomaly_examples = list_anomalies(events, shard, mine)
            # An appended value is a write too: lost writes count both kinds.
            lost_appends = m.anomalies["lost-append"]
            m.lost_writes = None if m.lost_writes is None or lost_appends is None \
                else m.lost_writes + lost_appends
        result[shard] = m
    return result


def list_anomalies(events: list[dict], shard: int, ops: list[dict]
                   ) -> tuple[dict[str, int | None], dict[str, list[dict]]]:
    """The shard's list-append anomalies against the lists its final master held
    (``readback-lists``); without them, the classes that need them are None."""
    final = next((e["lists"] for e in events if e["type"] == "readback-lists"
                  and e["shard"] == shard), None)
    found = anomalies.check(ops, final)
    counts: dict[str, int | None] = dict(found.counts)
    if final is None:
        counts.update(dict.fromkeys(anomalies.NEED_FINAL))
    # As results.json holds them (the witnesses a list, not a tuple): a re-judged history
    # compares equal to the recorded one.
    return counts, {kind: [{**asdict(a), "ops": list(a.ops)} for a in examples]
                    for kind, examples in found.examples.items()}


def clock_start(windows: list[Window]) -> float | None:
    """When the failover clock starts: the first fault that does more than set the stage
    (a narrowed ACL user held before the master stops), else the first fault."""
    proper = [w.start for w in windows if not w.stage]
    return proper[0] if proper else (windows[0].start if windows else None)


def outage(writes: list[dict], windows: list[Window], span: tuple[float, float]
           ) -> tuple[float | None, bool]:
    """(longest gap overlapping a fault, whether it was still open at the end)."""
    if not windows:
        return None, False
    times = sorted(o["end"] for o in writes if o["outcome"] == "ok")
    # The history's edges bound the first and last gap.
    points = [span[0], *times, span[1]]
    longest, open_ = 0.0, False
    for i, (a, b) in enumerate(zip(points, points[1:], strict=False)):
        if any(a <= w.end and b >= w.start for w in windows) and b - a > longest:
            longest = b - a
            open_ = i == len(points) - 2  # the gap runs to the end of the history
    return round(longest, 3), open_


def first_switch(events: list[dict], monitor: str, since: float) -> tuple[float, str] | None:
    """(time, new master "ip:port") of the first ``+switch-master`` for ``monitor``."""
    for e in events:
        if e["type"] == "sentinel" and e["channel"] == "+switch-master" and e["t"] >= since:
            parts = str(e["data"]).split()
            if len(parts) == 5 and parts[0] == monitor:
                return e["t"], f"{parts[3]}:{parts[4]}"
    return None


def named_replaced(events: list[dict], shard: int, monitor: str, since: float) -> list[str]:
    """The Sentinels that, after naming the new master of the shard's first failover
    since ``since``, named the master it replaced again (in the order they did)."""
    switch = next((e for e in events if e["type"] == "sentinel" and e["t"] >= since
                   and e["channel"] == "+switch-master"
                   and str(e["data"]).split()[:1] == [monitor]), None)
    if switch is None:
        return []
    _, old_ip, old_port, new_ip, new_port = str(switch["data"]).split()
    old, new = f"{old_ip}:{old_port}", f"{new_ip}:{new_port}"
    learned: set[str] = set()
    found: list[str] = []
    for e in events:
        # From the fault on: the failover's leader names the new master before it
        # publishes +switch-master.
        if e["type"] != "named" or e.get("shard") != shard or e["t"] < since:
            continue
        if e["master"] == new:
            learned.add(e["sentinel"])
        elif e["master"] == old and e["sentinel"] in learned and e["sentinel"] not in found:
            found.append(e["sentinel"])
    return found


def split_votes(events: list[dict], monitor: str, since: float) -> int:
    """Elections for ``monitor`` that ended without a leader: each costs a retry."""
    return sum(1 for e in events
               if e["type"] == "sentinel" and e["channel"] == "-failover-abort-not-elected"
               and e["t"] >= since and str(e["data"]).split()[1:2] == [monitor])


def sentinel_events(events: list[dict], monitor: str, watching: set[str] | None,
                    since: float) -> dict[str, int]:
    """Per channel, the Sentinel events since ``since`` about ``monitor``: those naming it
    (``master shard1 ...``, ``shard1 ...``, ``... @ shard1 ...``), and those naming no
    monitor (``#tilt mode entered``) from a Sentinel in ``watching`` (None: any)."""
    found: Counter[str] = Counter()
    for e in events:
        if e["type"] != "sentinel" or e["t"] < since:
            continue
        data = str(e["data"])
        names_it = monitor in data.split()
        from_watcher = data.startswith("#") and (watching is None
                                                 or e.get("sentinel") in watching)
        if names_it or from_watcher:
            found[e["channel"]] += 1
    return dict(sorted(found.items()))


def longest_stretch(marks: Iterable[tuple[float, str, bool]], since: float | None,
                    end: float) -> float:
    """The longest stretch, from ``since`` on, during which a condition held for one key:
    ``marks`` are ``(time, key, holds)`` in time order; a stretch still open lasts to
    ``end``. 0 when ``since`` is None (no fault)."""
    if since is None:
        return 0.0
    held_since: dict[str, float] = {}
    longest = 0.0
    for t, key, holds in marks:
        if holds and key not in held_since:
            held_since[key] = max(t, since)
        elif not holds and key in held_since:
            longest = max(longest, t - held_since.pop(key))
    return max([longest, *(end - t for t in held_since.values())])


def _end(events: list[dict]) -> float:
    return events[-1]["t"] if events else 0.0


def replica_link_down(events: list[dict], shard: int, since: float | None) -> float:
    """The longest stretch, from ``since`` on, during which one instance of ``shard``
    reported ``role:slave`` with ``master_link_status:down`` (a replica that cannot sync)."""
    return longest_stretch(((e["t"], e["instance"],
                             e.get("role") == "slave" and e.get("link") == "down")
                            for e in events if e["type"] == "role" and e.get("shard") == shard),
                           since, _end(events))


def misconf(events: list[dict], shard: int, since: float | None) -> float:
    """The longest stretch, from ``since`` on, during which one instance of ``shard``
    answered PING with MISCONF, as Sentinel's PING would have been answered: a reply
    Sentinel does not take for alive (only PONG, LOADING and MASTERDOWN are)."""
    return longest_stretch(((e["t"], e["instance"], e.get("refused") == "MISCONF")
                            for e in events if e["type"] == "role" and e.get("shard") == shard),
                           since, _end(events))


def refused_by(writes: list[dict], code: str) -> dict[str, int]:
    """Per instance that served them (``served``: its address as the client saw it, or
    ``"unknown"``), how many of ``writes`` it refused with the error ``code``."""
    return dict(sorted(Counter(o.get("served") or "unknown" for o in writes
                               if o.get("error") == code).items()))


def sentinel_down(events: list[dict], shard: int, since: float | None) -> float:
    """The longest stretch, from ``since`` on, during which one Sentinel watching
    ``shard`` answered nothing when asked which master it names (``named`` events with
    no master because the Sentinel did not answer)."""
    return longest_stretch(((e["t"], e["sentinel"],
                             e.get("master") is None and e.get("answered") is False)
                            for e in events if e["type"] == "named" and e.get("shard") == shard),
                           since, _end(events))


def sentinels_disagree(events: list[dict], shard: int, since: float | None) -> float:
    """The longest stretch, from ``since`` on, during which the Sentinels watching
    ``shard`` that named a master did not all name the same one (a Sentinel that
    answered nothing, or named none, disagrees with no one)."""
    named: dict[str, str | None] = {}

    def marks():
        for e in events:
            if e["type"] == "named" and e.get("shard") == shard:
                named[e["sentinel"]] = e.get("master")
                yield e["t"], "shard", len({m for m in named.values() if m}) > 1
    return longest_stretch(marks(), since, _end(events))


def tilt(events: list[dict], watching: set[str] | None, since: float | None) -> float:
    """The longest stretch, from ``since`` on, one Sentinel in ``watching`` (None: any)
    spent in TILT mode: from its ``+tilt`` to its ``-tilt``, or to the history's end."""
    return longest_stretch(((e["t"], e.get("sentinel"), e["channel"] == "+tilt")
                            for e in events if e["type"] == "sentinel"
                            and e["channel"] in ("+tilt", "-tilt")
                            and (watching is None or e.get("sentinel") in watching)),
                           since, _end(events))


def acl_denials(events: list[dict], shard: int) -> dict[str, int] | None:
    """Per ``"user command"`` (``"sentinel slaveof"``; another reason than a command is
    named too: ``"sentinel auth"``), how often the instances of ``shard`` refused it
    between the ``acl-log`` reads before and after the recording. ACL LOG groups repeats
    into one entry with a count (a new entry after a minute; numbered from Redis 7.2):
    each entry counts what it grew by. None when an instance's log was not read after."""
    logs = [e for e in events if e["type"] == "acl-log" and e.get("shard") == shard]
    after = [e for e in logs if e["phase"] == "after"]
    if not after or any(e.get("entries") is None for e in after):
        return None
    found: Counter[str] = Counter()
    for read in after:
        before = next((e.get("entries") or [] for e in logs if e["phase"] == "before"
                       and e["instance"] == read["instance"]), [])
        earlier = _acl_counts(before)
        for key, count in _acl_counts(read["entries"]).items():
            # Counts only grow: a smaller one is a new entry whose older twin fell off the
            # log's end (unnumbered entries, Redis 7.0), all of it new.
            was = earlier.get(key, 0)
            grew = count - was if count >= was else count
            if grew:
                found[_acl_denial_name(key)] += grew
    return dict(sorted(found.items()))


SYNC_COUNTERS = {"full": "sync_full", "partial": "sync_partial_ok",
                 "partial_refused": "sync_partial_err",
                 "repl_bytes": "total_net_repl_output_bytes"}


def restarted(events: list[dict], shard: int) -> list[str]:
    """The instances of ``shard`` whose ``run_id`` after the recording differs from the
    one before it (each process start draws a new one), in label order; an instance not
    read both times is not counted."""
    before = {e["instance"]: e.get("run_id") for e in events
              if e["type"] == "sync-stats" and e.get("shard") == shard
              and e["phase"] == "before"}
    return sorted(e["instance"] for e in events
                  if e["type"] == "sync-stats" and e.get("shard") == shard
                  and e["phase"] == "after" and e.get("run_id")
                  and before.get(e["instance"]) not in (None, e["run_id"]))


def sync_reads(events: list[dict], shard: int) -> list[tuple[dict | None, dict]]:
    """Each instance of ``shard`` read after the recording (``sync-stats``), with its read
    before (None if there was none)."""
    reads = [e for e in events if e["type"] == "sync-stats" and e.get("shard") == shard]
    before = {e["instance"]: e for e in reads if e["phase"] == "before"}
    return [(before.get(e["instance"]), e) for e in reads if e["phase"] == "after"]


def syncs(events: list[dict], shard: int) -> dict[str, int | None] | None:
    """How many full and partial resynchronisations the instances of ``shard`` served
    between the ``sync-stats`` reads before and after the recording, and how many bytes
    they sent their replicas: each instance's counter after less its counter before, or
    all of it after a restart (a new ``run_id``: the counters start again at 0).
    ``repl_bytes`` is None where an engine does not count it. None when an instance
    could not be read before or after: what it served is unknown."""
    pairs = sync_reads(events, shard)
    if not pairs:
        return None
    found: dict[str, int | None] = dict.fromkeys(SYNC_COUNTERS, 0)
    for before, read in pairs:
        if read["counters"] is None or before is None or before["counters"] is None:
            return None
        restarted = before["run_id"] != read["run_id"]
        for name, counter in SYNC_COUNTERS.items():
            if found[name] is None or counter not in read["counters"]:
                found[name] = None
                continue
            was = 0 if restarted else before["counters"].get(counter, 0)
            found[name] += read["counters"][counter] - was
    return found


def evictions(events: list[dict], shard: int
              ) -> tuple[dict[str, int], dict[str, int]] | None:
    """Per instance of ``shard`` that evicted keys (``maxmemory``) between the
    ``sync-stats`` reads before and after the recording, how many (all it counted after
    a restart); and the same for those of them that were replicas when read after: keys
    a replica dropped on its own (its master's evictions reach it as deletions, which it
    does not count). None when an instance was not read both times, or none was read."""
    pairs = sync_reads(events, shard)
    if not pairs:
        return None
    evicted: dict[str, int] = {}
    by_replicas: dict[str, int] = {}
    for before, read in pairs:
        if read["counters"] is None or before is None or before["counters"] is None \
                or "evicted_keys" not in read["counters"]:
            return None
        was = 0 if before["run_id"] != read["run_id"] else \
            before["counters"].get("evicted_keys", 0)
        if read["counters"]["evicted_keys"] > was:
            evicted[read["instance"]] = read["counters"]["evicted_keys"] - was
            if read.get("role") == "slave":
                by_replicas[read["instance"]] = evicted[read["instance"]]
    return evicted, by_replicas


def _acl_counts(entries: list[dict]) -> Counter[tuple]:
    """One ACL LOG read's counts, by entry (:func:`_acl_entry_key`)."""
    counts: Counter[tuple] = Counter()
    for entry in entries:
        counts[_acl_entry_key(entry)] += int(entry["count"])
    return counts


def _acl_entry_key(entry: dict) -> tuple:
    """What tells one ACL LOG entry from another: its number where the engine gives one,
    else the fields Redis groups repeats by."""
    grouping = (entry.get("reason"), entry.get("context"), entry.get("object"),
                entry.get("username"))
    return (*grouping, entry.get("entry-id"))


def _acl_denial_name(key: tuple) -> str:
    reason, _, command, user, _ = key
    return f"{user} {command}" if reason == "command" else f"{user} {reason}"


def lost_writes(events: list[dict], shard: int, writes: list[dict]
                ) -> tuple[int | None, list[str], int | None]:
    """(acknowledged writes lost, a sample of their keys, unacknowledged writes that landed)."""
    present = _present(events, shard)
    if present is None:
        return None, [], None
    lost = [o["key"] for o in writes if o["outcome"] == "ok" and o["key"] not in present]
    landed = sum(1 for o in writes if o["outcome"] in ("fail", "unknown") and o["key"] in present)
    return len(lost), lost[:20], landed


def _present(events: list[dict], shard: int) -> set[str] | None:
    """The workload keys the shard's final master held after heal (None: no read-back)."""
    readbacks = [e for e in events if e["type"] == "readback" and e["shard"] == shard]
    if not readbacks or readbacks[-1].get("present") is None:
        return None
    return set(readbacks[-1]["present"])


def unconfirmed_lost(events: list[dict], shard: int, writes: list[dict]) -> int | None:
    """Unconfirmed writes absent from the shard's final master (None: no read-back)."""
    present = _present(events, shard)
    if present is None:
        return None
    return sum(1 for o in writes if o["outcome"] == "unconfirmed" and o["key"] not in present)


def named_majority(events: list[dict], shard: int, voters: int | None = None
                   ) -> list[tuple[float, str | None]]:
    """When the master a majority of ``shard``'s ``voters`` Sentinels name changed:
    ``(t, "ip:port")``, or ``(t, None)`` while no master has a majority. ``voters`` None:
    the Sentinels seen naming one."""
    named: dict[str, str | None] = {}
    mine = [e for e in events if e["type"] == "named" and e.get("shard") == shard]
    need = (voters or len({e["sentinel"] for e in mine})) // 2 + 1
    changes: list[tuple[float, str | None]] = []
    for e in mine:
        named[e["sentinel"]] = e.get("master")
        counts = Counter(m for m in named.values() if m)
        leader = next((m for m, n in counts.items() if n >= need), None)
        if not changes or changes[-1][1] != leader:
            changes.append((e["t"], leader))
    return changes


def demoted(writes: list[dict], majority: list[tuple[float, str | None]]
            ) -> tuple[int, float]:
    """(acknowledged writes served by a demoted master, seconds clients spent writing to
    one). A demoted master is an instance a majority of Sentinels named before and no
    longer names, while that majority names another. Writes to a newly promoted master
    that the majority does not name yet, writes while no majority names anyone, and writes
    whose server is not known are not counted."""
    times = [t for t, _ in majority]
    former: list[frozenset[str]] = []  # per change: the demoted masters from then on
    named_before: set[str] = set()
    for _, leader in majority:
        if leader is not None:
            named_before.add(leader)
        former.append(frozenset(named_before - {leader}) if leader else frozenset())

    def to_demoted(o: dict) -> bool:
        if o["outcome"] not in ACKNOWLEDGED or not o.get("served"):
            return False
        at = bisect.bisect_right(times, o["end"]) - 1
        return at >= 0 and o["served"] in former[at]

    count, spans = 0, []
    by_client: dict[object, list[dict]] = defaultdict(list)
    for o in writes:
        by_client[o.get("client")].append(o)
    for ops in by_client.values():
        run: list[dict] = []
        for o in sorted(ops, key=lambda o: o["start"]) + [None]:
            if o is not None and to_demoted(o):
                run.append(o)
                count += 1
            elif run:
                spans.append((run[0]["start"], run[-1]["end"]))
                run = []
    return count, round(_union_length(spans), 3)


def _union_length(spans: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for a, b in sorted(spans):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def split_brain_roles(events: list[dict], shard: int) -> float:
    """Seconds during which two or more instances of ``shard`` reported role:master."""
    roles: dict[str, str | None] = {}
    return _overlap_time(
        (e for e in events if e["type"] == "role" and e["shard"] == shard),
        lambda e: roles.__setitem__(e["instance"], e["role"]),
        lambda: sum(1 for r in roles.values() if r == "master") >= 2,
        events,
    )


def split_brain_haproxy(events: list[dict], backend: str) -> float:
    """Seconds during which any HAProxy had two or more instances UP in ``backend`` (a
    Sentinel-checked instance is UP once per majority naming it: it counts once)."""
    ups: dict[str, int] = defaultdict(int)
    return _overlap_time(
        (e for e in events if e["type"] == "haproxy" and e["backend"] == backend),
        lambda e: ups.__setitem__(e["haproxy"], len({haproxy_instance(s) for s in e["up"]})),
        lambda: any(n >= 2 for n in ups.values()),
        events,
    )


def _overlap_time(changes, apply, condition, events) -> float:
    """Total time ``condition()`` held, replaying ``changes`` in order."""
    total, since = 0.0, None
    for e in changes:
        apply(e)
        if condition() and since is None:
            since = e["t"]
        elif not condition() and since is not None:
            total += e["t"] - since
            since = None
    if since is not None and events:
        total += events[-1]["t"] - since
    return total


def stale_reads(writes: list[dict], reads: list[dict]) -> int:
    """Reads that found nothing although the key's write was acknowledged before they began."""
    acked = {o["key"]: o["end"] for o in writes if o["outcome"] == "ok"}
    return sum(
        1 for r in reads
        if r["outcome"] == "ok" and not r.get("found")
        and r["key"] in acked and acked[r["key"]] < r["start"]
    )


def convergence(events: list[dict]) -> dict | None:
    """The runner's post-heal convergence record, or None when the run never got there."""
    found = [e for e in events if e["type"] == "convergence"]
    return found[-1] if found else None


def skipped(events: list[dict]) -> str:
    """Why the scenario could not run here ("" when it ran)."""
    return next((e.get("reason") or "skipped" for e in events
                 if e["type"] == "fault" and e.get("phase") == "skipped"), "")


def observer_gaps(events: list[dict]) -> list[str]:
    """Observers that broke while recording (each restarted, but what it would have seen
    in between is missing): one line each, in order."""
    return [f"the {e['observer']} observer broke ({e['error']})" for e in events
            if e["type"] == "observer_error"]


def injected(events: list[dict]) -> list[dict]:
    """The faults as injected, in order: ``{"fault", "target"}``."""
    return [{"fault": e["fault"], "target": e.get("target")} for e in events
            if e["type"] == "fault" and e.get("phase") == "inject"]


def _span(events: list[dict]) -> tuple[float, float]:
    if not events:
        return (0.0, 0.0)
    ops = [e for e in events if e["type"] == "op"]
    start = min((o["start"] for o in ops), default=events[0]["t"])
    end = max((o["end"] for o in ops), default=events[-1]["t"])
    return start, end


def failover_phases(events: list[dict], at: float, master_backend: str) -> dict[str, float]:
    """Where a failover's time goes: seconds from the fault at ``at`` to the first
    ``+sdown`` (of a master), ``+odown``, ``+switch-master``, the new master UP in an
    HAProxy's ``master_backend``, and the first write acknowledged that started after
    the switch (steps not seen are left out)."""
    def first(match) -> float | None:
        found = [e["t"] for e in events if e["t"] >= at and match(e)]
        return round(min(found) - at, 3) if found else None

    switch = first(lambda e: e["type"] == "sentinel" and e["channel"] == "+switch-master")
    after = at + switch if switch is not None else float("inf")
    marks = {
        "sdown": first(lambda e: e["type"] == "sentinel" and e["channel"] == "+sdown"
                       and str(e["data"]).startswith("master")),
        "odown": first(lambda e: e["type"] == "sentinel" and e["channel"] == "+odown"),
        "switch_master": switch,
        "haproxy_up": first(lambda e: e["type"] == "haproxy" and e["backend"] == master_backend
                            and e["up"] and e["t"] >= after),
        "first_write": first(lambda e: e["type"] == "op" and e["op"] == "write"
                             and e["outcome"] == "ok" and e["start"] >= after),
    }
    return {k: v for k, v in marks.items() if v is not None}
