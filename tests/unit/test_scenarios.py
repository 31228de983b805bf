"""Scenario expectations and verdicts, and the partition rules the nemesis would add."""

import pytest

from lab import config, topology
from lab.access import Access
from lab.chaos import faults, scenarios
from lab.chaos.checkers import ShardMeasures
from lab.chaos.nemesis import Nemesis
from lab.chaos.record import Check, Convergence
from lab.chaos.scenarios import Expect, judge

SETTLED = Convergence(settled=True, seconds=3.0, datasets_equal=True)


def test_every_scenario_loads_and_names_known_faults():
    found = scenarios.load_all()
    assert {"crash-master", "stop-master", "pause-master", "partition-sentinels",
            "isolate-server", "isolate-master-with-clients", "kill-sentinels-minority",
            "kill-sentinels-majority", "kill-haproxy", "restart-server", "packet-loss",
            "latency", "restart-machine"} <= set(found)
    for layout in ("article", "spread"):
        cfg = config.from_dict({"lab": {"layout": layout}})
        for scenario in found.values():
            assert all(step.fault in faults.registered() for step in scenario.faults)
            assert isinstance(scenario.expect(cfg), Expect)


def test_select_by_substring_and_unknown_names():
    found = scenarios.load_all()
    assert [s.name for s in scenarios.select(found, ["kill-sentinels"])] == [
        "kill-sentinels-majority", "kill-sentinels-minority"]
    with pytest.raises(ValueError, match="no scenario matches nope"):
        scenarios.select(found, ["nope"])


def test_expectations_follow_layout_and_settings():
    found = scenarios.load_all()
    article = config.from_dict({})
    spread = config.from_dict({"lab": {"layout": "spread"}})
    assert found["isolate-server"].expect(article).failover is False
    assert found["isolate-server"].expect(spread).failover is True
    assert found["crash-master"].expect(article).lost_writes_are_finding
    no_restart = config.from_dict({"redis": {"restart": "no"}})
    crash = found["crash-master"].expect(no_restart)
    assert (crash.failover, crash.failover_within_s) == (True, 5.0)
    bounded = config.from_dict({"redis": {"min_replicas_to_write": 1}})
    assert found["isolate-master-with-clients"].expect(bounded).max_lost_writes is None


def measures(**values):
    m = ShardMeasures(1, lost_writes=0, indeterminate_writes=0)
    for key, value in values.items():
        setattr(m, key, value)
    return m


def test_pass_fail_and_finding():
    expect = Expect(failover=True, failover_within_s=5, max_lost_writes=0)
    assert judge(expect, measures(failover_s=2.1), SETTLED).status == "pass"
    slow = judge(expect, measures(failover_s=7.0), SETTLED)
    assert slow.status == "fail"
    assert Check("fails over within 5 s", False, "7.0 s") in slow.checks
    assert judge(expect, measures(), SETTLED).status == "fail"  # no failover at all
    assert judge(expect, measures(failover_s=2, lost_writes=3), SETTLED).status == "fail"

    documented = Expect(failover=True, max_lost_writes=0, lost_writes_are_finding=True,
                        finding="async replication loses writes")
    verdict = judge(documented, measures(failover_s=2, lost_writes=3), SETTLED)
    assert verdict.status == "finding"
    assert verdict.findings == ["async replication loses writes", "3 acknowledged writes lost"]


def test_split_brain_expected_must_be_measured():
    expect = Expect(failover=True, split_brain_expected=True, finding="zombie master")
    assert judge(expect, measures(failover_s=2), SETTLED).status == "fail"
    found = judge(expect, measures(failover_s=2, split_brain_roles_s=4.2), SETTLED)
    assert found.status == "finding"


def test_no_failover_expected_and_convergence_required():
    expect = Expect(failover=False, max_lost_writes=0)
    assert judge(expect, measures(failover_s=3), SETTLED).status == "fail"
    assert judge(expect, measures(), SETTLED).status == "pass"
    unsettled = judge(expect, measures(), Convergence(False, 60.0, problems=["2 masters"]))
    assert unsettled.status == "fail"
    assert judge(expect, measures(lost_writes=None), SETTLED).status == "fail"  # loss unknown


PW = "x" * 32


@pytest.mark.parametrize("layout", ["article", "spread"])
def test_partition_rules_are_owner_rules_on_the_sources_server(layout):
    cfg = config.from_dict({"lab": {"layout": layout}})
    topo = topology.build(cfg)
    nemesis = Nemesis(topo, [], Access(PW), cfg.machines.network)
    shard = topo.shard(1)
    sentinels = topo.sentinels_of(shard)
    rules = nemesis.block(sentinels, [shard.initial_master])
    assert len(rules) == 3
    for (server, chain, spec), sentinel in zip(rules, sentinels, strict=True):
        assert server == sentinel.server.name
        assert chain == "OUTPUT"
        assert spec == (f"-p tcp -m owner --uid-owner {sentinel.port} -d 192.168.56.11 "
                        "--dport 6379 -j DROP")


def test_an_observed_split_vote_allows_one_election_retry_and_is_reported():
    expect = Expect(failover=True, failover_within_s=5, max_lost_writes=0)
    slow = measures(failover_s=13.4)
    assert judge(expect, slow, SETTLED, election_retry_s=10).status == "fail"  # no evidence
    slow.split_votes = 1
    verdict = judge(expect, slow, SETTLED, election_retry_s=10)
    assert verdict.status == "finding"
    assert verdict.findings == ["Sentinel's election split 1 time(s) and was retried: "
                                "failover took 13.4 s"]
    assert Check("fails over within 15 s", True, "13.4 s") in verdict.checks
    assert judge(expect, measures(failover_s=16, split_votes=1), SETTLED,
                 election_retry_s=10).status == "fail"
