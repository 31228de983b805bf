"""Disk errors: instances that could not persist (a full disk) and said so with MISCONF,
to Sentinel's PING and to the clients' writes."""

from lab.measures.base import Measure, longest, register

MISCONF_S = register(Measure(
    "misconf_s", "s",
    "the longest time, from the first fault on, one instance answered PING with MISCONF "
    "(it could not persist; Sentinel takes that reply for down), as the lab's observers "
    "saw it polling every instance",
    lambda shards, convergence: longest(m.misconf_s for m in shards),
    title="MISCONF s", headline=False, in_matrix=True))

MISCONF_WRITES = register(Measure(
    "misconf_writes", "",
    "client writes refused with MISCONF during the recording, every instance's summed",
    lambda shards, convergence: sum(sum(m.misconf_writes.values()) for m in shards),
    title="MISCONF writes", headline=False, in_matrix=True, zero_or_not=True))
