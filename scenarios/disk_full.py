"""disk-full: shard 1's master's data disk fills up while clients keep writing.

A master that cannot persist refuses writes, and PING, with MISCONF: with AOF as soon as
a write no longer fits, with RDB at its next save (the scenario brings it forward). Sentinel
counts only PONG, LOADING and MASTERDOWN as alive, so it fails the master over; the old
master, its disk still full, cannot take a disk-based full sync as a replica. Without
persistence a full disk changes nothing for the master. The report names, from the
history, how long each instance answered MISCONF and how many writes it refused.
With ``[redis] data_disk_mb`` (each data directory a small filesystem of its own) the
disk is filled; without (the default lab), the data directory is made unwritable: an RDB
save then fails the same way, but an AOF file already open is still written.
"""

from lab.chaos.scenarios import Expect, Scenario, Step

REFERENCE = ("redis/redis#12012 (a full disk and Sentinel: MISCONF, failover or not), "
             "OpenAtomFoundation/pikiwidb#1010 (MISCONF and Sentinel's PING)")


def expect(config):
    if config.redis.persistence == "aof" and not config.redis.data_disk_mb:
        return Expect(failover=False, max_lost_writes=0,
                      finding="an unwritable data directory does not stop an AOF master: "
                              "the file it has open is still written (a full disk does)")
    if config.redis.persistence == "none":
        return Expect(failover=False, max_lost_writes=0,
                      finding="without persistence a full data disk does not stop the "
                              "master")
    return Expect(failover=True, max_lost_writes=0, misconf_s=2, errors_seen=("MISCONF",),
                  finding="a master whose disk is full answers PING with MISCONF, which "
                          "Sentinel counts as down: the full disk fails it over")


SCENARIO = Scenario(
    name="disk-full",
    description=__doc__.splitlines()[0],
    faults=(Step("disk-full", {"shard": 1}),),
    hold_s=10,
    expect=expect,
    reference=REFERENCE,
)
