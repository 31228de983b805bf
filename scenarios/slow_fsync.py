"""slow-fsync: every fsync of shard 1's master takes 3 s, under appendfsync always.

A disk too busy to make writes durable, while clients keep writing. With AOF and
``appendfsync always`` the master fsyncs in its main thread before it answers, so every
command waits, PING too: past Sentinel's down-after-milliseconds the master looks down
although it runs, and is failed over. With ``everysec`` a background thread waits instead
and Redis writes on without it after 2 s; without AOF nothing calls fsync. The lab's fsync
shim slows that process's fsync only (never the machine's disk).
"""

from lab.chaos.scenarios import Expect, Scenario, Step

REFERENCE = ("redis/redis#10287 (a slow fsync stalls the server: latency, a failover under "
             "load), the persistence documentation on appendfsync")


def expect(config):
    if config.redis.persistence != "aof":
        return Expect(failover=False, max_lost_writes=0,
                      finding="without AOF no fsync is waited for: a slow one changes "
                              "nothing")
    return Expect(failover=True, max_lost_writes=0, sentinel_events=("+sdown",),
                  finding="a master that waits 3 s for each fsync answers PING too late: "
                          "Sentinel fails over a master that is running")


SCENARIO = Scenario(
    name="slow-fsync",
    description=__doc__.splitlines()[0],
    faults=(Step("slow-fsync", {"shard": 1, "ms": 3000, "fsync": "always"}),),
    hold_s=10,
    expect=expect,
    reference=REFERENCE,
)
