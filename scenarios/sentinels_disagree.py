"""sentinels-disagree: shard 1's Sentinels start afresh naming different masters, then its master freezes.

Sentinels deployed from files rendered at different moments (or by a config tool that
guessed the master) start with different initial masters. A fresh file has no epoch, so
no Sentinel's hellos can correct another's (a Sentinel takes a peer's master only with a
newer epoch): each watches the instance it was told of, and the one told of a replica
sees it "down" only after it reported role:slave for the down-after period plus two INFO
periods. When the real master then freezes, only its own Sentinel calls it down: no
quorum, no failover, the shard is down until the master comes back.
"""

from lab.chaos.scenarios import Expect, Scenario

REFERENCE = ("redis/redis#13658 and #12271 (Sentinels and instances after a full "
             "restart), valkey-io/valkey#1322 (Sentinel after a full restart); Sentinel "
             "documentation: a configuration with a greater epoch wins")


def expect(config):
    return Expect(failover=False, max_lost_writes=0, writes_during_fault=False,
                  sentinels_disagree_s=8,
                  finding="Sentinels started with different masters never agree on their "
                          "own (a fresh file has no epoch): none reaches the quorum, and "
                          "a frozen master is not failed over")


SCENARIO = Scenario(
    name="sentinels-disagree",
    description=__doc__.splitlines()[0],
    faults=(),
    script=(
        # fresh files: the first Sentinel names the master, each other one a replica
        {"rule": "inject", "kind": "sentinels-disagree", "shard": 1, "stray": "all",
         "hold_s": 4.0},
        {"rule": "inject", "kind": "pause-master", "shard": 1, "hold_s": 10.0},
    ),
    hold_s=0,
    expect=expect,
    reference=REFERENCE,
)
