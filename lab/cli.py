"""Command line of redis-ha-lab; the nox sessions call it (``python -m lab VERB``).

Exit status: 0 done, 1 the lab is not healthy (e.g. not settled), 2 bad input or a host
that is not ready (the message says what to fix), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from lab import down, engines, status, up
from lab.context import Lab
from lab.errors import LabError
from lab.paths import REPORTS
from lab.progress import show_progress
from lab.routes import ROUTES, WORKLOADS

MAX_REPEAT = 100
MAX_EXAMPLES = 10_000


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="redis-ha-lab",
        description="A disposable Redis master/replica + Sentinel + HAProxy lab.",
    )
    parser.add_argument(
        "--config", type=Path, default=Path(os.environ.get("LAB_CONFIG", "lab.toml")),
        help="the lab's lab.toml (default: $LAB_CONFIG or ./lab.toml)",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    p = verbs.add_parser("up", help="bring the machines up, provision them, wait until settled")
    p.add_argument("--machines-only", action="store_true",
                   help="stop once the machines run, unprovisioned (e.g. to rehearse an "
                        "SSH inventory on them)")
    p = verbs.add_parser("down", help="remove the machines, their containers and networks")
    p.add_argument("--images", action="store_true",
                   help="also delete the lab's cached images (the next lab_up is cold)")
    verbs.add_parser("status", help="print every instance, Sentinel and HAProxy backend")
    verbs.add_parser("check-config", help="validate lab.toml and print the topology")
    p = verbs.add_parser("load", help="Locust through HAProxy ports, headless, into reports/")
    _load_arguments(p)
    p = verbs.add_parser("report", help="(re)build the HTML reports from the runs' raw data")
    p.add_argument("runs", nargs="*", metavar="RUN_ID",
                   help="the runs to rebuild (default: every run under reports/)")
    p.add_argument("--check", action="store_true",
                   help="open each page in headless Chromium: fail on console errors or "
                        "missing parts; keep a screenshot.png in each run folder")
    p.add_argument("--reports", type=Path, default=None, help=argparse.SUPPRESS)
    p = verbs.add_parser("judge", help="judge finished runs again from their histories alone "
                                       "and say whether the verdicts match the recorded ones")
    p.add_argument("runs", nargs="+", metavar="RUN_ID")
    p.add_argument("--slo", type=Path, metavar="FILE",
                   help="judge the SLOs of FILE's [slo] table instead of the recorded ones")
    p.add_argument("--reports", type=Path, default=None, help=argparse.SUPPRESS)
    p = verbs.add_parser("chaos", help="run chaos scenarios against the running lab")
    p.add_argument("-k", dest="patterns", action="append", default=[], metavar="NAME",
                   help="run the scenarios whose name contains NAME (repeatable)")
    p.add_argument("--list", action="store_true",
                   help="list the scenarios and the faults, and exit")
    p.add_argument("--run-id", metavar="ID",
                   help="name the run folder reports/ID/ (default: the time and the kind)")
    p.add_argument("--slo", type=Path, metavar="FILE",
                   help="judge against the [slo] table of FILE instead of lab.toml's")
    p.add_argument("--junit", type=Path, metavar="PATH",
                   help="also write the run's JUnit XML to PATH (it is always written to "
                        "reports/<run-id>/junit.xml)")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="run each selected scenario N times (median / p90 / max reported)")
    p.add_argument("--serial", action="store_true",
                   help="run the scenarios one after another (default: scenarios whose "
                        "faults stay on one shard run at once, one per independent shard)")
    p.add_argument("--profile", choices=["ci", "workshop", "thorough"],
                   help="Hypothesis profile (default: ci; with -k, only when given)")
    p.add_argument("--budget", metavar="TIME",
                   help="search with Hypothesis until TIME is spent (e.g. 30m, 2h, 90s), "
                        "batch after batch, or until a failure is found")
    p.add_argument("--save-scenario", metavar="NAME",
                   help="with --replay ID: save that failure's steps as scenario NAME "
                        "(scenarios/NAME.toml; then -k NAME runs it) and stop")
    p.add_argument("--seed", type=int, help="Hypothesis seed (default: random, printed)")
    p.add_argument("--examples", type=int, metavar="N",
                   help="examples per Hypothesis batch instead of the profile's (a smaller "
                        "search, e.g. in CI)")
    p.add_argument("--known", action=argparse.BooleanOptionalAction, default=None,
                   help="the search first runs the catalogue's fault sequences as examples "
                        "(default: on when no scenario ran in the same run)")
    p.add_argument("--replay", metavar="ID", help="replay a saved failing sequence")
    p.add_argument("--no-hypothesis", action="store_true",
                   help="run the scenarios only")
    p.add_argument("--no-scenarios", action="store_true",
                   help="run the Hypothesis state machine only")
    p.add_argument("--with-load", action="store_true",
                   help="run Locust through HAProxy for each scenario's whole duration")
    p.add_argument("--load-users", type=int, default=10, help="Locust users with --with-load")
    p.add_argument("--heal", action="store_true",
                   help="remove every fault leftover (tagged rules, paused/stopped containers)")
    p.add_argument("--plan", action="store_true",
                   help="print which faults would touch which hosts, and stop (a dry run)")
    _client_arguments(p)
    p.add_argument("--i-accept-disruption", action="store_true",
                   help="required for chaos on an SSH inventory (real hosts): without it "
                        "the plan is printed and nothing runs")
    p = verbs.add_parser("workshop", help="exercises step by step in front of a room, with a "
                                          "live page for the projector")
    p.add_argument("exercises", nargs="*", metavar="NAME",
                   help="the exercises to run, in order (none: list them)")
    p.add_argument("--all", action="store_true", help="run every exercise, in order")
    p.add_argument("--list", action="store_true", help="list the exercises, and exit")
    p.add_argument("--auto", action="store_true",
                   help="unattended (rehearsals, tests): never wait for Enter; predictions "
                        "come from the page, else each exercise's auto answer")
    p.add_argument("--bind", default="127.0.0.1", metavar="ADDRESS",
                   help="where the live page listens (default 127.0.0.1: this machine "
                        "only); a classroom address lets the room open it (its risk: "
                        "docs/workshops.md)")
    p.add_argument("--live-port", type=int, default=8090, metavar="PORT",
                   help="the live page's port (default 8090)")
    p.add_argument("--no-live", action="store_true", help="no live page")
    p.add_argument("--run-id", metavar="ID",
                   help="name the run folder reports/ID/ (default: the time and the kind)")
    p.add_argument("--i-accept-disruption", action="store_true",
                   help="required for a workshop on an SSH inventory (real hosts)")
    p = verbs.add_parser("matrix", help="the same chaos scenarios on each engine, route, ack "
                                        "mode or overlay, one page "
                                        "comparing them")
    p.add_argument("--engines", metavar="A,B,...",
                   help="the engines, in order (known: " + ", ".join(engines.names()) + ")")
    p.add_argument("--overlays", metavar="F,G,...",
                   help="lab.toml overlays (TOML files merged over the lab's settings; "
                        "'base': none), e.g. base,min-replicas.toml")
    p.add_argument("--routes", metavar="A,B,...",
                   help="how the workload reaches Redis (known: " + ", ".join(ROUTES) + ")")
    p.add_argument("--acks", metavar="A,B,...",
                   help="when a write counts: plain, wait:N[:MS], e.g. plain,wait:1")
    p.add_argument("-k", dest="patterns", action="append", default=[], metavar="NAME",
                   help="the scenarios whose name contains NAME (repeatable; default: all)")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="run each scenario N times per engine (medians, ranges compared)")
    p.add_argument("--run-id", metavar="ID",
                   help="name the matrix folder reports/ID/ (default: the time and 'matrix')")
    p.add_argument("--i-accept-disruption", action="store_true",
                   help="required on an SSH inventory (real hosts)")
    verbs.add_parser("heal", help="remove every fault leftover from the machines, e.g. after "
                                  "the controlling machine crashed mid-fault")
    # Its options are the bench's own (lab/bench/command.py), read when it runs: --help lists them.
    p = verbs.add_parser("bench", add_help=False,
                         help="measure the lab's speed and behaviour into reports/bench.json "
                              "(`bench --help`: what it can measure)")
    p.add_argument("bench_args", nargs=argparse.REMAINDER)
    p = verbs.add_parser("docs", help="build the documentation site into reports/docs/ "
                                      "(hand-written pages and a reference generated from "
                                      "the registries)")
    p.add_argument("--check", action="store_true",
                   help="then open every page in headless Chromium and follow every link")
    return parser


def main(argv: list[str] | None = None) -> int:
    if os.environ.get("LAB_CONFIG") == "" and not any(
            a == "--config" or a.startswith("--config=") for a in (argv or sys.argv[1:])):
        print("redis-ha-lab: error: LAB_CONFIG is set but empty: set it to a lab.toml "
              "(e.g. LAB_CONFIG=lab.toml) or unset it", file=sys.stderr)
        return 2
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if args.verb == "bench":  # the bench reads its own options (lab/bench/command.py)
        args.bench_args = [*unknown, *args.bench_args]
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    # Progress goes through `logging`, plain lines on stdout; prints flush per line too,
    # so the two never interleave out of order when stdout is a pipe.
    sys.stdout.reconfigure(line_buffering=True)
    show_progress()
    try:
        return _dispatch(args)
    except LabError as exc:
        print(f"redis-ha-lab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("redis-ha-lab: interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.verb == "up":
        up.run(Lab.load(args.config), args.config, machines_only=args.machines_only)
        return 0
    if args.verb == "heal":
        from lab import heal

        return heal.run(Lab.load(args.config, prefer_applied=True))
    if args.verb == "judge":
        return _judge(args.reports or REPORTS, args.runs, args.slo)
    if args.verb == "down":
        down.run(Lab.load(args.config, prefer_applied=True), remove_images=args.images)
        return 0
    if args.verb == "status":
        return 0 if status.run(_reachable(Lab.load(args.config, prefer_applied=True))) else 1
    if args.verb == "chaos":
        return _chaos(args)
    if args.verb == "matrix":
        return _matrix(args)
    if args.verb == "workshop":
        from lab.workshop import command

        return command.run(args, _publisher(None))
    if args.verb == "load":
        from lab import load

        return load.run(_reachable(Lab.load(args.config, prefer_applied=True)),
                        _load_options(args), run_id=args.run_id)
    if args.verb == "report":
        from lab.report import command

        return command.run(args.reports or REPORTS, args.runs, args.check)
    if args.verb == "bench":
        from lab import bench

        return bench.run(bench.parse(args.bench_args))
    if args.verb == "docs":
        from lab import docs

        docs.build()
        if not args.check:
            return 0
        problems = docs.check()
        for problem in problems:
            print(f"docs: {problem}")
        print(f"docs: {'every page opened cleanly' if not problems else 'problems found'}")
        return 1 if problems else 0
    if args.verb == "check-config":
        lab = Lab.load(args.config)
        for shard in lab.topology.shards:
            where = ", ".join(f"{i.label} ({i.initial_role})" for i in shard.instances)
            print(f"shard {shard.number}: ports {shard.master_port}/{shard.replica_port}: {where}")
        print(f"sentinels: {', '.join(s.label for s in lab.topology.sentinels)}")
        return 0
    raise AssertionError(args.verb)


def _client_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--route", metavar="ROUTE", default=None,
                   help=f"how the workload reaches Redis: {', '.join(ROUTES)} (default: "
                        "[clients] route in lab.toml, haproxy)")
    p.add_argument("--ack", metavar="MODE", default=None,
                   help="when a write counts: plain, or wait:N[:MS] (WAIT N replicas after "
                        "each write; default: [clients] ack, plain)")
    p.add_argument("--workload", metavar="KIND", default=None,
                   help=f"what the workload's clients do: {', '.join(WORKLOADS)} (default: "
                        "[clients] workload, register)")


def _load_arguments(p: argparse.ArgumentParser) -> None:
    from lab.load import LoadOptions

    d = LoadOptions()
    p.add_argument("--users", type=int, default=d.users, help=f"Locust users ({d.users})")
    p.add_argument("--spawn-rate", type=float, default=d.spawn_rate,
                   help=f"users started per second ({d.spawn_rate:g})")
    p.add_argument("--run-time", default=d.run_time, help=f"e.g. 30s, 5m ({d.run_time})")
    p.add_argument("--processes", type=int, default=d.processes,
                   help="Locust processes on this machine (its --processes)")
    p.add_argument("--read-ratio", type=float, default=d.read_ratio,
                   help=f"share of reads through replica ports ({d.read_ratio})")
    p.add_argument("--key-space", type=int, default=d.key_space)
    p.add_argument("--value-size", type=int, default=d.value_size, help="bytes per value")
    p.add_argument("--pipeline", type=int, default=d.pipeline, help="commands per round trip")
    p.add_argument("--rate", type=float, default=d.rate,
                   help=f"calls per second per user, 0 = unpaced ({d.rate:g})")
    p.add_argument("--workers", default="", metavar="SERVER,...",
                   help="run a Locust worker on each of these servers (the master runs "
                        "here): for loads beyond this machine")
    p.add_argument("--route", metavar="ROUTE", default=None,
                   help=f"how users reach Redis: {', '.join(ROUTES)} (default: [clients] "
                        "route in lab.toml, haproxy)")
    p.add_argument("--run-id", metavar="ID",
                   help="name the run folder reports/ID/ (default: the time and the kind)")


def _load_options(args: argparse.Namespace):
    from lab.load import LoadOptions

    return LoadOptions(args.users, args.spawn_rate, args.run_time, args.processes,
                       args.read_ratio, args.key_space, args.value_size, args.pipeline,
                       rate=args.rate,
                       workers=tuple(w for w in args.workers.split(",") if w),
                       route=args.route)


def _judge(reports: Path, run_ids: list[str], slo_file: Path | None) -> int:
    """0 every verdict as recorded (and, with --slo, GO); 1 otherwise."""
    from lab import config as config_module
    from lab.chaos.judge import rejudge_run

    slo = config_module.load_slo(slo_file) if slo_file else None
    all_same, breaches = True, []
    for run_id in run_ids:
        if not (reports / run_id / "results.json").is_file():
            raise LabError(f"no run {run_id!r} with results.json under {reports}/")
        lines, same, found = rejudge_run(reports / run_id, slo)
        print(f"judge {run_id}: " + ("every verdict as recorded" if same
                                     else "verdicts DIFFER from the record"))
        for line in lines:
            print(f"  {line}")
        all_same, breaches = all_same and same, breaches + found
    if slo is not None:
        print("GO: every SLO met" if not breaches
              else "NO-GO: " + "; ".join(b.line() for b in breaches))
    return 0 if all_same and not (slo is not None and breaches) else 1


def _list_chaos() -> None:
    from lab.chaos import faults, scenarios

    print("scenarios:")
    for name, scenario in scenarios.load_all().items():
        print(f"  {name:<30} {scenario.description.split(': ', 1)[-1]}")
    print("faults (* = drawn by the Hypothesis state machine):")
    for name, fault in faults.registered().items():
        params = ", ".join(f"{p.name}={p.default}" for p in fault.params)
        mark = "*" if fault.searched else " "
        print(f"  {name:<28}{mark} {fault.family:<10} {params:<26} {fault.summary}")


def _publisher(junit_copy: Path | None):
    """What a finished run calls: the report, with the JUnit XML (and its copy)."""
    def publish(run_dir: Path) -> None:
        from lab.report import command

        command.publish(run_dir, junit_copy)
    return publish


def _reachable(lab: Lab) -> Lab:
    """``lab``, once an adopted deployment answered as each of the lab's roles (a wrong CA,
    password or permission: one line, exit 2); the lab's own stack needs no asking."""
    if lab.config.adopted:
        from lab import access_check

        access_check.check(lab)
    return lab


def _chaos(args: argparse.Namespace) -> int:
    from lab import heal
    from lab.chaos import campaign

    if args.list:
        _list_chaos()
        return 0
    if not 1 <= args.repeat <= MAX_REPEAT:
        raise LabError(f"--repeat {args.repeat}: must be 1..{MAX_REPEAT}")
    budget_s = _duration(args.budget) if args.budget else None
    if args.examples is not None and not 1 <= args.examples <= MAX_EXAMPLES:
        raise LabError(f"--examples {args.examples}: must be 1..{MAX_EXAMPLES}")
    if args.save_scenario:
        return _save_scenario(args)
    lab = Lab.load(args.config, prefer_applied=True)
    if args.heal:
        return heal.run(lab)
    if args.replay:
        return campaign.replay(lab, args.replay, accept_disruption=args.i_accept_disruption,
                               publish=_publisher(args.junit), run_id=args.run_id,
                               repeat=args.repeat, slo=_slo(args, lab))
    profile = args.profile or ("ci" if not args.patterns else None)
    if args.no_hypothesis:
        profile = None
    if args.no_scenarios and not profile:
        raise LabError("--no-scenarios with --no-hypothesis leaves nothing to run")
    clients = lab.config.clients_for(args.route, args.ack, args.workload)
    if not args.plan:
        _reachable(lab)
    load = None
    if args.with_load:
        from lab.load import LoadOptions, scenario_load

        options = LoadOptions(users=args.load_users, spawn_rate=float(args.load_users),
                              route=clients.route)
        options.validate()
        load = scenario_load(lab, options)
    return campaign.run(lab, campaign.CampaignOptions(
        tuple(args.patterns), profile=profile, seed=args.seed, clients=clients,
        scenarios=not args.no_scenarios, load=load, accept_disruption=args.i_accept_disruption,
        plan_only=args.plan, run_id=args.run_id, slo=_slo(args, lab), repeat=args.repeat,
        budget_s=budget_s, known=args.known, examples=args.examples, serial=args.serial),
        publish=_publisher(args.junit))


def _matrix(args: argparse.Namespace) -> int:
    from lab import matrix
    from lab.report import command

    if not 1 <= args.repeat <= MAX_REPEAT:
        raise LabError(f"--repeat {args.repeat}: must be 1..{MAX_REPEAT}")
    options = matrix.MatrixOptions(
        matrix.parse_engines(args.engines) if args.engines is not None else (),
        tuple(args.patterns), args.repeat, args.run_id, args.i_accept_disruption,
        routes=matrix.parse_routes(args.routes) if args.routes is not None else (),
        acks=matrix.parse_acks(args.acks) if args.acks is not None else (),
        overlays=matrix.parse_overlays(args.overlays) if args.overlays is not None else ())
    return matrix.run(Lab.load(args.config, prefer_applied=True), options,
                      _publisher(None), command.publish_matrix)


def _duration(text: str) -> float:
    """``--budget``: 90s, 30m, 2h, 1h30m (at most a day)."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?", text.strip())
    if not text.strip() or not match or not any(match.groups()):
        raise LabError(f"--budget {text!r}: use e.g. 90s, 30m, 2h or 1h30m")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if not 0 < total <= 24 * 3600:
        raise LabError(f"--budget {text!r}: must be more than 0 and at most 24h")
    return float(total)


def _save_scenario(args: argparse.Namespace) -> int:
    from lab.chaos import scenarios, stateful

    if not args.replay:
        raise LabError("--save-scenario NAME needs --replay ID: the saved failure to keep")
    try:
        failure = stateful.load_failure(args.replay)
        path = scenarios.save(args.save_scenario, failure)
    except (FileNotFoundError, ValueError) as exc:
        raise LabError(str(exc)) from None
    print(f"chaos: saved failure {args.replay} as scenario {args.save_scenario}: {path}")
    print(f"chaos: run it with: nox -s chaos -- -k {args.save_scenario}")
    return 0


def _slo(args: argparse.Namespace, lab: Lab):
    """The SLOs to judge: --slo FILE, else lab.toml's own [slo] as it reads now (edited
    since lab_up or not), else the [slo] the lab was brought up with."""
    from lab import config as config_module

    if args.slo:
        return config_module.load_slo(args.slo)
    try:
        return config_module.load(args.config).slo
    except LabError:
        return lab.config.slo
