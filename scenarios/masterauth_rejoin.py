"""masterauth-rejoin: a master without masterauth is failed over; it cannot rejoin.

``requirepass`` alone protects a master, but once Sentinel demotes it, it must
authenticate to its new master with ``masterauth``. Without it every sync attempt gets
``NOAUTH``: the old master stays a replica with its link down, serving its old data, until
``masterauth`` is set (the heal puts it back). The lab measures how long it was stuck.
"""

from lab.chaos.scenarios import Expect, Scenario

REFERENCE = ("redis/redis#9009 \"Redis sentinel node can not sync after failover\" "
             "(https://github.com/redis/redis/issues/9009) and redis/redis#2025 "
             "\"Redis 2.8.17 not handling authentication correctly during failover\"")


def expect(config):
    return Expect(failover=True, failover_within_s=5, max_lost_writes=0,
                  lost_writes_are_finding=True, replica_stuck_s=8,
                  # a manual failover: the old master serves reads until reconfigured
                  anomalies=("stale-read:master",),
                  finding="the demoted master could not authenticate to its new master and "
                          "never synced (no masterauth)")


SCENARIO = Scenario(
    name="masterauth-rejoin",
    description=__doc__.splitlines()[0],
    faults=(),
    script=({"rule": "inject", "kind": "drop-masterauth", "shard": 1},
            {"rule": "inject", "kind": "manual-failover", "shard": 1}),
    hold_s=25,  # Sentinel demotes the old master ~10 s after the switch: then it is stuck
    expect=expect,
    reference=REFERENCE,
)
