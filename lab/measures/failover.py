"""Failover: when Sentinel switched, and when writes went through again."""

from lab.measures.base import UNKNOWN, Measure, longest, register


def _writes_resumed(shards, convergence):
    if any(m.failover_s is not None and m.writes_resumed_s is None for m in shards):
        return UNKNOWN  # a shard failed over and no write succeeded after: never resumed
    return longest(m.writes_resumed_s for m in shards)


FAILOVER = register(Measure(
    "failover_s", "s", "fault -> first +switch-master, seconds (no failover: not judged)",
    lambda shards, convergence: longest(m.failover_s for m in shards),
    title="failover", in_matrix=True))
WRITES_RESUMED = register(Measure(
    "writes_resumed_s", "s", "fault -> first write through HAProxy after the switch, seconds",
    _writes_resumed, title="writes resumed", in_matrix=True))
