"""Sentinel views: how long a shard's Sentinels named different masters (Sentinels
started with different ones, a cold start, a failover some learned late)."""

from lab.measures.base import Measure, longest, register

SENTINELS_DISAGREE_S = register(Measure(
    "sentinels_disagree_s", "s",
    "the longest time, from the first fault on, the Sentinels of one shard that named a "
    "master did not all name the same one, as the lab's observers saw it asking every "
    "Sentinel every 250 ms",
    lambda shards, convergence: longest(m.sentinels_disagree_s for m in shards),
    title="Sentinels disagree s", headline=False, in_matrix=True))
