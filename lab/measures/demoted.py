"""Writes to a demoted master: how many, and for how long clients wrote to one."""

from lab.measures.base import Measure, longest, register, total

DEMOTED_WRITES = register(Measure(
    "demoted_writes", "",
    "writes acknowledged by a demoted master (one a majority of Sentinels named before and "
    "no longer names)",
    lambda shards, convergence: total(m.demoted_writes for m in shards),
    title="writes to a demoted master", in_matrix=True, zero_or_not=True))
DEMOTED_WRITE_TIME = register(Measure(
    "demoted_write_s", "s", "time clients spent writing to a demoted master, seconds",
    lambda shards, convergence: longest(m.demoted_write_s for m in shards),
    headline=False))
