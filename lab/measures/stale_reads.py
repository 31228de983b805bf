"""Stale reads: replica reads that missed an acknowledged write."""

from lab.measures.base import Measure, register, total

STALE_READS = register(Measure(
    "stale_reads", "", "reads through replica ports that missed an acknowledged write",
    lambda shards, convergence: total(m.stale_reads for m in shards),
    title="stale reads"))
