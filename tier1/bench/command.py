"""``tier1 bench``: the load tool's command line (the tool itself is tier1.bench.load)."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable


def cmd_bench_load(args: argparse.Namespace, settings_of: Callable) -> int:
    """``tier1 bench load``: see its --help."""
    import asyncio

    from tier1.bench.load import LoadOptions, parse_mix, report, run_load

    settings, _ = settings_of(args.config)
    rasa = None if args.no_baseline else (args.rasa or settings.server.rasa_url)
    try:
        mix = parse_mix(args.mix)
    except ValueError as e:
        print(f"tier1: {e}", file=sys.stderr)
        return 2
    if args.users < 1 or args.duration <= 0:
        print("tier1: --users must be >= 1 and --duration > 0", file=sys.stderr)
        return 2
    seed = settings.knowledge_base.seed_file or "knowledge_base/demo/articles.yml"
    bases = tuple(b.rstrip("/") for b in (args.base or [settings.server.url]))
    opts = LoadOptions(bases=bases, rasa_url=rasa, users=args.users, duration=args.duration,
                       mix=mix, think=args.think, reply_timeout=args.reply_timeout,
                       kb_search=not args.no_kb_search, unique_texts=args.unique_texts,
                       internal_token=settings.secrets.internal_token.get_secret_value())
    result = asyncio.run(run_load(opts, settings.path(seed), progress=not args.no_progress))
    print(json.dumps(result) if args.json else report(result))
    return 0 if result["lost"] == 0 and result["duplicated"] == 0 else 1


def cmd_bench_faults(args: argparse.Namespace) -> int:
    """``tier1 bench faults``: see its --help."""
    from pathlib import Path

    from tier1.bench.faults import SCENARIOS, DrillOptions, run_drills, table

    scenarios = tuple(s.strip() for s in args.scenarios.split(",") if s.strip())
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown or not scenarios:
        print(f"tier1: unknown scenario(s) {', '.join(unknown) or '(none given)'}; use a "
              f"comma-separated list from: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    if args.users < 1 or args.duration <= 0 or args.bound <= 0:
        print("tier1: --users must be >= 1, --duration and --bound > 0", file=sys.stderr)
        return 2
    config = Path(args.config)
    if not config.is_file():
        print(f"tier1: config file {config} not found; pass --config PATH", file=sys.stderr)
        return 2
    options = DrillOptions(config=config, scenarios=scenarios, users=args.users,
                           duration=args.duration, bound=args.bound, pg_admin=args.pg,
                           keep=args.keep)
    rows = run_drills(options, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(rows, indent=2, default=str) if args.json else table(rows))
    return 0 if rows and all(r["passed"] for r in rows) else 1


def _add_faults_command(bench, add: Callable) -> None:
    from tier1.bench.faults.injection import SCENARIOS

    bf = add("faults", cmd_bench_faults,
             "Scripted faults in the middle of a load run on the production topology: a fresh "
             "PostgreSQL database, a private Redis, replica A (tier1 run under supervisord) and "
             "replica B. Per scenario, the load's users run against both replicas, the fault "
             "comes at a third of --duration, and the database and the users' counts are checked: "
             "no acknowledged message lost, none unanswered within --bound after recovery, none "
             "duplicated, the agents' conversations untouched. Scenarios: "
             + "; ".join(f"{k}: {v}" for k, v in SCENARIOS.items())
             + ". Exits 1 if any scenario failed.",
             "example:\n  tier1 bench faults                                  # all scenarios, 30 users\n"
             "  tier1 bench faults --scenarios actions,replica --users 10 --json\n"
             "  tier1 bench faults --pg postgresql+psycopg2://postgres@db:5432/postgres --keep",
             parent=bench)
    bf.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help="comma-separated, from: " + ", ".join(SCENARIOS) + " (default: all)")
    bf.add_argument("--users", type=int, default=30, help="simulated widget users (default 30)")
    bf.add_argument("--duration", type=float, default=45, help="seconds of load per scenario; "
                    "the fault comes at a third (default 45)")
    bf.add_argument("--bound", type=float, default=90, help="seconds after the later of a "
                    "message and the recovery within which it must be answered (default 90)")
    bf.add_argument("--pg", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
                    help="an admin URL of the PostgreSQL server (a fresh database is created "
                    "and dropped)")
    bf.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    bf.add_argument("--json", action="store_true", help="print the rows as JSON")


def add_bench_commands(sub, add: Callable, settings_of: Callable) -> None:
    """Register ``tier1 bench load`` and ``tier1 bench faults`` on the CLI's subparsers ``sub`` with its ``add`` helper.

    ``settings_of(config_path)`` returns ``(settings, environment)``.
    """
    bench = sub.add_parser("bench", help="measure a running stack").add_subparsers(
        dest="bench_command", required=True, metavar="SUBCOMMAND")
    bl = add("load", functools.partial(cmd_bench_load, settings_of=settings_of),
             "N concurrent simulated widget users over socket.io (known questions, unknown "
             "questions, requests for a person): throughput (replies that arrived within --duration, "
             "per second; the wait for late replies after it is not counted), p50/p95/p99 reply "
             "latency, lost / "
             "duplicated / unanswered messages; then POST /api/kb/search alone at saturation "
             "(same clients, texts and duration, closed loop, internal token) and "
             "ratio_to_kb_search = end-to-end msgs/s / kb-search msgs/s; then the same load on "
             "Rasa's REST webhook alone (the baseline) and the ratio. Each phase lasts --duration "
             "and counts its msgs/s the same way. A message sent to a conversation the widget "
             "already shows as handed to a person is not waited on (counted with agents). "
             "Exits 1 if any message was lost or duplicated.",
             "example:\n  tier1 run &    # in another terminal\n"
             "  tier1 bench load --users 50 --duration 30\n"
             "  tier1 bench load --users 200 --duration 60\n"
             "  tier1 bench load --users 200 --duration 60 --think 10 --no-baseline   # human pace\n"
             "  tier1 bench load --users 200 --duration 60 --unique-texts   # no repeated text\n"
             "  tier1 bench load --base http://10.0.0.7:8000 --rasa http://10.0.0.7:5005 "
             "--users 200 --duration 60 --json\n"
             "  tier1 bench load --mix known=1 --no-baseline --no-kb-search\n"
             "  tier1 bench load --base http://127.0.0.1:8000 --base http://127.0.0.1:8001 "
             "--users 30   # two app replicas (benchmarks/app_scaling.py)", parent=bench)
    bl.add_argument("--base", action="append", default=None,
                    help="an app server; repeat for replicas: users are spread over them and "
                    "reconnect to the next when one drops (default: server.public_url or host:port)")
    bl.add_argument("--rasa", default=None, help="Rasa's URL for the baseline (default: 127.0.0.1:server.rasa_port)")
    bl.add_argument("--users", type=int, default=50, help="concurrent users (default 50)")
    bl.add_argument("--duration", type=float, default=30, help="seconds of load, each phase; "
                    "msgs/s counts the replies within them (default 30)")
    bl.add_argument("--mix", default="known=0.7,unknown=0.2,person=0.1",
                    help="weights of question kinds (default: %(default)s)")
    bl.add_argument("--unique-texts", action="store_true",
                    help="append a random reference to every text, so no two messages are alike "
                         "(nothing keyed by text can help: the cost of new questions)")
    bl.add_argument("--think", type=float, default=1.0, help="mean seconds between a reply and "
                    "the next question (default 1)")
    bl.add_argument("--reply-timeout", type=float, default=30, help="seconds after sending "
                    "within which a reply (live or replayed after a reconnect) must arrive, else the "
                    "message counts as unanswered (default 30)")
    bl.add_argument("--no-baseline", action="store_true", help="skip the Rasa REST baseline")
    bl.add_argument("--no-kb-search", action="store_true",
                    help="skip the POST /api/kb/search phase (and ratio_to_kb_search)")
    bl.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    bl.add_argument("--json", action="store_true", help="print one JSON object")
    _add_faults_command(bench, add)


__all__ = ["add_bench_commands", "cmd_bench_faults", "cmd_bench_load"]
