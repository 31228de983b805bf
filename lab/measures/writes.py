"""What became of the writes: acknowledged and gone, unacknowledged and there."""

from lab.measures.base import Measure, register, total

LOST_WRITES = register(Measure(
    "lost_writes", "", "acknowledged writes absent after heal and settle",
    lambda shards, convergence: total(m.lost_writes for m in shards),
    title="lost writes", in_matrix=True, zero_or_not=True))
INDETERMINATE_WRITES = register(Measure(
    "indeterminate_writes", "", "unacknowledged writes that did land",
    lambda shards, convergence: total(m.indeterminate_writes for m in shards),
    title="indeterminate"))
