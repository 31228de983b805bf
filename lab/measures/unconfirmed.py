"""Unconfirmed writes (``--ack wait:N``): acknowledged, confirmed by fewer than N replicas."""

from lab.measures.base import Measure, register, total

UNCONFIRMED_WRITES = register(Measure(
    "unconfirmed_writes", "",
    "writes the master acknowledged and fewer than N replicas confirmed (--ack wait:N)",
    lambda shards, convergence: total(m.unconfirmed for m in shards),
    title="unconfirmed writes", in_matrix=True, zero_or_not=True))
