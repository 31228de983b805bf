"""sentinel-acl-without-*: the Sentinel user lacks one documented command; the master stops.

Sentinel reaches the instances as its own ACL user (``sentinel auth-user``). The user the
documentation gives it is a list of commands; each scenario takes one of them away on
every instance of shard 1 (``ACL SETUSER sentinel -<command>``), then stops the master,
and shows whether Sentinel can still fail over, with the refusals counted from the
instances' ACL LOG. Needs ``[security] acl = true`` (skipped otherwise, saying so).
"""

from lab.chaos.scenarios import Expect, Scenario

REFERENCE = ("redis.io, ACL, 'ACL rules for Sentinel and Replicas'; redis/redis#9772, "
             "#11063 and #13192 (failover that never happens with a narrowed Sentinel "
             "user); valkey-io/valkey#2779 (Valkey 9.0 needed +failover, fixed by #2780)")


# What each command is for, and what taking it away does, as measured (docs/measured.md,
# "Sentinel's ACL user"): Sentinel promotes a replica with MULTI, SLAVEOF NO ONE, CONFIG
# REWRITE, CLIENT KILL, EXEC; one refused command aborts the whole transaction.
_ABORTS_PROMOTION = "-failover-abort-slave-timeout"
WITHOUT = {
    "slaveof": (_ABORTS_PROMOTION, "SLAVEOF NO ONE is refused: the promotion transaction "
                "aborts, Sentinel waits for a promotion that never comes and gives up"),
    "config|rewrite": (_ABORTS_PROMOTION, "CONFIG REWRITE is refused inside the promotion "
                       "transaction: it aborts whole, and the failover with it"),
    "client|kill": (_ABORTS_PROMOTION, "CLIENT KILL is refused inside the promotion "
                    "transaction: it aborts whole, and the failover with it"),
    "info": ("-failover-abort-no-good-slave", "INFO is refused: Sentinel knows no "
             "replica's state and finds none it may promote"),
    "publish": ("", "PUBLISH is refused (Sentinel's hello messages through the instances): "
                "the Sentinels already know each other, so the failover still happens"),
    "failover": ("", "FAILOVER: only Valkey 9.0 sent it in a plain failover "
                 "(valkey-io/valkey#2779, fixed by #2780); the others never send it"),
}


HOLD_AFTER_CHANGE_S = 3.0


def _expect(permission):
    abort, finding = WITHOUT[permission]

    def expect(config):
        denied = (f"sentinel {permission}",) if permission != "failover" else ()
        returning = dict(max_lost_writes=0,
                         lost_writes_are_finding=config.redis.persistence == "none")
        if abort:
            return Expect(failover=False, sentinel_events=(abort,), acl_denied=denied,
                          finding=finding, **returning)
        # Whether it fails over is the point, not how fast: the failover is timed from
        # the first fault, the ACL change, held HOLD_AFTER_CHANGE_S before the stop.
        return Expect(failover=True, acl_denied=denied, finding=finding, **returning)
    return expect


SCENARIOS = tuple(
    Scenario(
        name=f"sentinel-acl-without-{permission.replace('|', '-')}",
        description=f"the Sentinel user lacks {permission.upper()} on shard 1's instances; "
                    "the master stops",
        faults=(),
        # Held before the stop so that what Sentinel last read before the change is
        # stale when it picks a replica (INFO counts for 5 s once the master is down):
        # without the hold, a replica read just before the change was sometimes promoted
        # blind (docs/measured.md), and the scenario's outcome was a matter of timing.
        script=({"rule": "inject", "kind": "sentinel-acl-drop", "shard": 1,
                 "permission": permission, "hold_s": HOLD_AFTER_CHANGE_S},
                {"rule": "inject", "kind": "stop-master", "shard": 1}),
        # A promotion that never comes is given up after failover_timeout_ms (10 s here).
        hold_s=16 if abort else 10,
        expect=_expect(permission),
        reference=REFERENCE,
    )
    for permission, (abort, _) in WITHOUT.items())
