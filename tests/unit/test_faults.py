"""The fault registry and every fault's commands, on fake machines (no lab, no SSH).

The real-lab tests (tests/chaos) prove these commands break and heal a real lab; these
prove, in milliseconds, which commands each fault sends where, that its undo is exactly
the reverse, and that a new fault reaches --list, the dry-run plan and the state machine
by being registered, nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import find

from lab import config, leftovers, topology
from lab.access import Access
from lab.chaos import faults, plan, stateful
from lab.chaos.faults import base
from lab.chaos.nemesis import Nemesis
from lab.chaos.scenarios import Expect, Scenario, Step
from lab.cli import main
from lab.config import LabConfig, SloSettings
from lab.machines.base import Machines, RestartUnsupported
from tests.fakes import FakeMachine

CID = "c0ffee"


def lab_topology(layout: str = "article"):
    return topology.build(config.from_dict({"lab": {"layout": layout}}))


def fake_nemesis(topo, *, adopted: bool = False, backend: Machines | None = None):
    machines = [FakeMachine(s).answer(r"^docker ps -aq --filter label", CID)
                .answer(r"^docker inspect -f '\{\{.State.Pid\}\}'", "4242\n")
                for s in topo.servers]
    nemesis = Nemesis(topo, machines, Access("pw"), "192.168.56.0/24", backend=backend,
                      adopted=adopted)
    nemesis.master_of = lambda shard: topo.shard(shard).initial_master  # no Sentinels here
    return nemesis, {m.server.name: m for m in machines}


# -- the registry --------------------------------------------------------------------------


@pytest.fixture
def private_registry(monkeypatch):
    """A copy of the registry for the test: throw-away faults vanish afterwards."""
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))


def test_the_registry_refuses_a_second_fault_of_the_same_name(private_registry):
    with pytest.raises(ValueError, match="'stop-master' is registered twice"):
        @faults.register
        class Again(faults.Fault):
            name = "stop-master"
            family = "processes"

            def inject(self, nemesis, **params): ...

            def describe(self, params): return ""


def test_registered_hands_out_a_copy():
    copy = faults.registered()
    copy.pop("stop-master")
    assert "stop-master" in faults.registered()


def test_a_registered_fault_reaches_list_plan_and_state_machine(private_registry, capsys):
    @faults.register
    class Throwaway(faults.Fault):
        """Flip the throw-away switch on a server (a test's fault)."""

        name = "throwaway"
        family = "network"
        params = (faults.Param("server", "server", 1), faults.Param("level", "int", 3,
                                                                   low=1, high=9))
        searched = True

        def inject(self, nemesis, server, level):
            return faults.Applied(self.name, {"server": server, "level": level})

        def describe(self, params):
            return f"flip the switch on {params['server']} to {params['level']}"

    # --list
    assert main(["chaos", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "throwaway" in listed and "Flip the throw-away switch on a server" in listed

    # the dry-run plan
    topo = lab_topology()
    scenario = Scenario("flip", "flip: a test", (Step("throwaway", {"server": 2}),),
                        lambda cfg: Expect())
    lines = plan.describe(topo, [scenario], "ci", lambda n: topo.shard(n).initial_master,
                          faults.searched())
    assert lines[0] == "flip: flip the switch on redis2 to 3; touches redis2 (192.168.56.12)"
    assert "throwaway" in lines[1]

    # the state machine's inject rule draws it, with its own parameter strategy
    class Session:  # what building the state machine reads of a session
        class lab:  # noqa: N801 - the attribute a session has
            topology = topo
            config = LabConfig()
        run_dir = Path("/nonexistent")
        slo = SloSettings()
    cls = stateful.machine_class(Session())
    inject = next(r for r in cls.setup_state().rules if r.function.__name__ == "inject")
    drawn = find(inject.arguments_strategies["fault"], lambda f: f[0] == "throwaway")
    assert drawn == ("throwaway", {"server": 1, "level": 1})  # shrunk to the smallest


def test_parameters_are_checked_against_the_topology():
    topo = lab_topology()
    stop = faults.get("stop-master")
    assert stop.resolve({}, topo) == {"shard": 1}
    with pytest.raises(ValueError, match="shard=4: a shard number 1..3"):
        stop.resolve({"shard": 4}, topo)
    with pytest.raises(ValueError, match="has no parameter server"):
        stop.resolve({"server": 1}, topo)
    loss = faults.get("packet-loss")
    assert loss.resolve({"server": 3}, topo) == {"server": "redis3", "percent": 30}
    with pytest.raises(ValueError, match="percent=0: a whole number 1..100"):
        loss.resolve({"percent": 0}, topo)
    with pytest.raises(ValueError, match="count='most': one of minority, majority"):
        faults.get("kill-sentinels").resolve({"count": "most"}, topo)
    with pytest.raises(ValueError, match="unknown fault 'nope'"):
        faults.get("nope")


# -- what each fault sends, and its exact undo ------------------------------------------------


@pytest.mark.parametrize(("fault", "action", "undo"), [
    ("stop-master", f"docker stop -t 1 {CID}", f"docker start {CID}"),
    ("pause-master", f"docker pause {CID}", f"docker unpause {CID}"),
    ("crash-master", "kill -9 4242",
     f"[ \"$(docker inspect -f '{{{{.State.Running}}}}' {CID})\" = true ] || "
     f"docker start {CID}"),
])
def test_master_faults_act_on_the_masters_container_and_undo_it(fault, action, undo):
    topo = lab_topology()
    nemesis, machines = fake_nemesis(topo)
    applied = faults.inject(nemesis, fault, shard=2)
    redis2 = machines["redis2"]
    assert redis2.ran("com.docker.compose.service=redis-6379")  # the master's container
    assert redis2.commands[-1] == action
    assert applied.undo == [("redis2", undo)]
    assert applied.target == {"instance": "redis2:6379", "server": "redis2",
                              "service": "redis-6379"}
    assert not machines["redis1"].commands and not machines["redis3"].commands
    nemesis.heal(applied)
    # The heal undoes it, then waits until the container runs again (so the next step
    # never finds it restarting).
    assert redis2.commands[-2:] == [
        undo, f"[ \"$(docker inspect -f '{{{{.State.Running}}}}' {CID})\" = true ]"]


def test_partition_rules_are_tagged_and_the_heal_deletes_each_one():
    topo = lab_topology("spread")
    nemesis, machines = fake_nemesis(topo)
    applied = faults.inject(nemesis, "partition-sentinels", shard=1)
    for name, machine in machines.items():
        [command] = machine.commands
        assert command.startswith(leftovers.ENSURE_CHAINS)  # the tagged chains exist first
        assert ("iptables -w -A RHL-OUTPUT -p tcp -m owner --uid-owner 26379 -d "
                "192.168.56.11 --dport 6379 -j DROP -m comment --comment redis-ha-lab"
                in command), name
    assert [(s, c.replace(" -D ", " -A ")) for s, c in applied.undo] == [
        (s, "iptables -w -A RHL-OUTPUT -p tcp -m owner --uid-owner 26379 -d 192.168.56.11 "
            "--dport 6379 -j DROP -m comment --comment redis-ha-lab")
        for s in ("redis1", "redis2", "redis3")]
    nemesis.heal(applied)
    assert [m.commands[-1].split(" -D ")[0] for m in machines.values()] == \
        ["iptables -w"] * 3


def test_isolating_a_master_with_clients_cuts_both_directions():
    topo = lab_topology()
    nemesis, machines = fake_nemesis(topo)
    applied = faults.inject(nemesis, "isolate-master-with-clients", shard=1)
    assert applied.target["with_master"] == ["redis1:6379", "redis1:26379"]
    assert applied.target["other_side"] == ["redis1:6380", "redis1:6381", "redis1:26380",
                                            "redis1:26381"]
    # 2 on side A x 4 on side B, both ways, on redis1 (the whole shard lives there)
    assert len(applied.undo) == 16 and {s for s, _ in applied.undo} == {"redis1"}


def test_kill_sentinels_stops_the_chosen_count_and_starts_them_again():
    topo = lab_topology()
    nemesis, machines = fake_nemesis(topo)
    applied = faults.inject(nemesis, "kill-sentinels", shard=1, count="majority")
    assert applied.target["sentinels"] == ["redis1:26380", "redis1:26381"]
    assert machines["redis1"].ran("^docker stop -t 1") == [f"docker stop -t 1 {CID}"] * 2
    minority = faults.inject(nemesis, "kill-sentinels", shard=1, count="minority")
    assert minority.target["sentinels"] == ["redis1:26381"]


def test_restart_machine_goes_through_the_backend():
    class Backend(Machines):
        restarted: list[str] = []

        def status(self): return {}
        def up(self): return []
        def ssh_config(self, name): return ""
        def destroy(self): ...
        def restart(self, name): self.restarted.append(name)

    topo = lab_topology()
    backend = Backend()
    nemesis, machines = fake_nemesis(topo, backend=backend)
    applied = faults.inject(nemesis, "restart-machine", server=3)
    assert backend.restarted == ["redis3"] and machines["redis3"].closed == 1
    assert machines["redis3"].ran("docker info")  # waited for the engine to answer
    assert applied.undo[0][0] == "redis3" and "docker start" in applied.undo[0][1]


def test_a_restarted_machine_refusing_ssh_meanwhile_logs_no_error(caplog):
    """While a restarted machine's sshd comes back, paramiko's transport thread logs each
    refused handshake as an ERROR with a traceback: expected there, so not shown (a
    chaos run printed those tracebacks between its progress lines)."""
    import logging

    class Backend(Machines):
        def status(self): return {}
        def up(self): return []
        def ssh_config(self, name): return ""
        def destroy(self): ...
        def restart(self, name):
            logging.getLogger("paramiko.transport").error("Exception (client): Error "
                                                          "reading SSH protocol banner")

    nemesis, _ = fake_nemesis(lab_topology(), backend=Backend())
    nemesis.reconnect = lambda name: logging.getLogger("paramiko.transport").error(
        "Exception (client): Connection reset by peer") or nemesis.machines[name]
    with caplog.at_level(logging.WARNING):
        faults.inject(nemesis, "restart-machine", server=2)
        logging.getLogger("paramiko.transport").error("after the restart: shown")
    assert [r.getMessage() for r in caplog.records] == ["after the restart: shown"]


def test_a_backend_that_cannot_restart_skips_the_fault():
    class NoRestart(Machines):
        def status(self): return {}
        def up(self): return []
        def ssh_config(self, name): return ""
        def destroy(self): ...

    nemesis, _ = fake_nemesis(lab_topology(), backend=NoRestart())
    with pytest.raises(faults.FaultSkipped, match="cannot restart a whole machine"):
        faults.inject(nemesis, "restart-machine", server=1)
    with pytest.raises(RestartUnsupported):
        NoRestart().restart("redis1")


def test_latency_is_skipped_when_the_kernel_lacks_netem():
    topo = lab_topology()
    nemesis, machines = fake_nemesis(topo)
    machines["redis1"].answer(r"^ip -o addr", "eth1\n").answer(r"netem", "", 2)
    with pytest.raises(faults.FaultSkipped, match="kernel lacks netem"):
        faults.inject(nemesis, "latency", server=1)


def test_adopt_mode_skips_what_needs_the_labs_own_stack():
    topo = lab_topology()
    nemesis, _ = fake_nemesis(topo, adopted=True)
    with pytest.raises(faults.FaultSkipped, match="adopt mode"):
        faults.inject(nemesis, "partition-sentinels", shard=1)
    with pytest.raises(faults.FaultSkipped, match="restart-server needs the lab's own"):
        faults.inject(nemesis, "restart-server", server=1)


# -- leftovers: heal everything, and count what is left ----------------------------------------


def test_leftovers_are_counted_per_machine_and_healed_everywhere():
    topo = lab_topology()
    dirty = FakeMachine(topo.servers[0]).answer(r"grep -c", "3\n1\n2\n")
    clean = FakeMachine(topo.servers[1]).answer(r"grep -c", "0\n0\n0\n")
    assert leftovers.find([dirty, clean]) == [
        "redis1: 3 tagged iptables rule(s)", "redis1: 1 paused lab container(s)",
        "redis1: 2 stopped lab container(s)"]
    leftovers.heal_everything([dirty, clean])
    for machine in (dirty, clean):
        assert machine.commands[-1] == leftovers.HEAL_EVERYTHING
    assert "iptables -w -F RHL-INPUT" in leftovers.HEAL_EVERYTHING
    assert "xargs -r docker unpause" in leftovers.HEAL_EVERYTHING


def test_the_docs_example_fault_works_as_written(private_registry):
    """docs/development.md, "Adding a fault": its class, run as written, registers and
    injects."""
    import re

    from lab.paths import PROJECT_ROOT

    readme = (PROJECT_ROOT / "docs" / "development.md").read_text()
    section = readme.split("## Adding a fault", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(code, {"register": faults.register, "Fault": faults.Fault, "Param": faults.Param})
    fault = faults.get("drop-sentinel-traffic")
    assert "drop-sentinel-traffic" in faults.searched()
    topo = lab_topology()
    nemesis, machines = fake_nemesis(topo)
    applied = faults.inject(nemesis, "drop-sentinel-traffic", server=2)
    assert ("iptables -w -A RHL-INPUT -p tcp --dport 26379 -j DROP -m comment --comment "
            "redis-ha-lab") in machines["redis2"].commands[-1]
    assert applied.undo == [("redis2", "iptables -w -D RHL-INPUT -p tcp --dport 26379 -j DROP "
                                       "-m comment --comment redis-ha-lab")]
    assert fault.describe({"server": "redis2"}) == \
        "iptables: drop traffic to redis2's Sentinel port"
