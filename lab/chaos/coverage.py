"""What a search covered: which faults were drawn, on what, held how long, with what.

A GO from a search is only as good as what it tried. Each example's history says, per
injected fault, when it started and when its heal began, what it targeted and whether
Sentinel switched a master meanwhile; :func:`fault_outcomes` reads that (pure, over the
history). :func:`grid` folds every example's outcomes into fault x target cells (tried,
held past failover, failed over, breached), and :class:`Coverage` says in one line what
a GO covers, or which searchable faults were never held past a failover (what
``[slo] coverage = "every-fault"`` turns into NO-GO).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["Coverage", "fault_outcomes", "grid", "overlaps", "target_label"]

# A switch just after the heal began was still caused by the fault (Sentinel's election
# runs on for a moment).
SWITCH_GRACE_S = 1.0


def target_label(params: dict) -> str:
    """What a fault acted on, as the grid's column: ``shard 2``, ``redis3``."""
    if "shard" in params:
        return f"shard {params['shard']}"
    if "server" in params:
        return str(params["server"])
    return "lab"


def fault_outcomes(events: list[dict]) -> list[dict]:
    """Per fault injected in one history, in order: ``{"fault", "target", "held_s",
    "failed_over", "overlapped"}``; and one ``{"fault", "skipped": reason}`` per fault
    that could not run. An unhealed fault holds to the end of the history."""
    end = events[-1]["t"] if events else 0.0
    switches = [e["t"] for e in events
                if e["type"] == "sentinel" and e.get("channel") == "+switch-master"]
    injected, healed, skipped = [], {}, []
    for e in events:
        if e["type"] != "fault":
            continue
        if e["phase"] == "inject":
            injected.append(e)
        elif e["phase"] == "heal":
            healed.setdefault(e["id"], e["t"])
        elif e["phase"] == "skipped":
            skipped.append({"fault": e["fault"], "target": target_label(e.get("params") or {}),
                            "skipped": e.get("reason") or "skipped"})
    spans = [(e["t"], healed.get(e["id"], end)) for e in injected]
    outcomes = []
    for i, e in enumerate(injected):
        start, stop = spans[i]
        outcomes.append({
            "fault": e["fault"], "target": target_label(e.get("params") or {}),
            "held_s": round(stop - start, 2),
            "failed_over": any(start <= t <= stop + SWITCH_GRACE_S for t in switches),
            "overlapped": sorted({injected[j]["fault"] for j, (a, b) in enumerate(spans)
                                  if j != i and a < stop and start < b}),
        })
    return outcomes + skipped


@dataclass
class Cell:
    tried: int = 0
    held_past_failover: int = 0
    failed_over: int = 0
    breached: int = 0  # examples that breached an SLO with this fault in them
    skipped: str = ""  # why it could not run here, when it never could


def grid(examples: list[dict], held_past_failover) -> dict[str, dict[str, dict]]:
    """fault -> target -> cell, over every example's ``faults`` (its outcomes);
    ``held_past_failover(seconds)`` says whether a hold was long enough to fail over."""
    cells: dict[str, dict[str, Cell]] = {}
    for example in examples:
        breached = bool(example.get("breaches"))
        seen: set[tuple[str, str]] = set()
        for outcome in example.get("faults") or []:
            cell = cells.setdefault(outcome["fault"], {}).setdefault(outcome["target"], Cell())
            if "skipped" in outcome:
                cell.skipped = outcome["skipped"]
                continue
            cell.tried += 1
            cell.held_past_failover += bool(held_past_failover(outcome["held_s"]))
            cell.failed_over += bool(outcome["failed_over"])
            key = (outcome["fault"], outcome["target"])
            if breached and key not in seen:
                cell.breached += 1
            seen.add(key)
    return {fault: {target: asdict(cell) for target, cell in sorted(targets.items())}
            for fault, targets in sorted(cells.items())}


def overlaps(examples: list[dict]) -> list[str]:
    """The pairs of faults that were active at the same time in some example."""
    pairs = {" + ".join(sorted((o["fault"], other)))
             for example in examples for o in example.get("faults") or []
             for other in o.get("overlapped", [])}
    return sorted(pairs)


@dataclass
class Coverage:
    """Which of the searchable faults a search held past a failover, and which ran
    together."""

    searchable: list[str]
    cells: dict[str, dict[str, dict]] = field(default_factory=dict)
    overlapped: list[str] = field(default_factory=list)

    def held(self) -> list[str]:
        return [f for f in self.searchable
                if any(c["held_past_failover"] for c in self.cells.get(f, {}).values())]

    def cannot_run(self) -> dict[str, str]:
        """Faults that never ran here, with the reason they were skipped."""
        found = {}
        for fault in self.searchable:
            targets = self.cells.get(fault, {}).values()
            if targets and not any(c["tried"] for c in targets):
                found[fault] = next(c["skipped"] for c in targets if c["skipped"])
        return found

    def missing(self) -> list[str]:
        """Searchable faults that could run here and were never held past a failover."""
        held, cannot = set(self.held()), self.cannot_run()
        return [f for f in self.searchable if f not in held and f not in cannot]

    def line(self) -> str:
        """What the search covered, in words (the end of a GO line)."""
        missing, cannot = self.missing(), self.cannot_run()
        parts = []
        if not missing:
            parts.append("every searchable fault held past failover at least once"
                         if not cannot else
                         "every searchable fault that runs here held past failover")
        else:
            never = [f for f in missing if not any(c["tried"] for c in
                                                   self.cells.get(f, {}).values())]
            short = [f for f in missing if f not in never]
            if short:
                parts.append(f"never held past failover: {', '.join(short)}")
            if never:
                parts.append(f"never tried: {', '.join(never)}")
        parts += [f"{fault} cannot run here ({why})" for fault, why in cannot.items()]
        return "; ".join(parts)

    def to_json(self) -> dict:
        return {"searchable": self.searchable, "cells": self.cells,
                "overlapped": self.overlapped, "held": self.held(),
                "missing": self.missing(), "cannot_run": self.cannot_run(),
                "line": self.line()}

    @classmethod
    def from_json(cls, data: dict | None) -> Coverage | None:
        if not data:
            return None
        return cls(list(data.get("searchable") or []), dict(data.get("cells") or {}),
                   list(data.get("overlapped") or []))
