"""What clients saw: anomalies of a list-append history, Elle's approach in Python.

Clients append unique values to lists (``RPUSH k v``) and read whole lists (``LRANGE k 0
-1``); since every value is appended once, a read *is* the order of the appends it saw,
and two reads either agree (one is a prefix of the other) or show two histories of the
key. Elle (Kingsbury and Alvaro, VLDB 2020) infers from this alone what a
linearizability search could only find by trying every order; here the key's final list,
read from the final masters after heal and settle, stands in for Elle's last read.

The classes, one definition each (only ``ok`` reads count; an append counts as
acknowledged when its master acknowledged it: ``ok``, or ``unconfirmed`` under WAIT):

``incompatible-order``  keys whose reads are not all prefixes of one another: two
                        histories of the key existed (split brain as clients saw it);
                        witnesses: two reads from different histories
``lost-read``           values some client read that are absent from the key's final list
                        (the client acted on data that vanished)
``lost-append``         acknowledged appends absent from the key's final list
``stale-read``          reads missing appends acknowledged before the read began and
                        present at the end, with how many (versions) and since when (ms);
                        counted per port kind, ``master`` and ``replicas``
``non-monotonic-read``  a client reads a strict prefix of a list it read before
``read-your-writes``    a client's read misses one of its own appends acknowledged before
                        the read began and present at the end

Soundness with unknown outcomes: an append whose outcome is ``unknown`` (or ``fail``) is
never the sole cause of an anomaly: it is never counted as lost, stale or unread; a read
that contains its value is simply a read that saw it. Appends that were lost are reported
once, as lost; they do not also make every later read stale. Without the final lists
(``final`` None) only the read-only classes (incompatible order, non-monotonic reads) and
stale reads against every acknowledged append are judged.

Pure and linear in the history's size (plus the reads' lengths): :func:`check` takes the
``op`` events of :mod:`lab.chaos.history` in any order.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["ACKNOWLEDGED", "CLASSES", "NEED_FINAL", "WORDS", "Anomaly", "Anomalies", "check"]

ACKNOWLEDGED = ("ok", "unconfirmed")
CLASSES = ("incompatible-order", "lost-read", "lost-append", "stale-read:master",
           "stale-read:replicas", "non-monotonic-read", "read-your-writes")
# The classes judged against the final lists: not judged without them.
NEED_FINAL = ("lost-read", "lost-append")
# Each class in a few words (the report's table heads, the verdict's findings).
WORDS = {
    "incompatible-order": "incompatible orders",
    "lost-read": "reads of lost writes",
    "lost-append": "lost appends",
    "stale-read:master": "stale reads (master port)",
    "stale-read:replicas": "stale reads (replica port)",
    "non-monotonic-read": "non-monotonic reads",
    "read-your-writes": "read-your-writes violations",
}
# Witnesses kept per class: the first few are explained, the rest only counted.
WITNESSES = 5


@dataclass(frozen=True)
class Anomaly:
    """One anomaly: its class, the key, the operations that show it, and what they show
    (``detail``: the values involved, staleness, ...)."""

    kind: str
    key: str
    ops: tuple[dict, ...]
    detail: dict = field(default_factory=dict)


@dataclass
class Anomalies:
    """Per class, how many, and the first :data:`WITNESSES` with their witnesses."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))
    examples: dict[str, list[Anomaly]] = field(default_factory=lambda: defaultdict(list))

    def add(self, anomaly: Anomaly) -> None:
        self.counts[anomaly.kind] += 1
        if len(self.examples[anomaly.kind]) < WITNESSES:
            self.examples[anomaly.kind].append(anomaly)


def check(ops: Iterable[dict], final: Mapping[str, Sequence[str]] | None = None
          ) -> Anomalies:
    """The anomalies of the list-append operations among ``ops`` (``append`` and ``read``
    events of list keys; others are ignored), judged against ``final``: each key's list
    on its shard's final master (None: not read)."""
    appends: dict[str, list[dict]] = defaultdict(list)
    reads: dict[str, list[dict]] = defaultdict(list)
    for op in ops:
        if op.get("op") == "append":
            appends[op["key"]].append(op)
        elif op.get("op") == "lrange" and op.get("outcome") == "ok":
            reads[op["key"]].append(op)
    found = Anomalies()
    for key in sorted(set(appends) | set(reads)):
        _check_key(key, appends.get(key, []), sorted(reads.get(key, []),
                                                     key=lambda o: o["start"]),
                   None if final is None else list(final.get(key, ())), found)
    return found


def _check_key(key: str, appends: list[dict], reads: list[dict], final: list[str] | None,
               found: Anomalies) -> None:
    acknowledged = [a for a in appends if a["outcome"] in ACKNOWLEDGED]
    at_end = None if final is None else set(final)
    lost = [] if at_end is None else [a for a in acknowledged if a["value"] not in at_end]
    for append in lost:
        found.add(Anomaly("lost-append", key, (append,), {"value": append["value"]}))
    lost_values = {a["value"] for a in lost}
    _incompatible(key, reads, found)
    if at_end is not None:
        _lost_reads(key, appends, reads, at_end, found)
    kept = sorted((a for a in acknowledged if a["value"] not in lost_values),
                  key=lambda a: a["end"])
    _stale(key, kept, reads, found)
    _per_client(key, kept, reads, found)


def _incompatible(key: str, reads: list[dict], found: Anomalies) -> None:
    """Reads shortest first; each must extend one history's tip. A read that extends no
    tip starts another history: the key had two (witnesses: it and a tip it contradicts)."""
    tips: list[tuple[list, dict]] = []  # (list, the first read that showed it)
    for read in sorted(reads, key=lambda r: len(r["value"])):
        seen = read["value"]
        for i, (tip, _) in enumerate(tips):
            if seen[:len(tip)] == tip:
                tips[i] = (seen, read)
                break
        else:
            if len(tips) == 1:  # the key's first split: one anomaly per key
                tip, first = tips[0]
                found.add(Anomaly("incompatible-order", key, (first, read),
                                  {"one": tip, "other": seen}))
            tips.append((seen, read))


def _lost_reads(key: str, appends: list[dict], reads: list[dict], at_end: set,
                found: Anomalies) -> None:
    """Each value read that the key does not hold at the end, once, with the first read
    that showed it and its append (when the history has it)."""
    by_value = {a["value"]: a for a in appends}
    reported: set[str] = set()
    for read in reads:
        for value in read["value"]:
            if value not in at_end and value not in reported:
                reported.add(value)
                append = by_value.get(value)
                found.add(Anomaly("lost-read", key,
                                  (read, append) if append else (read,), {"value": value}))


def _stale(key: str, kept: list[dict], reads: list[dict], found: Anomalies) -> None:
    """A read misses ``n`` appends acknowledged before it began (and present at the end):
    stale by ``n`` versions, since the oldest missing one's acknowledgement."""
    ends = [a["end"] for a in kept]
    index = {a["value"]: i for i, a in enumerate(kept)}
    for read in reads:
        before = bisect.bisect_left(ends, read["start"])
        if not before:
            continue
        seen = sum(1 for v in read["value"] if index.get(v, before) < before)
        missing = before - seen
        if not missing:
            continue
        in_read = set(read["value"])
        oldest, count = None, 0
        for i in range(before - 1, -1, -1):  # the missing ones are mostly the newest
            if kept[i]["value"] not in in_read:
                oldest, count = kept[i], count + 1
                if count == missing:
                    break
        kind = "master" if read.get("kind") == "master" else "replicas"
        found.add(Anomaly(f"stale-read:{kind}", key, (read, oldest),
                          {"versions": missing,
                           "ms": round((read["start"] - oldest["end"]) * 1000, 1)}))


def _per_client(key: str, kept: list[dict], reads: list[dict], found: Anomalies) -> None:
    """Per client: a read shorter than, and a prefix of, its longest earlier read; a read
    missing the client's own earlier acknowledged append."""
    own: dict[object, list[dict]] = defaultdict(list)
    for append in kept:
        own[append.get("client")].append(append)
    longest: dict[object, dict] = {}
    for read in reads:
        client, seen = read.get("client"), read["value"]
        before = longest.get(client)
        if before is not None and len(seen) < len(before["value"]) and \
                before["value"][:len(seen)] == seen:
            found.add(Anomaly("non-monotonic-read", key, (before, read),
                              {"before": len(before["value"]), "after": len(seen)}))
        if before is None or len(seen) > len(before["value"]):
            longest[client] = read
        in_read = set(seen)
        mine = own.get(client, ())
        for append in mine:
            if append["end"] < read["start"] and append["value"] not in in_read:
                found.add(Anomaly("read-your-writes", key, (append, read),
                                  {"value": append["value"]}))
                break
