"""replicas-announce-master: shard 1's replicas announce its master's address, then one Sentinel restarts.

A config template that renders one file for every instance gives the replicas the
master's ``replica-announce-ip`` and ``-port``. The master lists them under its own
address; Sentinel takes its master for one of its replicas and, 8 s later, makes it a
replica of itself (``+convert-to-slave``): the shard has no master until the heal.
Where Sentinel announces host names, the two aliases (a number, a name) are written
into its file as one ``known-replica`` line twice, and a restarted Sentinel refuses that
file ("Duplicate hostname and port for replica") again and again.
"""

from lab.chaos.scenarios import Expect, Scenario

REFERENCE = ("valkey-io/valkey#4530 (Sentinel's CONFIG REWRITE writes duplicate "
             "known-replica lines, a restart fails), redis/redis#8313 and the fix in "
             "redis/redis#11775 (known-replica lines a Sentinel cannot load)")


def expect(config):
    names = config.machines.announce_hostnames
    return Expect(max_lost_writes=0, writes_during_fault=False,
                  sentinel_events=("+convert-to-slave",),
                  sentinel_down_s=6 if names else None,
                  finding="replicas that announce their master's address make Sentinel "
                          "turn the master into a replica of itself"
                          + (", and write a file a restarted Sentinel refuses" if names
                             else ""))


SCENARIO = Scenario(
    name="replicas-announce-master",
    description=__doc__.splitlines()[0],
    faults=(),
    script=(
        # Sentinel learns the aliases at its next INFO of the master (every 10 s)
        {"rule": "inject", "kind": "replicas-announce-master", "shard": 1, "hold_s": 11.0},
        # one Sentinel restarted (stopped, started 1 s later) from the file it wrote
        {"rule": "inject", "kind": "kill-sentinels", "shard": 1, "count": "minority",
         "hold_s": 1.0, "keep": False},
        {"rule": "wait", "seconds": 12.0},
    ),
    hold_s=0,
    expect=expect,
    reference=REFERENCE,
)
