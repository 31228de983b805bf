"""sentinel-conf-readonly: Sentinels that cannot rewrite their file fail over, then one restarts.

Sentinel saves what it learns (a failover, the new epoch) by rewriting its config file.
With the file read-only (a read-only mount, a config management tool's permissions) the
failover still happens, in memory; the save fails. A Sentinel restarted then exits at
once ("Sentinel config file ... is not writable"), again and again under its restart
policy, until the file is writable. Started again then from its old file, it names the
old master until the other Sentinels' hellos, with the newer epoch, correct it (within
about a second: the lab reports it when it asked in that second): the failover survives
only while one Sentinel that remembers it is up.
"""

from lab.chaos.scenarios import Expect, Scenario

REFERENCE = ("redis/redis#12544 (Sentinel's config file not writable: the state of a "
             "failover is not saved, the Sentinel refuses to start)")


def expect(config):
    return Expect(failover=True, max_lost_writes=0, sentinel_down_s=6,
                  lost_writes_are_finding=config.redis.persistence == "none",
                  finding="a Sentinel whose config file is read-only cannot start again: "
                          "it comes back only once the file is writable, from the state "
                          "before the failover, and learns the failover from the others")


SCENARIO = Scenario(
    name="sentinel-conf-readonly",
    description=__doc__.splitlines()[0],
    faults=(),
    script=(
        {"rule": "inject", "kind": "sentinel-conf-readonly", "shard": 1},
        # the failover: decided and carried out in memory, not saved
        {"rule": "inject", "kind": "stop-master", "shard": 1, "hold_s": 8.0},
        # one Sentinel restarted (stopped, started 1 s later): it cannot start
        {"rule": "inject", "kind": "kill-sentinels", "shard": 1, "count": "minority",
         "hold_s": 1.0, "keep": False},
        {"rule": "wait", "seconds": 8.0},
    ),
    hold_s=0,
    expect=expect,
    reference=REFERENCE,
)
