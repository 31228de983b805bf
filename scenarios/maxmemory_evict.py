"""maxmemory-evict: shard 1's instances at maxmemory (allkeys-lru, replicas evicting too), then 32 MB written.

``maxmemory`` is usually set on every instance alike. A master past it evicts keys and
sends each eviction to its replicas as a deletion: acknowledged writes vanish, but master
and replicas agree. Replicas that honour maxmemory themselves (``replica-ignore-maxmemory
no``, the only rule before Redis 5 and still a setting) evict on their own as well, keys
their master keeps: their datasets diverge, and a failover would promote a replica
missing keys the master had. The heal resyncs them in full.
"""

from lab.chaos.scenarios import Expect, Scenario, Step

REFERENCE = ("redis/redis#7717, #4816 (memory and replication); replication "
             'documentation, "Maxmemory on replicas" (replica-ignore-maxmemory)')


def expect(config):
    return Expect(failover=False, max_lost_writes=0, lost_writes_are_finding=True,
                  replica_evictions=True,
                  finding="replicas that honour maxmemory evict on their own: their "
                          "datasets diverge from their master's, and evicted acknowledged "
                          "writes are lost")


SCENARIO = Scenario(
    name="maxmemory-evict",
    description=__doc__.splitlines()[0],
    faults=(Step("maxmemory-evict", {"shard": 1, "headroom_mb": 8,
                                     "policy": "allkeys-lru", "replicas": "evict"}),),
    hold_s=8,
    expect=expect,
    reference=REFERENCE,
)
