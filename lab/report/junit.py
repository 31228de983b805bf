"""``reports/<run-id>/junit.xml``: a run as JUnit test cases, for CI systems.

One test case per scenario repetition and one for the Hypothesis search. A case fails
when an expectation failed or an SLO was breached (the message names each, with the
numbers), errors when the run could not complete it, and is skipped with the reason.
Written with junitparser, a maintained JUnit XML library, from the run record alone.
"""

from __future__ import annotations

from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from lab.chaos.record import HypothesisResult, RunRecord, ScenarioResult, Status

__all__ = ["JUNIT", "write"]

JUNIT = "junit.xml"


def write(record: RunRecord, path: Path) -> Path:
    suite = TestSuite(f"redis-ha-lab {record.run_id}")
    for result in record.scenarios:
        suite.add_testcase(_scenario_case(result))
    if record.hypothesis:
        suite.add_testcase(_hypothesis_case(record.hypothesis))
    xml = JUnitXml(f"redis-ha-lab {record.run_id}")
    xml.add_testsuite(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    xml.write(str(path), pretty=True)
    return path


def _scenario_case(result: ScenarioResult) -> TestCase:
    case = TestCase(result.label, classname=f"chaos.{result.scenario}",
                    time=result.seconds or 0.0)
    if result.status == Status.ERROR:
        case.result = [Error(result.error or "the run could not complete it", "error")]
    elif result.status == Status.SKIPPED:
        case.result = [Skipped("; ".join(result.findings) or "skipped")]
    else:
        problems = [f"expectation failed: {c.check}: {c.detail}"
                    for c in result.checks if not c.ok]
        problems += [f"SLO breached: {b.line()}" for b in result.slo_breaches]
        if problems:
            kind = "expectation" if result.status == Status.FAIL else "slo"
            case.result = [Failure("; ".join(problems), kind)]
    return case


def _hypothesis_case(h: HypothesisResult) -> TestCase:
    name = f"replay {h.replay}" if h.replay else \
        f"hypothesis search (profile {h.profile}, seed {h.seed})"
    case = TestCase(name, classname="chaos.hypothesis", time=h.seconds or 0.0)
    problems = []
    if h.status == Status.FAIL and h.failure:
        problems.append(f"invariant broken: {h.failure.get('error')}")
    problems += [f"SLO breached: {b.line()}" for b in h.breaches]
    if h.status == Status.ERROR:
        case.result = [Error("the search could not complete", "error")]
    elif problems:
        case.result = [Failure("; ".join(problems), "hypothesis")]
    return case
