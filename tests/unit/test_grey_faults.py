"""The grey-failure faults (issue 27) on fake machines: what each runs, in which order
its undo is written down, what it refuses; tests/chaos runs them on a real lab."""

from __future__ import annotations

import contextlib
import shlex

import pytest

from lab.chaos import faults
from lab.chaos.faults import resources
from lab.leftovers import PENDING
from tests.unit.test_catalogue import fake_nemesis, fault_at


class _Limits:
    def config_get(self, name):
        if name == "repl-backlog-size":
            return {name: "1048576"}
        return {name: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"}


@pytest.fixture
def buffer_nemesis(monkeypatch):
    monkeypatch.setattr(resources, "client", lambda *a, **k: contextlib.nullcontext(_Limits()))
    return fake_nemesis()


def test_the_replica_class_is_read_whatever_the_engine_calls_it():
    assert resources.replica_limit("normal 0 0 0 replica 1 2 3 pubsub 4 5 6") == "1 2 3"
    assert resources.replica_limit("normal 0 0 0 slave 268435456 67108864 60") == \
        "268435456 67108864 60"
    with pytest.raises(RuntimeError, match="no replica class"):
        resources.replica_limit("normal 0 0 0")


def test_the_buffer_loop_writes_its_undo_before_it_changes_or_starts_anything(
        buffer_nemesis):
    nemesis, machines, _ = buffer_nemesis
    applied = faults.inject(nemesis, "replica-buffer-loop", shard=1, limit_kb=128,
                            value_kb=32, keys=50, rate=100)
    commands = machines["redis1"].commands
    pending = [i for i, c in enumerate(commands) if c.endswith(f">> {PENDING}")]
    change = next(i for i, c in enumerate(commands) if "CONFIG SET" in c and "answer=" in c)
    fill = next(i for i, c in enumerate(commands) if "EVAL" in c and " -r " not in c
                and ">>" not in c)
    writer = next(i for i, c in enumerate(commands) if c.startswith("nohup timeout 600"))
    assert len(pending) == 2 and max(pending) < change < fill < writer
    key = f"lab:buffer-loop:{applied.id}"
    # The limit set, the value before put back (and rewritten into the file).
    assert "client-output-buffer-limit 'replica 128kb 64kb 1'" in commands[change]
    undo = [u for _, u in applied.undo]
    assert any("'replica 268435456 67108864 60'" in u and "CONFIG REWRITE" in u for u in undo)
    # The burst: 50 values of 32 KB at once (read once from stdin); then the writer:
    # bounded, 100 a second, over the same 50 keys of the lab's own.
    assert commands[fill].startswith("head -c 32768 /dev/zero")
    assert f"-x EVAL {shlex.quote(resources.FILL)} 1 {key} 50" in commands[fill]
    assert "head -c 32768 /dev/zero" in commands[writer]
    loop = shlex.split(commands[writer])[5]  # nohup timeout 600 sh -c LOOP
    assert f"-x -r 60000 -i 0.0100 EVAL {shlex.quote(resources.OVERWRITE)} 1 {key} 50" in loop
    # The undo stops the writer (its pattern cannot match the undo's own shell) and
    # deletes every key it wrote.
    stop = next(u for u in undo if "pkill" in u)
    assert f"pkill -f '{key[:-1]}[{key[-1]}]'" in stop
    assert f"EVAL {shlex.quote(resources.DELETE)} 1 {key} 50" in stop
    assert key not in stop.split("pkill -f ")[1].split(";")[0]


@pytest.mark.parametrize(("param", "value"), [("limit_kb", 0), ("value_kb", 0),
                                              ("rate", 5000), ("rate", "fast")])
def test_the_buffer_loop_refuses_parameters_outside_their_range(buffer_nemesis, param, value):
    nemesis, _, _ = buffer_nemesis
    with pytest.raises(ValueError, match=f"{param}="):
        faults.inject(nemesis, "replica-buffer-loop", **{param: value})


def _containers(nemesis, machines):
    for server, machine in machines.items():
        machine.answer(r"docker ps -q", "\n".join(f"{server[-1]}{n} redis-{n}"
                                                  for n in range(3)) + "\n")


def test_a_cold_start_stops_everything_and_starts_it_in_the_order_its_seed_draws():
    nemesis, machines, _ = fake_nemesis()
    _containers(nemesis, machines)
    first = faults.inject(nemesis, "cold-start", seed=7, gap_ms=250)
    for server, machine in machines.items():
        [stop] = machine.ran(r"^docker stop")
        assert stop == f"docker stop -t 1 {server[-1]}0 {server[-1]}1 {server[-1]}2 >/dev/null"
    order = first.target["order"]
    assert sorted(order) == sorted(f"{s}/redis-{n}" for s in machines for n in range(3))
    # The heal runs the undo backwards: the first container started is order[0].
    started = [command for _, command in reversed(first.undo)]
    assert all(c.startswith("docker start ") and c.endswith("&& sleep 0.25") for c in started)
    assert [c.split()[2] for c in started] == \
        [f"{o.split('/')[0][-1]}{o[-1]}" for o in order]
    assert len(first.ready) == 9
    other = faults.inject(nemesis, "cold-start", seed=8, gap_ms=250)
    # The same seed on a lab whose containers have other ids: the same order of services.
    for server, machine in machines.items():
        machine.answers.clear()
        machine.answer(r"docker ps -q", "\n".join(f"{9 - n}{server[-1]} redis-{n}"
                                                  for n in range(3)) + "\n")
    again = faults.inject(nemesis, "cold-start", seed=7, gap_ms=250)
    assert again.target["order"] == order and other.target["order"] != order


def test_a_cold_start_refuses_a_seed_or_gap_that_is_not_a_number_in_range():
    nemesis, _, _ = fake_nemesis()
    for bad in ({"seed": "soon"}, {"gap_ms": -1}, {"gap_ms": 60000}):
        with pytest.raises(ValueError, match="a whole number"):
            faults.inject(nemesis, "cold-start", **bad)


def test_sentinel_files_are_made_read_only_after_their_undo_is_written():
    nemesis, machines, topo = fake_nemesis()
    applied = faults.inject(nemesis, "sentinel-conf-readonly", shard=1)
    for sentinel in topo.sentinels_of(topo.shard(1)):
        files = (f"/opt/redis-ha-lab/data/{sentinel.service} "
                 f"/opt/redis-ha-lab/data/{sentinel.service}/{sentinel.service}.conf")
        commands = machines[sentinel.server.name].commands
        pending = next(i for i, c in enumerate(commands)
                       if f"chmod u+w {files}" in c and c.endswith(f">> {PENDING}"))
        assert commands.index(f"chmod a-w {files}") > pending
    assert len(applied.undo) == 3 and faults.get("sentinel-conf-readonly").sets_stage


def named(t, sentinel, master, answered=True, shard=1):
    return {"type": "named", "t": t, "sentinel": sentinel, "shard": shard, "master": master,
            "answered": answered}


def test_a_sentinel_is_down_while_it_answers_nothing_not_while_it_names_no_master():
    from lab.chaos import checkers

    events = [named(0.0, "s1", "a"), named(0.0, "s2", "a"),
              named(1.0, "s2", None, answered=False),  # stopped
              named(3.0, "s2", "a"),
              named(4.0, "s1", None),  # answers, names no master: not down
              named(5.0, "s2", None, answered=False),  # cannot start
              named(12.5, "s2", "b"),
              named(13.0, "s3", None, answered=False, shard=2),
              {"type": "op", "t": 20.0}]
    assert checkers.sentinel_down(events, 1, since=0.5) == 7.5
    assert checkers.sentinel_down(events, 1, since=None) == 0.0
    assert checkers.sentinel_down(events, 2, since=0.0) == 7.0  # to the end
    # a history recorded before "answered" was: nothing counts as down
    older = [{k: v for k, v in e.items() if k != "answered"} for e in events]
    assert checkers.sentinel_down(older, 1, since=0.0) == 0.0


def test_a_sentinel_that_could_not_start_is_asserted_and_reported():
    from lab.chaos.checkers import ShardMeasures
    from lab.chaos.scenarios import Expect, judge
    from tests.unit.test_syncs import SETTLED

    expect = Expect(failover=True, max_lost_writes=None, sentinel_down_s=6, finding="x")
    down = judge(expect, ShardMeasures(1, failover_s=2.0, sentinel_down_s=9.2), SETTLED)
    assert down.status == "finding"
    assert "a Sentinel of shard 1 answered nothing for 9.2 s" in down.findings
    up = judge(expect, ShardMeasures(1, failover_s=2.0, sentinel_down_s=1.1), SETTLED)
    assert [c.check for c in up.checks if not c.ok] == [
        "a Sentinel answered nothing for 6 s or more"]


def test_a_sentinel_that_names_the_replaced_master_again_is_found():
    from lab.chaos import checkers

    switch = {"type": "sentinel", "t": 5.0, "sentinel": "s1", "channel": "+switch-master",
              "data": "shard1 10.0.0.1 6379 10.0.0.1 6381"}
    events = [named(0.0, "s1", "10.0.0.1:6379"), named(0.0, "s3", "10.0.0.1:6379"),
              named(4.9, "s3", "10.0.0.1:6381"),  # the leader names it before publishing
              switch, named(5.1, "s1", "10.0.0.1:6381"),
              named(6.0, "s2", "10.0.0.1:6379"),  # never learned it: not "again"
              named(10.0, "s3", None, answered=False),
              named(24.9, "s3", "10.0.0.1:6379"),  # restarted from the unsaved file
              named(25.4, "s3", "10.0.0.1:6381"),
              named(30.0, "s1", "10.0.0.1:6379", shard=2)]  # another shard
    assert checkers.named_replaced(events, 1, "shard1", since=1.0) == ["s3"]
    assert checkers.named_replaced(events, 1, "shard1", since=6.0) == []  # no switch since
    assert checkers.named_replaced(events, 1, "shard2", since=1.0) == []


def test_a_sentinel_naming_the_replaced_master_again_is_reported_never_asserted():
    from lab.chaos.checkers import ShardMeasures
    from lab.chaos.scenarios import Expect, judge
    from tests.unit.test_syncs import SETTLED

    expect = Expect(failover=True, max_lost_writes=None, finding="x")
    seen = judge(expect, ShardMeasures(1, failover_s=2.0, named_replaced=["redis1:26381"]),
                 SETTLED)
    assert "redis1:26381 named the master the failover replaced again, after it had named " \
        "the new one" in seen.findings
    unseen = judge(expect, ShardMeasures(1, failover_s=2.0), SETTLED)
    assert unseen.status == "pass" and not any("replaced" in f for f in unseen.findings)


def test_a_clock_jump_writes_the_sentinels_offset_file_after_its_undo():
    nemesis, machines, topo = fake_nemesis()
    sentinel = topo.sentinels_of(topo.shard(1))[0]
    machine = machines[sentinel.server.name]
    machine.answer(r"docker ps -aq", "c0ffee\n")
    applied = faults.inject(nemesis, "clock-jump", shard=1, seconds=-90)
    offset = f"/opt/redis-ha-lab/data/{sentinel.service}/clock-offset"
    commands = machine.commands
    check = commands.index("grep -q lab-clock /proc/$(docker inspect -f '{{.State.Pid}}' "
                           "c0ffee)/maps")
    pending = next(i for i, c in enumerate(commands)
                   if f"echo +0 > {offset}" in c and c.endswith(f">> {PENDING}"))
    assert check < pending < commands.index(f"echo -90 > {offset}")
    assert applied.target == {"sentinel": sentinel.label, "seconds": -90}
    assert faults.get("clock-jump").searched and faults.get("clock-jump").sets_stage


def test_a_clock_jump_on_a_sentinel_without_the_shim_is_skipped_saying_why():
    nemesis, machines, topo = fake_nemesis()
    sentinel = topo.sentinels_of(topo.shard(1))[0]
    machines[sentinel.server.name].answer(r"docker ps -aq", "c0ffee\n").answer(
        r"grep -q lab-clock", "", status=1)
    with pytest.raises(faults.FaultSkipped, match="does not run with the lab's clock shim"):
        faults.inject(nemesis, "clock-jump", shard=1)
    assert not any("clock-offset" in c for c in machines[sentinel.server.name].commands)


@pytest.mark.parametrize("seconds", ["soon", 86401, 1.5])
def test_a_clock_jump_refuses_what_is_not_a_whole_number_of_seconds_in_range(seconds):
    nemesis, _, _ = fake_nemesis()
    with pytest.raises(ValueError, match=r"seconds=.*: a whole number -86400\.\.86400"):
        faults.inject(nemesis, "clock-jump", seconds=seconds)


def sentinel_event(t, sentinel, channel):
    return {"type": "sentinel", "t": t, "sentinel": sentinel, "channel": channel,
            "data": "#tilt mode entered" if channel == "+tilt" else "#tilt mode exited"}


def test_tilt_lasts_from_each_sentinels_plus_tilt_to_its_minus_tilt():
    from lab.chaos import checkers

    events = [sentinel_event(1.0, "a", "+tilt"), sentinel_event(31.2, "a", "-tilt"),
              sentinel_event(40.0, "a", "+tilt"), sentinel_event(50.0, "b", "+tilt"),
              {"type": "op", "t": 60.0}]
    assert checkers.tilt(events, None, since=0.0) == 30.2
    assert checkers.tilt(events, {"b"}, since=0.0) == 10.0  # still in TILT at the end
    assert checkers.tilt(events, {"a"}, since=35.0) == 20.0  # the second one, to the end
    assert checkers.tilt(events, {"c"}, since=0.0) == 0.0
    assert checkers.tilt(events, None, since=None) == 0.0


def test_a_scenario_that_expects_tilt_reports_how_long_it_lasted():
    from lab.chaos.checkers import ShardMeasures
    from lab.chaos.scenarios import Expect, judge
    from tests.unit.test_syncs import SETTLED

    expect = Expect(failover=True, max_lost_writes=None, sentinel_events=("+tilt",),
                    finding="x")
    seen = judge(expect, ShardMeasures(1, failover_s=4.0, sentinel_events={"+tilt": 1},
                                       tilt_s=30.2), SETTLED)
    assert "a Sentinel of shard 1 stayed in TILT for up to 30.2 s" in seen.findings


def test_a_full_disk_is_filled_after_its_undo_is_written_and_saved_on_at_once():
    nemesis, machines, _ = fake_nemesis()
    applied = faults.inject(nemesis, "disk-full", shard=1, free_kb=16)
    data = "/opt/redis-ha-lab/data/redis-6379"
    commands = machines["redis1"].commands
    check = commands.index(f"mountpoint -q {data}")
    pending = next(i for i, c in enumerate(commands)
                   if f"rm -f {data}/lab-disk-full;" in c and c.endswith(f">> {PENDING}"))
    fill = next(i for i, c in enumerate(commands) if c.startswith("fallocate"))
    save = next(i for i, c in enumerate(commands) if "CONFIG GET save" in c)
    assert check < pending < fill < save and applied.target["how"] == "full"
    # All but 16 KB taken, and the disk checked to be that full.
    assert commands[fill] == (
        f"fallocate -l $(( ($(df --output=avail -k {data} | tail -n1) - 16) * 1024 )) "
        f"{data}/lab-disk-full && [ $(df --output=avail -k {data} | tail -n1) -le 16 ]")
    # RDB's next save brought forward only where save points are set: its BGSAVE is in
    # braces, or the `||` would not guard it.
    assert commands[save].endswith("BGSAVE >/dev/null; }")
    assert "] || { export REDISCLI_AUTH" in commands[save]
    # The heal saves again only where a save failed, and waits for PONG.
    [(server, undo)] = applied.undo
    assert server == "redis1" and "grep -q '^rdb_last_bgsave_status:err'; then" in undo
    assert applied.ready[0][1].endswith("-h 192.168.56.11 -p 6379 PING)\" = PONG ]")
    assert not faults.get("disk-full").searched


def test_without_a_disk_of_its_own_the_data_directory_is_made_unwritable_instead():
    nemesis, machines, _ = fake_nemesis()
    machines["redis1"].answer(r"^mountpoint -q", "", status=1)
    applied = faults.inject(nemesis, "disk-full", shard=1)
    data = "/opt/redis-ha-lab/data/redis-6379"
    commands = machines["redis1"].commands
    pending = next(i for i, c in enumerate(commands)
                   if f"chmod u+w {data};" in c and c.endswith(f">> {PENDING}"))
    assert commands.index(f"chmod a-w {data}") > pending
    assert applied.target["how"] == "unwritable"
    # the machine's own disk (the host's) is never filled
    assert not machines["redis1"].ran("fallocate|lab-disk-full")


@pytest.mark.parametrize("free_kb", [-1, "full", 1 << 23])
def test_a_disk_full_refuses_a_free_space_that_is_not_a_size_in_range(free_kb):
    nemesis, _, _ = fake_nemesis()
    with pytest.raises(ValueError, match=r"free_kb=.*: a whole number 0\.\.4194304"):
        faults.inject(nemesis, "disk-full", free_kb=free_kb)


def refusing(t, instance, refused, shard=1):
    return {"type": "role", "t": t, "instance": instance, "shard": shard, "role": "master",
            "master": None, "link": None, "refused": refused}


def test_misconf_lasts_while_an_instance_answers_ping_with_it():
    from lab.chaos import checkers

    events = [refusing(0.0, "a", None), refusing(2.0, "a", "MISCONF"),
              refusing(3.0, "b", "LOADING"),  # alive to Sentinel: not counted
              refusing(9.5, "a", None), refusing(10.0, "c", "MISCONF", shard=2),
              {"type": "op", "t": 14.0}]
    assert checkers.misconf(events, 1, since=1.0) == 7.5
    assert checkers.misconf(events, 1, since=None) == 0.0
    assert checkers.misconf(events, 2, since=0.0) == 4.0  # still refusing at the end
    # a history recorded before PING was polled: nothing refused
    older = [{k: v for k, v in e.items() if k != "refused"} for e in events]
    assert checkers.misconf(older, 1, since=0.0) == 0.0


def test_writes_refused_with_misconf_are_counted_per_instance_that_refused_them():
    from lab.chaos import checkers

    def write(served, error):
        return {"op": "write", "served": served, "error": error, "outcome": "fail"}

    writes = [write("10.0.0.1:6379", "MISCONF"), write("10.0.0.1:6379", "MISCONF"),
              write("10.0.0.2:6380", "MISCONF"), write(None, "MISCONF"),
              write("10.0.0.1:6379", "READONLY")]
    assert checkers.refused_by(writes, "MISCONF") == {
        "10.0.0.1:6379": 2, "10.0.0.2:6380": 1, "unknown": 1}


def test_a_full_disk_says_why_sentinel_failed_over_or_did_not():
    from lab.chaos.checkers import ShardMeasures
    from lab.chaos.scenarios import Expect, judge
    from tests.unit.test_syncs import SETTLED

    expect = Expect(failover=True, max_lost_writes=None, misconf_s=2, finding="x")
    over = judge(expect, ShardMeasures(1, failover_s=3.7, misconf_s=10.1,
                                       misconf_writes={"10.0.0.1:6379": 395},
                                       split_brain_roles_s=11.0), SETTLED)
    assert over.status == "finding"
    assert ("an instance of shard 1 could not persist and answered PING with MISCONF for "
            "up to 10.1 s, which Sentinel counts as down; 395 write(s) refused with MISCONF "
            "(10.0.0.1:6379: 395): Sentinel failed the master over 3.7 s after the fault; "
            "the old master, still refusing PING, stayed a master (two for 11.0 s) until "
            "it could persist again") in over.findings
    short = judge(expect, ShardMeasures(1, failover_s=3.7, misconf_s=1.0), SETTLED)
    assert [c.check for c in short.checks if not c.ok] == [
        "an instance answered PING with MISCONF for 2 s or more"]
    assert any(f.endswith("no write refused with MISCONF: Sentinel failed the master "
                          "over 3.7 s after the fault") for f in short.findings)
    calm = judge(Expect(failover=False, max_lost_writes=None), ShardMeasures(1), SETTLED)
    assert calm.status == "pass" and not any("MISCONF" in f for f in calm.findings)


def test_a_slow_fsync_sets_always_then_the_delay_each_after_its_undo():
    nemesis, machines, _ = fake_nemesis()
    machine = machines["redis1"].answer(r"docker ps -aq", "c0ffee\n")
    applied = faults.inject(nemesis, "slow-fsync", shard=1, ms=2500)
    delay = "/opt/redis-ha-lab/data/redis-6379/fsync-delay-ms"
    commands = machine.commands
    check = commands.index("grep -q lab-fsync /proc/$(docker inspect -f '{{.State.Pid}}' "
                           "c0ffee)/maps")
    policy_undo = next(i for i, c in enumerate(commands)
                       if "CONFIG SET appendfsync everysec" in c and c.endswith(f">> {PENDING}"))
    policy = next(i for i, c in enumerate(commands)
                  if "CONFIG SET appendfsync always" in c and "answer=" in c)
    delay_undo = next(i for i, c in enumerate(commands)
                      if f"echo 0 > {delay}" in c and c.endswith(f">> {PENDING}"))
    assert check < policy_undo < policy < delay_undo < commands.index(f"echo 2500 > {delay}")
    # The heal runs the undos last to first: the disk is fast again before the policy.
    assert [u for _, u in reversed(applied.undo)][0].startswith(f"echo 0 > {delay}")
    assert applied.target == {"master": "redis1:6379", "server": "redis1", "ms": 2500,
                              "fsync": "always"}
    assert not faults.get("slow-fsync").searched


def test_a_slow_fsync_under_everysec_changes_no_setting():
    nemesis, machines, _ = fake_nemesis()
    machines["redis1"].answer(r"docker ps -aq", "c0ffee\n")
    faults.inject(nemesis, "slow-fsync", shard=1, ms=500, fsync="everysec")
    assert not machines["redis1"].ran("appendfsync")


def test_a_slow_fsync_on_an_instance_without_the_shim_is_skipped_saying_why():
    nemesis, machines, _ = fake_nemesis()
    machines["redis1"].answer(r"docker ps -aq", "c0ffee\n").answer(
        r"grep -q lab-fsync", "", status=1)
    with pytest.raises(faults.FaultSkipped, match="does not run with the lab's fsync shim"):
        faults.inject(nemesis, "slow-fsync", shard=1)
    assert not machines["redis1"].ran("fsync-delay-ms|appendfsync")


@pytest.mark.parametrize(("param", "value", "error"), [
    ("ms", 0, r"ms=0: a whole number 1\.\.60000"),
    ("ms", "slow", r"ms='slow': a whole number"),
    ("fsync", "no", r"fsync='no': one of always, everysec")])
def test_a_slow_fsync_refuses_a_delay_or_policy_it_does_not_know(param, value, error):
    nemesis, _, _ = fake_nemesis()
    with pytest.raises(ValueError, match=error):
        faults.inject(nemesis, "slow-fsync", **{param: value})


def test_a_memory_limit_is_set_after_every_undo_then_full_syncs_are_forced(buffer_nemesis):
    nemesis, machines, topo = buffer_nemesis
    machine = machines["redis1"].answer(r"docker ps -aq", "c0ffee\n")
    applied = faults.inject(nemesis, "memory-limit", shard=1, headroom_mb=2, keys=10,
                            value_kb=8, rate=50)
    commands = machine.commands
    pending = [i for i, c in enumerate(commands) if c.endswith(f">> {PENDING}")]
    burst = next(i for i, c in enumerate(commands) if c.startswith("head -c 8192"))
    purge = next(i for i, c in enumerate(commands) if "MEMORY PURGE" in c)
    limit = next(i for i, c in enumerate(commands) if "--memory-swap $limit c0ffee" in c)
    writer = next(i for i, c in enumerate(commands) if c.startswith("nohup timeout 600"))
    resync = [i for i, c in enumerate(commands) if "REPLICAOF NO ONE\\nREPLICAOF" in c]
    assert len(pending) == 2 and max(pending) < burst < purge < limit < writer < min(resync)
    # The limit: what the container's memory cgroup holds now (v1 or v2), plus 2 MB.
    assert commands[limit].startswith(f"limit=$(( {resources.cgroup_memory('c0ffee')} "
                                      "+ 2097152 ))")
    assert "memory.usage_in_bytes" in resources.cgroup_memory("c") and \
        "memory.current" in resources.cgroup_memory("c")
    # The writer rewrites in place (copy-on-write for a fork), every replica resyncs in
    # full: promoted and demoted again in one connection, to the master it named.
    assert "SETRANGE" in commands[writer]
    replicas = [i for i in topo.shard(1).instances if i.label != "redis1:6379"]
    assert len(resync) == len(replicas) == 2
    assert all("-p 6379 INFO replication" not in commands[i] for i in resync)
    assert "awk -F: '$1 == \"master_host\"" in commands[resync[0]]
    # One that is no longer a replica (Sentinel promoted it meanwhile) is left alone.
    assert '{ [ -z "$host" ] || printf' in commands[resync[0]]
    # Lifted first on heal, to the machine's memory (Docker cannot remove a limit):
    # the swap limit first, or cgroup v1 refuses the higher memory limit.
    undo = [u for _, u in applied.undo]
    assert undo[-1].startswith("big=$(( $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)")
    assert "--memory-swap $big c0ffee >/dev/null && docker update --memory $big " \
        "--memory-swap $big c0ffee" in undo[-1]
    assert applied.ready == [("redis1", "[ \"$(docker inspect -f '{{.State.Running}}' "
                                        "c0ffee)\" = true ]")]
    assert not faults.get("memory-limit").searched


@pytest.mark.parametrize("headroom_mb", [0, "little", 4097])
def test_a_memory_limit_refuses_a_headroom_that_is_not_a_size_in_range(headroom_mb):
    nemesis, _, _ = fake_nemesis()
    with pytest.raises(ValueError, match=r"headroom_mb=.*: a whole number 1\.\.4096"):
        faults.inject(nemesis, "memory-limit", headroom_mb=headroom_mb)


def test_instances_started_again_are_found_by_their_run_id_and_reported_where_asked():
    from lab.chaos import checkers
    from lab.chaos.checkers import ShardMeasures
    from lab.chaos.scenarios import Expect, judge
    from tests.unit.test_syncs import SETTLED

    def read(phase, instance, run_id, shard=1):
        return {"type": "sync-stats", "phase": phase, "instance": instance, "shard": shard,
                "run_id": run_id}

    events = [read("before", "a", "r1"), read("before", "b", "r2"), read("before", "c", "r3"),
              read("before", "d", "r4", shard=2),
              read("after", "a", "r9"), read("after", "b", "r2"),
              read("after", "c", None),  # unreadable after: not counted
              read("after", "d", "r8", shard=2)]
    assert checkers.restarted(events, 1) == ["a"]
    assert checkers.restarted(events, 2) == ["d"]
    seen = judge(Expect(max_lost_writes=None, restarts_reported=True, finding="x"),
                 ShardMeasures(1, restarted=["redis1:6379"]), SETTLED)
    assert seen.status == "finding"
    assert "redis1:6379 started again during the recording (a new run_id)" in seen.findings
    quiet = judge(Expect(max_lost_writes=None), ShardMeasures(1, restarted=["redis1:6379"]),
                  SETTLED)
    assert quiet.status == "pass" and not quiet.findings


def test_a_loss_after_a_restart_is_explained_by_the_restart_not_a_moment_of_two_masters():
    from lab.chaos.checkers import ShardMeasures
    from lab.chaos.scenarios import explain_loss

    restarted = ShardMeasures(3, lost_writes=156, split_brain_roles_s=0.066,
                              restarted=["redis3:6379"])
    assert explain_loss(restarted) == (
        "shard 3: 156 acknowledged writes lost without a failover: redis3:6379 started "
        "again (a new run_id) with less than it had acknowledged (an older or empty "
        "dataset) and its replicas copied it")
    # A failover, or no restart: as before.
    assert "two of its instances said role:master" in explain_loss(
        ShardMeasures(3, lost_writes=156, split_brain_roles_s=10.0, failover_s=4.0,
                      restarted=["redis3:6379"]))
    assert "two of its instances said role:master" in explain_loss(
        ShardMeasures(3, lost_writes=156, split_brain_roles_s=0.066))


# As Sentinel rewrites its file: two shards watched, what it learned about each.
SENTINEL_CONF = """\
port 26379
sentinel monitor shard1 {host} 6379 2
sentinel auth-pass shard1 secret
sentinel down-after-milliseconds shard1 5000
sentinel monitor shard10 192.168.56.13 6379 2
sentinel myid 0123456789abcdef0123456789abcdef01234567
sentinel config-epoch shard1 3
sentinel leader-epoch shard1 3
sentinel known-replica shard1 192.168.56.12 6380
sentinel known-replica shard1 192.168.56.13 6381
sentinel known-sentinel shard1 192.168.56.12 26379 fedcba
sentinel config-epoch shard10 1
sentinel known-replica shard10 192.168.56.11 6380
sentinel current-epoch 3
"""


@pytest.mark.parametrize(("host", "named"), [("192.168.56.11", "192.168.56.12"),
                                             ("redis1", "redis2")])
def test_a_fresh_monitor_forgets_only_what_was_learned_about_that_master(tmp_path, host,
                                                                         named):
    import subprocess
    from types import SimpleNamespace

    from lab.chaos.faults import sentinel_files

    replica = SimpleNamespace(server=SimpleNamespace(name="redis2", address="192.168.56.12"),
                              port=6380)
    conf = tmp_path / "sentinel.conf"
    conf.write_text(SENTINEL_CONF.format(host=host))
    subprocess.run(["sh", "-c", sentinel_files.fresh_monitor(str(conf), "shard1", replica)],
                   check=True)
    lines = conf.read_text().splitlines()
    assert f"sentinel monitor shard1 {named} {replica.port} 2" in lines
    assert not [line for line in lines if line.split()[1:2] != ["monitor"]
                and line.split()[2:3] == ["shard1"] and line.split()[1] in
                sentinel_files.LEARNED]
    # what it was told (a password, a period), the other shard, its own id: kept
    for kept in ("sentinel auth-pass shard1 secret", "sentinel down-after-milliseconds "
                 "shard1 5000", "sentinel monitor shard10 192.168.56.13 6379 2",
                 "sentinel config-epoch shard10 1", "sentinel known-replica shard10 "
                 "192.168.56.11 6380", "sentinel current-epoch 3", "port 26379"):
        assert kept in lines
    assert any(line.startswith("sentinel myid ") for line in lines)
    assert len(lines) == len(SENTINEL_CONF.splitlines()) - 5


@pytest.mark.parametrize("stray", ["all", "one"])
def test_sentinels_start_afresh_together_naming_different_masters(stray):

    nemesis, machines, topo = fake_nemesis()
    for machine in machines.values():
        machine.answer(r"docker ps -aq", f"c-{machine.server.name}\n")
    applied = faults.inject(nemesis, "sentinels-disagree", shard=1, stray=stray)
    sentinels = topo.sentinels_of(topo.shard(1))
    master = topo.shard(1).initial_master
    named = [applied.target["named"][s.label] for s in sentinels]
    if stray == "all":  # the first names the master, each other one another instance
        assert named[0] == master.label and len(set(named)) == len(named)
    else:
        assert named[:-1] == [master.label] * (len(named) - 1) and named[-1] != master.label
    for sentinel in sentinels:
        commands = machines[sentinel.server.name].commands
        conf = f"/opt/redis-ha-lab/data/{sentinel.service}/{sentinel.service}.conf"
        pending = max(i for i, c in enumerate(commands) if c.endswith(f">> {PENDING}"))
        stop = commands.index(f"docker stop -t 1 c-{sentinel.server.name} >/dev/null")
        # what it knows saved first: the heal restores that file (a save that failed
        # while the file was read-only is not retried until the next change)
        flush = next(i for i, c in enumerate(commands)
                     if f"-p {sentinel.port} SENTINEL FLUSHCONFIG" in c and "answer=" in c)
        assert flush < stop
        fresh = next(i for i, c in enumerate(commands) if c.startswith(f"cp -p {conf} "))
        start = commands.index(f"docker start c-{sentinel.server.name} >/dev/null")
        assert pending < stop < fresh < start
    # Every one stopped before any file changes: none tells a restarted one what it knew.
    for machine in machines.values():
        stops = [i for i, c in enumerate(machine.commands) if c.startswith("docker stop")]
        files = [i for i, c in enumerate(machine.commands) if c.startswith("cp -p")]
        assert not stops or max(stops) < min(files)
    everything = [c for m in machines.values() for c in m.commands]
    assert len(applied.undo) == len(sentinels) == len(applied.ready)
    assert all(f"mv {conf}.lab-before" in u for (_, u), conf in zip(
        applied.undo, (f"/opt/redis-ha-lab/data/{s.service}/{s.service}.conf"
                       for s in sentinels), strict=True))
    assert len([c for c in everything if c.startswith("docker stop")]) == len(sentinels)


def test_sentinels_that_name_different_masters_disagree_until_they_agree():
    from lab.chaos import checkers

    events = [named(0.0, "s1", "a"), named(0.0, "s2", "a"), fault_at(1.0),
              named(2.0, "s2", None, answered=False),  # restarting: agrees with no one
              named(3.0, "s2", "b"),  # a fresh file naming another
              named(4.0, "s3", "c"),
              named(9.0, "s2", "a"),
              named(10.5, "s3", "a"),  # all agree again
              named(12.0, "s1", "x", shard=2), named(13.0, "s2", "y", shard=2),
              {"type": "meta", "t": 20.0}]
    assert checkers.sentinels_disagree(events, 1, since=0.5) == 7.5
    assert checkers.sentinels_disagree(events, 1, since=None) == 0.0
    assert checkers.sentinels_disagree(events, 2, since=0.0) == 7.0  # to the end
    m = checkers.measure(events, [1], {1: "shard1"})
    assert m[1].sentinels_disagree_s == 7.5


def test_sentinels_that_disagree_are_asserted_where_expected_and_reported_elsewhere():
    from lab.chaos.checkers import ShardMeasures
    from lab.chaos.scenarios import DISAGREE_REPORTED_S, Expect, judge
    from tests.unit.test_syncs import SETTLED

    expect = Expect(failover=False, sentinels_disagree_s=8, finding="x")
    long = judge(expect, ShardMeasures(1, lost_writes=0, sentinels_disagree_s=14.2), SETTLED)
    assert long.status == "finding" and [f for f in long.findings if "masters" in f] == [
        "the Sentinels of shard 1 named different masters for 14.2 s"]  # said once
    short = judge(expect, ShardMeasures(1, lost_writes=0, sentinels_disagree_s=2.0), SETTLED)
    assert [c.check for c in short.checks if not c.ok] == [
        "the Sentinels named different masters for 8 s or more"]
    # Not expected: reported past a hello period or two, never asserted.
    plain = Expect(failover=True)
    late = judge(plain, ShardMeasures(1, lost_writes=0, failover_s=3.0,
                                      sentinels_disagree_s=DISAGREE_REPORTED_S + 1), SETTLED)
    assert late.status == "pass" and any("named different masters" in f
                                         for f in late.findings)
    usual = judge(plain, ShardMeasures(1, lost_writes=0, failover_s=3.0,
                                       sentinels_disagree_s=1.5), SETTLED)
    assert not usual.findings


class _Announcing:
    def config_get(self, pattern):
        return {"replica-announce-ip": "", "replica-announce-port": "0"}


def test_replicas_announce_the_master_after_the_repair_is_written_down(monkeypatch):
    from lab.chaos.faults import sentinel_files

    monkeypatch.setattr(sentinel_files, "client",
                        lambda *a, **k: contextlib.nullcontext(_Announcing()))
    nemesis, machines, topo = fake_nemesis()
    for machine in machines.values():
        machine.answer(r"docker ps -aq", f"c-{machine.server.name}\n")
    applied = faults.inject(nemesis, "replicas-announce-master", shard=1)
    master = topo.shard(1).initial_master
    first, second = [i for i in topo.shard(1).instances if i != master]
    assert applied.target["announced"] == {
        first.label: f"{master.server.address}:{master.port}",
        second.label: f"{master.server.name}:{master.port}"}
    commands = machines["redis1"].commands
    pending = [i for i, c in enumerate(commands) if c.endswith(f">> {PENDING}")]
    changes = [i for i, c in enumerate(commands) if "CONFIG SET replica-announce-ip" in c
               and "answer=" in c]
    assert len(changes) == 2 and min(changes) > sorted(pending)[-2]
    assert f"-p {first.port} CONFIG SET replica-announce-ip {master.server.address} " \
        f"replica-announce-port {master.port}" in commands[changes[0]]
    # each announcement reconnects its replica at once: it announces itself when it connects
    for i in changes:
        assert "CLIENT KILL TYPE master" in commands[i + 1] and \
            not commands[i + 1].endswith(f">> {PENDING}")
    # The heal, last to first: announcements back, files cleaned (a Sentinel that could not
    # start, started), SENTINEL RESET, and only then a master replicating itself a master
    # again (before the resets, a Sentinel converted it again: measured on Redis 7.0).
    undo = [u for _, u in reversed(applied.undo)]
    put_back = [n for n, u in enumerate(undo) if "CONFIG SET replica-announce-ip ''" in u
                and "CLIENT KILL TYPE master" in u]
    cleaned = [n for n, u in enumerate(undo) if "sed -i '/^sentinel known-replica shard1 "
               f"\\({master.server.address}\\|{master.server.name}\\) {master.port}$/d'" in u
               and "docker restart -t 1" in u]
    itself = [n for n, u in enumerate(undo) if "REPLICAOF NO ONE" in u]
    resets = [n for n, u in enumerate(undo) if "SENTINEL RESET shard1" in u]
    sentinels = topo.sentinels_of(topo.shard(1))
    assert len(put_back) == 2 and len(cleaned) == len(resets) == len(sentinels) == 3
    assert max(put_back) < min(cleaned) and max(cleaned) < min(resets)
    assert max(resets) < itself[0]
    assert len(applied.ready) == len(sentinels)


@pytest.mark.parametrize(("replicating", "promoted"), [
    ("role:slave\nmaster_host:192.168.56.11\nmaster_port:6379", True),
    ("role:slave\nmaster_host:redis1\nmaster_port:6379", True),
    ("role:master", False),
    ("role:slave\nmaster_host:192.168.56.12\nmaster_port:6379", False),  # another master
    ("role:slave\nmaster_host:192.168.56.11\nmaster_port:6380", False)])
def test_only_a_master_replicating_itself_is_made_a_master_again(tmp_path, replicating,
                                                                 promoted):
    import subprocess

    from lab.chaos.faults import sentinel_files

    nemesis, _, topo = fake_nemesis()
    master = topo.shard(1).initial_master
    line = sentinel_files.unless_replicating_itself(nemesis, master,
                                                    (master.server.address, "redis1"))
    # redis-cli stood in for by a script: INFO answers, REPLICAOF is written down
    (tmp_path / "redis-cli").write_text(
        "#!/bin/sh\ncase \"$*\" in *INFO*) printf '%s\\n' \"$LAB_INFO\" | sed 's/$/\\r/' ;;"
        f" *REPLICAOF*) echo \"$*\" >> {tmp_path}/ran ;; esac\n")
    (tmp_path / "redis-cli").chmod(0o755)
    subprocess.run(["sh", "-c", line], check=True, env={
        "PATH": f"{tmp_path}:/usr/bin:/bin", "LAB_INFO": replicating})
    ran = (tmp_path / "ran").read_text() if (tmp_path / "ran").exists() else ""
    assert ("REPLICAOF NO ONE" in ran) is promoted
