"""The list-append anomalies (:mod:`lab.chaos.anomalies`) in plain words, from the history:
what a trainer reads out to a room. Each witness becomes one sentence naming the clients,
the lists they saw, the instance that served them, when (seconds from the history's
start), and what that instance was then: a master the shard's Sentinels had already
replaced (their majority named another since, :func:`~lab.chaos.checkers.named_majority`).
"""

from __future__ import annotations

from lab.chaos.anomalies import WORDS as CLASS_WORDS

__all__ = ["CLASS_WORDS", "explain", "replaced_at", "short_list"]

def short_list(values: list[str], head: int = 2, tail: int = 3) -> str:
    """``[0-1, 0-2, …, 2-17, 1-19] (24 values)``: a long list by its ends."""
    if len(values) <= head + tail:
        return f"[{', '.join(values)}]"
    return f"[{', '.join(values[:head])}, …, {', '.join(values[-tail:])}] ({len(values)} values)"


def explain(anomaly: dict, t0: float, majority: list[tuple[float, str | None]],
            names: dict[str, str] | None = None) -> str:
    """One sentence for ``anomaly`` (an Anomaly as plain data) of a history that started
    at ``t0``, whose shard's Sentinel majority named masters as ``majority`` says
    (:func:`~lab.chaos.checkers.named_majority`); ``names``: server address -> name, to
    say ``redis1:6379``."""
    ops, detail, kind = anomaly["ops"], anomaly["detail"], anomaly["kind"]

    def at(op: dict) -> str:
        return f"{op['end'] - t0:.1f} s"

    def where(op: dict) -> str:
        served = op.get("served")
        if not served:
            return "an unknown instance"
        host, _, port = served.rpartition(":")
        replaced = replaced_at(majority, served, op["start"])
        return f"{(names or {}).get(host, host)}:{port}" + (
            f" (a master the Sentinels had replaced at {replaced - t0:.1f} s)"
            if replaced is not None else "")

    def read(op: dict) -> str:
        return (f"client {op.get('client')} read {short_list(op['value'])} from "
                f"{where(op)} at {at(op)}")

    if kind == "incompatible-order":
        one, other = ops
        return (f"{read(one)}; {read(other)}: neither is a prefix of the other, so the list "
                "had two histories at once")
    if kind == "lost-read":
        value = detail["value"]
        words = f"{read(ops[0])}; {value} is not on the final master: it vanished"
        if len(ops) > 1:
            append = ops[1]
            words += (f" (client {append.get('client')} appended it through "
                      f"{where(append)} at {at(append)}, outcome {append['outcome']})")
        return words
    if kind == "lost-append":
        (append,) = ops
        return (f"client {append.get('client')} appended {detail['value']} through "
                f"{where(append)} at {at(append)} and it was acknowledged; the final master "
                "does not hold it")
    if kind.startswith("stale-read:"):
        stale, oldest = ops
        port = kind.split(":")[1]
        return (f"{read(stale)} through the {port} port, missing {detail['versions']} "
                f"acknowledged append(s), the oldest ({oldest['value']}) acknowledged "
                f"{detail['ms']:.0f} ms before the read began")
    if kind == "non-monotonic-read":
        before, after = ops
        return (f"client {after.get('client')} read {detail['before']} values at {at(before)}, "
                f"then only {detail['after']} at {at(after)} from {where(after)}: it went back "
                "in time")
    if kind == "read-your-writes":
        append, missed = ops
        return (f"client {append.get('client')} appended {detail['value']} at {at(append)} "
                f"(acknowledged), then read {short_list(missed['value'])} from "
                f"{where(missed)} at {at(missed)}, without it")
    return f"{kind}: {detail}"


def replaced_at(majority: list[tuple[float, str | None]], address: str, t: float
                ) -> float | None:
    """When the Sentinels' majority stopped naming ``address`` master, if at ``t`` it
    names another after having named it (None: it was the named master then, or never)."""
    replaced, current = None, None
    for when, leader in majority:
        if when > t:
            break
        if current == address and leader != address:
            replaced = when
        elif leader == address:
            replaced = None
        current = leader
    return replaced if replaced is not None and current not in (address, None) else None
