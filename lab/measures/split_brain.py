"""Split brain: two masters of one shard, by their roles or in HAProxy's view."""

from lab.measures.base import Measure, longest, register

SPLIT_BRAIN = register(Measure(
    "split_brain_s", "s",
    "time two instances of a shard said role:master (or HAProxy had two UP), seconds",
    lambda shards, convergence: longest(m.split_brain_s for m in shards),
    title="split brain", in_matrix=True))
SPLIT_BRAIN_HAPROXY = register(Measure(
    "split_brain_haproxy_s", "s",
    "time an HAProxy master backend had two servers UP, seconds",
    lambda shards, convergence: longest(m.split_brain_haproxy_s for m in shards),
    title="two UP in HAProxy", in_matrix=True))
