"""The sentinel-acl-without-* family: the fault that takes one command from the Sentinel
user, the ACL LOG counted from the history, the measure and the verdict, on hand-made
histories and fake machines (tests/e2e/test_security.py runs one on a real lab)."""

from __future__ import annotations

import pytest

from lab import acl, config, measures
from lab.chaos import checkers, faults, scenarios
from lab.chaos.checkers import ShardMeasures
from lab.chaos.faults import FaultSkipped, settings
from lab.chaos.record import Convergence
from lab.chaos.scenarios import Expect, judge
from tests.unit.test_catalogue import fake_nemesis

SETTLED = Convergence(settled=True, seconds=3.0, datasets_equal=True)


def log(phase, instance, entries, shard=1, t=0.0):
    return {"type": "acl-log", "t": t, "phase": phase, "instance": instance, "shard": shard,
            "entries": entries, "error": None if entries is not None else "timeout"}


def entry(command, count, user="sentinel", reason="command", **extra):
    return {"count": count, "reason": reason, "context": "multi", "object": command,
            "username": user, **extra}


def test_a_denial_counts_what_its_entry_grew_by_during_the_recording():
    events = [
        log("before", "redis1:6379", [entry("publish", 40)]),
        log("before", "redis1:6380", []),
        log("after", "redis1:6379", [entry("publish", 45), entry("slaveof", 1)], t=9),
        log("after", "redis1:6380", [entry("slaveof", 2), entry("x", 1, user="app",
                                                                reason="auth")], t=9),
    ]
    assert checkers.acl_denials(events, 1) == {"app auth": 1, "sentinel publish": 5,
                                               "sentinel slaveof": 3}
    assert checkers.acl_denials(events, 2) is None  # no instance of shard 2 was read


def test_numbered_entries_of_one_refusal_are_told_apart_and_a_replaced_one_counts_anew():
    events = [
        log("before", "i", [entry("info", 100, **{"entry-id": 7}), entry("ping", 3)]),
        # entry 7 did not grow; a new entry 9 for the same refusal (after a minute);
        # the ping entry fell off the end of the log: not a negative count.
        log("after", "i", [entry("info", 100, **{"entry-id": 7}),
                           entry("info", 4, **{"entry-id": 9})], t=5),
    ]
    assert checkers.acl_denials(events, 1) == {"sentinel info": 4}
    # Unnumbered (Redis 7.0): a count smaller than before is a new entry, all of it new.
    events = [log("before", "i", [entry("info", 100)]), log("after", "i", [entry("info", 6)])]
    assert checkers.acl_denials(events, 1) == {"sentinel info": 6}


def test_an_instance_not_read_after_makes_the_denials_unknown():
    events = [log("before", "a", []), log("after", "a", [entry("info", 1)], t=5),
              log("after", "b", None, t=5)]
    assert checkers.acl_denials(events, 1) is None
    shards = [ShardMeasures(1, acl_denials=None), ShardMeasures(2, acl_denials={"x y": 2})]
    assert measures.get("acl_denials").value(shards, SETTLED) is measures.UNKNOWN
    assert measures.get("acl_denials").value(shards[1:], SETTLED) == 2
    # a history recorded before ACL LOG was read: the measure does not apply
    assert measures.get("acl_denials").value(shards[:1], SETTLED) is None


def test_the_refusal_a_scenario_exists_to_show_is_asserted_and_reported():
    expect = Expect(failover=False, acl_denied=("sentinel slaveof",), finding="no promotion")
    shown = judge(expect, ShardMeasures(1, lost_writes=0, acl_denials={"sentinel slaveof": 1}),
                  SETTLED)
    assert shown.status == "finding"
    assert "the instances' ACL refused sentinel SLAVEOF 1 time(s) (ACL LOG)" in shown.findings
    for denials in ({}, {"sentinel info": 3}, None):
        missing = judge(expect, ShardMeasures(1, lost_writes=0, acl_denials=denials), SETTLED)
        assert missing.status == "fail"
        assert [c.check for c in missing.checks if not c.ok] == [
            "the instances' ACL refused sentinel SLAVEOF"]


@pytest.fixture
def sentinel_user(monkeypatch):
    """The instances' answer to ACL GETUSER sentinel (None: no such user)."""
    answer = {"user": {"flags": ["on"], "commands": "-@all +slaveof"}}

    class Client:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def acl_getuser(self, name):
            assert name == "sentinel"
            return answer["user"]

    monkeypatch.setattr(settings, "client", Client)
    return answer


def test_the_fault_narrows_the_user_on_every_instance_and_puts_back_what_was_there(
        sentinel_user):
    nemesis, machines, topo = fake_nemesis()
    applied = faults.inject(nemesis, "sentinel-acl-drop", shard=1, permission="slaveof")
    changes = [c for c in machines["redis1"].commands if "answer=" in c]
    assert [c.split(" -p ")[1].split()[0] for c in changes] == \
        [str(i.port) for i in topo.shard(1).instances]
    assert all("ACL SETUSER sentinel -slaveof" in c for c in changes)
    assert all("ACL SETUSER sentinel +slaveof" in u and "CONFIG REWRITE" in u
               for _, u in applied.undo)
    assert applied.target["had"] is True
    # Redis 7.0's Sentinel user never had FAILOVER: healing must not grant it.
    applied = faults.inject(nemesis, "sentinel-acl-drop", shard=1, permission="failover")
    assert applied.target["had"] is False
    assert all("ACL SETUSER sentinel -failover" in u and "+failover" not in u
               for _, u in applied.undo)


def test_the_fault_is_skipped_without_acl_users_and_refuses_an_unknown_command(
        sentinel_user):
    nemesis, _, _ = fake_nemesis()
    sentinel_user["user"] = None
    with pytest.raises(FaultSkipped, match=r"set \[security\] acl = true"):
        faults.inject(nemesis, "sentinel-acl-drop", shard=1)
    with pytest.raises(ValueError, match=r"^permission='flushall': one of multi, slaveof"):
        faults.inject(nemesis, "sentinel-acl-drop", shard=1, permission="flushall")


def test_the_family_covers_the_documented_commands_and_says_what_each_shows():
    found = {n: s for n, s in scenarios.load_all().items()
             if n.startswith("sentinel-acl-without-")}
    default = config.from_dict({})
    assert len(found) == 6
    for scenario in found.values():
        [drop, stop] = scenario.script
        assert drop["permission"] in acl.SENTINEL_PERMISSIONS and stop["kind"] == "stop-master"
        assert "redis/redis#9772" in scenario.reference
    slaveof = found["sentinel-acl-without-slaveof"].expect(default)
    assert (slaveof.failover, slaveof.sentinel_events, slaveof.acl_denied) == \
        (False, ("-failover-abort-slave-timeout",), ("sentinel slaveof",))
    publish = found["sentinel-acl-without-publish"].expect(default)
    assert publish.failover is True and publish.acl_denied == ("sentinel publish",)
    assert found["sentinel-acl-without-info"].expect(default).sentinel_events == \
        ("-failover-abort-no-good-slave",)
    # the change is held before the stop: what Sentinel read before it is stale by then
    assert all(s.script[0]["hold_s"] >= 3 for s in found.values())


def test_the_failover_clock_starts_at_the_fault_proper_not_at_the_setting_before_it():
    def fault(t, phase, id_, name, **extra):
        return {"type": "fault", "t": t, "phase": phase, "id": id_, "fault": name, **extra}

    events = [
        fault(10.0, "inject", "a", "sentinel-acl-drop", stage=True),
        fault(13.0, "inject", "b", "stop-master"),
        {"type": "sentinel", "t": 15.5, "sentinel": "s1", "channel": "+switch-master",
         "data": "shard1 10.0.0.1 6379 10.0.0.2 6379"},
        fault(20.0, "heal", "b", "stop-master"),
        fault(20.1, "heal", "a", "sentinel-acl-drop"),
    ]
    [m] = checkers.measure(events, [1], {1: "shard1"}).values()
    assert m.failover_s == 2.5  # from the stop, not from the ACL change 3 s before
    assert checkers.clock_start(checkers.fault_windows(events[:1])) == 10.0  # stage only
    assert {f.name: f.sets_stage for f in (faults.get("sentinel-acl-drop"),
                                           faults.get("manual-failover"),
                                           faults.get("stop-master"))} == \
        {"sentinel-acl-drop": True, "manual-failover": False, "stop-master": False}
