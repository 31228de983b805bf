"""The catalogue of Sentinel behaviours: its scenarios, faults, measures and verdicts,
on hand-made histories and fake machines (tests/chaos runs them on a real lab)."""

from __future__ import annotations

import pytest

from lab import config, leftovers, topology
from lab.access import Access
from lab.chaos import checkers, faults, scenarios
from lab.chaos.checkers import ShardMeasures
from lab.chaos.nemesis import Nemesis
from lab.chaos.record import Convergence
from lab.chaos.scenarios import Expect, judge
from tests.fakes import FakeMachine

CATALOGUE = ("manual-failover", "manual-failover-coordinated", "no-promotable-replica",
             "min-replicas-noreplicas", "sentinel-tilt", "master-reboot-down-after",
             "stale-replicas-partition", "masterauth-rejoin", "new-address",
             "replica-buffer-loop", "cold-start", "sentinel-conf-readonly",
             "clock-jump-forward", "clock-jump-back", "disk-full", "slow-fsync",
             "memory-limit", "sentinels-disagree", "maxmemory-evict",
             "replicas-announce-master")
SETTLED = Convergence(settled=True, seconds=3.0, datasets_equal=True)
PASSWORD = "s3cret-password-never-on-a-command-line"


def test_every_catalogue_scenario_names_its_upstream_reference_and_known_faults():
    found = scenarios.load_all()
    default = config.from_dict({})
    for name in CATALOGUE:
        scenario = found[name]
        assert "redis/redis#" in scenario.reference or "documentation" in scenario.reference \
            or "release notes" in scenario.reference, name
        steps = [s.fault for s in scenario.faults] + \
            [s["kind"] for s in scenario.script if s["rule"] == "inject"]
        assert steps and all(step in faults.registered() for step in steps), name
        assert isinstance(scenario.expect(default), Expect)
    # Hand-written sequences only: the Hypothesis search never draws them.
    for name in ("manual-failover", "replica-priority-zero", "require-replicas",
                 "sentinel-reboot-period", "drop-masterauth", "pause-replicas",
                 "freeze-sentinel", "cut-replication", "new-address", "cold-start",
                 "sentinel-conf-readonly", "disk-full", "slow-fsync", "memory-limit",
                 "sentinels-disagree", "maxmemory-evict", "replicas-announce-master"):
        assert name in faults.registered() and name not in faults.searched()


def sentinel(t, channel, data, who="redis1:26379"):
    return {"type": "sentinel", "t": t, "sentinel": who, "channel": channel, "data": data}


def role(t, instance, r, link=None, shard=1):
    return {"type": "role", "t": t, "instance": instance, "shard": shard, "role": r,
            "master": None, "link": link}


def fault_at(t):
    return {"type": "fault", "t": t, "phase": "inject", "id": "f", "fault": "x", "target": {}}


def test_sentinel_events_are_counted_per_shard_from_the_first_fault():
    events = [
        sentinel(1.0, "+sdown", "master shard1 10.0.0.1 6379"),  # before the fault
        fault_at(2.0),
        sentinel(3.0, "-failover-abort-no-good-slave", "master shard1 10.0.0.1 6379"),
        sentinel(3.5, "-failover-abort-no-good-slave", "master shard2 10.0.0.2 6379"),
        sentinel(4.0, "+tilt", "#tilt mode entered", who="redis1:26379"),
        sentinel(4.1, "+tilt", "#tilt mode entered", who="redis2:26379"),
        sentinel(5.0, "+sdown", "slave 10.0.0.1:6380 10.0.0.1 6380 @ shard1 10.0.0.1 6379"),
    ]
    m = checkers.measure(events, [1, 2], {1: "shard1", 2: "shard2"},
                         sentinels={1: ["redis1:26379"], 2: ["redis2:26379"]})
    assert m[1].sentinel_events == {"+sdown": 1, "+tilt": 1,
                                    "-failover-abort-no-good-slave": 1}
    assert m[2].sentinel_events == {"+tilt": 1, "-failover-abort-no-good-slave": 1}


def test_a_replica_stuck_with_its_link_down_is_measured():
    events = [fault_at(1.0), role(2.0, "a:6379", "master"), role(3.0, "a:6379", "slave", "down"),
              role(12.0, "a:6379", "slave", "up"), role(13.0, "b:6380", "slave", "down"),
              role(15.0, "b:6380", "slave", "down"), {"type": "meta", "t": 16.0}]
    assert checkers.replica_link_down(events, 1, 1.0) == pytest.approx(9.0)
    still_down = [fault_at(1.0), role(4.0, "a:6379", "slave", "down"), fault_at(30.0)]
    assert checkers.replica_link_down(still_down, 1, 1.0) == pytest.approx(26.0)
    assert checkers.replica_link_down(still_down, 1, None) == 0.0  # no fault: not measured


def measures(**values):
    m = ShardMeasures(1, lost_writes=0, indeterminate_writes=0)
    for key, value in values.items():
        setattr(m, key, value)
    return m


def test_the_behaviour_a_scenario_shows_is_asserted_and_reported_as_found():
    expect = Expect(failover=False, sentinel_events=("-failover-abort-no-good-slave",),
                    errors_seen=("NOREPLICAS",), finding="the documented behaviour")
    shown = judge(expect, measures(sentinel_events={"-failover-abort-no-good-slave": 2},
                                   errors={"NOREPLICAS": 40}), SETTLED)
    assert shown.status == "finding"
    assert "Sentinel published -failover-abort-no-good-slave (2 time(s))" in shown.findings
    missing = judge(expect, measures(errors={"NOREPLICAS": 40}), SETTLED)
    assert missing.status == "fail"
    assert [c.check for c in missing.checks if not c.ok] == [
        "Sentinel published -failover-abort-no-good-slave"]
    no_errors = judge(expect, measures(sentinel_events={"-failover-abort-no-good-slave": 1}),
                      SETTLED)
    assert [c.check for c in no_errors.checks if not c.ok] == [
        "clients were answered NOREPLICAS"]


def test_a_stuck_replica_must_be_measured_long_enough():
    expect = Expect(failover=True, replica_stuck_s=8, finding="stuck")
    assert judge(expect, measures(failover_s=1.0, replica_link_down_s=9.4), SETTLED).status \
        == "finding"
    short = judge(expect, measures(failover_s=1.0, replica_link_down_s=2.0), SETTLED)
    assert short.status == "fail"


def test_expectations_per_engine_and_setting():
    found = scenarios.load_all()
    default = config.from_dict({})
    reboot = found["master-reboot-down-after"].expect(default)
    assert (reboot.failover, reboot.sentinel_events) == (False, ("+reboot",))
    assert found["master-reboot-down-after"].expect(
        config.from_dict({"redis": {"restart": "no"}})).failover is True
    slow = config.from_dict({"sentinel": {"down_after_ms": 5000}})
    assert found["stale-replicas-partition"].expect(default).failover is False
    assert found["stale-replicas-partition"].expect(slow).failover is True  # never stale


def fake_nemesis(engine: str = "redis-7.0"):
    cfg = config.from_dict({"images": {"engine": engine}})
    topo = topology.build(cfg)
    machines = {s.name: FakeMachine(s) for s in topo.servers}
    nemesis = Nemesis(topo, list(machines.values()), Access(PASSWORD), "192.168.56.0/24",
                      engine=cfg.engine)
    nemesis.master_of = lambda shard: topo.shard(shard).initial_master
    return nemesis, machines, topo


def test_settings_faults_write_their_undo_first_and_never_the_password():
    nemesis, machines, topo = fake_nemesis()
    applied = faults.inject(nemesis, "drop-masterauth", shard=1)
    commands = machines["redis1"].commands
    assert all(PASSWORD not in c for c in commands)
    check, pending, change = commands
    assert check == "command -v redis-cli >/dev/null"
    assert pending.startswith("mkdir -p /var/lib/redis-ha-lab && echo ")
    assert pending.endswith(f">> {leftovers.PENDING}")
    # put back from the conf: the replication user's password with [security] acl
    assert "CONFIG SET masterauth \"$LAB_MASTERAUTH\"" in pending
    assert "LAB_MASTERAUTH=$(awk" in pending and "masterauth" in pending
    assert pending.index("CONFIG SET masterauth") < pending.index("CONFIG REWRITE")
    assert "-h 192.168.56.11 -p 6379 CONFIG SET masterauth ''" in change
    assert "redis-cli $([ -f /opt/redis-ha-lab/tls/ca.crt ] && echo --tls --cacert" in change
    assert "requirepass" in change and "/opt/redis-ha-lab/conf/redis-*.conf" in change
    [(server, undo)] = applied.undo
    assert server == "redis1" and \
        f"sed -i '/# fault drop-masterauth {applied.id}.0$/d'" in undo
    assert "HEAL" not in undo and f"sh {leftovers.PENDING}" in leftovers.HEAL_EVERYTHING


@pytest.mark.parametrize(("engine", "option"), [
    ("redis-7.0", "master-reboot-down-after-period"),
    ("valkey-8.1", "primary-reboot-down-after-period"),
])
def test_the_reboot_period_speaks_the_engines_dialect(engine, option):
    nemesis, machines, topo = fake_nemesis(engine)
    applied = faults.inject(nemesis, "sentinel-reboot-period", shard=1, ms=30000)
    changes = [c for m in machines.values() for c in m.commands if "SENTINEL SET" in c
               and "answer=" in c]
    assert len(changes) == len(topo.sentinels_of(topo.shard(1)))
    assert all(f"SENTINEL SET shard1 {option} 30000" in c and "REDISCLI_AUTH" not in c
               for c in changes)
    assert all(f"{option} 0;" in undo for _, undo in applied.undo)


def test_leftover_changes_are_counted_by_the_fault_that_made_them():
    topo = topology.build(config.from_dict({}))
    machine = FakeMachine(topo.servers[0]).answer(
        r"grep -c", "0\n0\n0\n      2 replica-priority-zero\n      1 \n")
    assert leftovers.find([machine]) == [
        "redis1: 2 change(s) fault replica-priority-zero made, not yet put back",
        "redis1: 1 change(s) a fault made, not yet put back"]  # an older line, no kind


def named_nemesis():
    """A fake nemesis whose machines run the named lab ([machines] hostnames)."""
    nemesis, machines, topo = fake_nemesis()
    machines["redis1"].answer(r"^grep -q 'redis1:192.168.56.11'", "", 0)
    machines["redis1"].answer(r"^ip -o -4 addr show", "eth1 24\n")
    return nemesis, machines, topo


def test_new_address_moves_the_name_and_refuses_the_old_address_each_undo_written_first():
    nemesis, machines, topo = named_nemesis()
    applied = faults.inject(nemesis, "new-address", shard=1)
    assert applied.target == {"server": "redis1", "old": "192.168.56.11",
                              "new": "192.168.56.111"}
    moved = machines["redis1"].commands
    add = moved.index("ip addr add 192.168.56.111/24 dev eth1")
    # each change's undo went to the pending file before the change
    assert "ip addr del 192.168.56.111/24 dev eth1" in moved[add - 1]
    assert leftovers.PENDING in moved[add - 1]
    for chain in ("PREROUTING", "OUTPUT"):
        [dnat] = machines["redis1"].ran(f"^iptables -w -t nat -A {chain} ")
        assert "-d 192.168.56.111 -j DNAT --to-destination 192.168.56.11 " in dnat
    # every machine's containers resolve the name to the new address (in place)
    for machine in machines.values():
        [resolve] = machine.ran(r"^for c in \$\(docker ps -q")
        assert "s/^192\\.168\\.56\\.11([[:space:]]+redis1)$/192.168.56.111\\1/" in resolve
        assert 'cat "$h.rhl" > "$h"' in resolve  # a bind mount: written in place
    # the old address refuses the other machines and the server's own processes,
    # never what came through the new address (nor the lab's observers: not a source)
    [rules] = machines["redis1"].ran("RHL-INPUT -s")
    to_old = ("-p tcp -d 192.168.56.11 -m multiport --dports 6379,6380,6381,26379,26380,26381 "
              "-m conntrack ! --ctstate DNAT")
    for other in ("192.168.56.12", "192.168.56.13"):
        assert f"iptables -w -A RHL-INPUT -s {other} {to_old} " \
               "-j REJECT --reject-with tcp-reset" in rules
    assert f"-A RHL-OUTPUT {to_old} -j REJECT" in rules
    assert all(not m.ran("RHL-INPUT -s") for name, m in machines.items() if name != "redis1")
    # the heal (the undo, run last to first): refusals lifted, the name back on every
    # machine, connections through the new address reset, then NAT and address removed
    order = [undo for _, undo in reversed(applied.undo)]
    first = lambda text: next(i for i, u in enumerate(order) if text in u)  # noqa: E731
    assert first("iptables -w -D RHL-INPUT -s") < first("/192.168.56.11\\1/") \
        < first("--ctorigdst 192.168.56.111") < first("-t nat -D") < first("ip addr del")
    reset = order[first("--ctorigdst 192.168.56.111")]
    assert "-I RHL-INPUT 1" in reset and "sleep 1" in reset and "-D RHL-OUTPUT" in reset
    assert len([u for _, u in applied.undo if "# fault" in u or "sed -i" in u]) == 4 + 3


def test_new_address_needs_named_servers_and_a_free_address():
    nemesis, machines, topo = fake_nemesis()
    machines["redis1"].answer(r"^grep -q", "", 1)  # the compose file names no server
    with pytest.raises(faults.FaultSkipped, match=r"set \[machines\] hostnames = true"):
        faults.inject(nemesis, "new-address", shard=1)
    assert not machines["redis1"].ran("^ip addr add")
    from lab.chaos.faults.machines import new_address
    assert new_address(topo, "192.168.56.0/24", "192.168.56.11") == "192.168.56.111"
    with pytest.raises(faults.FaultSkipped, match="no free address 100 above 192.168.56.200"):
        new_address(topo, "192.168.56.0/24", "192.168.56.200")


def test_sentinel_events_count_from_a_fault_that_only_sets_the_stage():
    """A conversion the stage-setting fault caused, before the fault proper, counts."""
    stage = {"type": "fault", "t": 1.0, "phase": "inject", "id": "s", "fault": "x",
             "target": {}, "stage": True}
    events = [sentinel(0.5, "+sdown", "master shard1 10.0.0.1 6379"),  # before any fault
              stage,
              sentinel(2.0, "+convert-to-slave", "slave 10.0.0.1:6379 10.0.0.1 6379 @ "
                       "shard1 10.0.0.1 6379"),
              {**fault_at(3.0), "id": "p"}]
    m = checkers.measure(events, [1], {1: "shard1"})
    assert m[1].sentinel_events == {"+convert-to-slave": 1}
