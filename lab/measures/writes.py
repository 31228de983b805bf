"""What became of the writes: acknowledged and gone, unacknowledged and there."""

from lab.measures.base import Measure, register, total

LOST_WRITES = register(Measure(
    "lost_writes", "", "acknowledged writes absent after heal and settle, all shards",
    lambda shards, convergence: total(m.lost for m in shards)))
INDETERMINATE_WRITES = register(Measure(
    "indeterminate_writes", "", "unacknowledged writes that did land, all shards",
    lambda shards, convergence: total(m.indeterminate for m in shards)))
