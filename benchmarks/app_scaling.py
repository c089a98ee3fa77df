"""Throughput with 1 and 2 app processes (and 1 or 2 Rasa servers) on this machine.

The replica setup of README "Production", started the way `tier1 bench faults` starts it
(``tier1.bench.faults.topology.Topology``: a fresh PostgreSQL database, a private Redis,
replica A = `tier1 run` with Rasa and the action server, replica B = a second app process on
the same database, Redis socket manager / presence / lock store). Then, on that one stack:

- ``tier1 bench load --base A``: one app process serves every user;
- ``tier1 bench load --base A --base B``: the users are spread over both app processes.

For each run: msgs/s, p50/p95, lost / duplicated / unanswered, and the CPU milliseconds per
user message of every process (from /proc, as benchmarks/turn_cost.py) and of the machine.
``--rasa-processes 1 2`` repeats it all on a stack with that many Rasa servers.

The single-process default stack (SQLite, in-process backends) is what BENCHMARKS.md's other
load rows measure; this one pays PostgreSQL and Redis round trips, so compare its rows with
each other.

Example:
    nice -n 0 .venv/bin/python benchmarks/app_scaling.py --users 200 --duration 60
    .venv/bin/python benchmarks/app_scaling.py --users 20 --duration 10 --rasa-processes 1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from turn_cost import TIER1, cpu_ms_per_message, cpu_snapshot

PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def processes(target, topology) -> dict[str, int]:
    """Role -> pid: replica A's supervised programs and replica B's app."""
    info = target.rpc().supervisor.getAllProcessInfo()
    pids = {f"A:{p['name']}": p["pid"] for p in info if p["statename"] == "RUNNING"}
    pids["B:app"] = topology.procs[1].pid
    return dict(sorted(pids.items()))


def load(target, topology, bases: list[str], args, duration: float | None = None) -> dict:
    """One `tier1 bench load` over ``bases``, with the CPU each process spent during it."""
    pids = processes(target, topology)
    before = cpu_snapshot(pids)
    command = [
        TIER1,
        "--config",
        str(target.config),
        "bench",
        "load",
        "--users",
        str(args.users),
        "--duration",
        str(duration or args.duration),
        "--think",
        str(args.think),
        "--no-baseline",
        "--no-kb-search",
        "--no-progress",
        "--json",
    ]
    for base in bases:
        command += ["--base", base]
    done = subprocess.run(command, check=False, env=target.env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"bench load failed ({done.returncode}): {done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    result["cpu_ms_per_message"] = cpu_ms_per_message(
        pids, before, result["messages_sent"], digits=1
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument(
        "--warmup",
        type=float,
        default=15,
        help="seconds of load over both app processes first, not counted (default 15)",
    )
    parser.add_argument("--think", type=float, default=1.0, help="as bench load (default 1)")
    parser.add_argument("--rasa-processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--pg", default=PG_ADMIN, help="PostgreSQL admin URL (default: %(default)s)"
    )
    parser.add_argument("--config", type=Path, default=REPO / "config.yml")
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    from tabulate import tabulate

    from tier1.bench.faults.topology import Topology

    rows, results = [], []
    for rasa in args.rasa_processes:
        with tempfile.TemporaryDirectory(prefix="tier1-scaling-") as work:
            topology = Topology(args.pg, Path(work), args.config, {"rasa_processes": rasa})
            try:
                target = topology.start(log=lambda line: print(line, file=sys.stderr))
                print(f"== warm-up: {args.warmup:g} s over both app processes", file=sys.stderr)
                load(target, topology, target.bases, args, duration=args.warmup)  # caches
                for apps in (1, 2):
                    print(
                        f"== {rasa} Rasa, {apps} app process(es): {args.users} users, "
                        f"{args.duration:g} s",
                        file=sys.stderr,
                        flush=True,
                    )
                    time.sleep(5)
                    r = load(target, topology, target.bases[:apps], args)
                    results.append({"rasa_processes": rasa, "app_processes": apps, **r})
                    cpu = r["cpu_ms_per_message"]
                    apps_ms = " + ".join(f"{v:g}" for k, v in cpu.items() if k.endswith(":app"))
                    rasa_ms = " + ".join(f"{v:g}" for k, v in cpu.items() if ":rasa" in k)
                    rows.append(
                        [
                            rasa,
                            apps,
                            r["messages_sent"],
                            r["lost"],
                            r["duplicated"],
                            r["unanswered"],
                            f"{r['p50_ms']:.0f} / {r['p95_ms']:.0f}",
                            r["msgs_per_s"],
                            apps_ms,
                            rasa_ms,
                            cpu.get("A:actions"),
                            cpu["machine"],
                        ]
                    )
            finally:
                topology.stop()
    print(
        tabulate(
            rows,
            tablefmt="github",
            headers=[
                "Rasa processes",
                "app processes",
                "sent",
                "lost",
                "dup",
                "unanswered",
                "p50 / p95 ms",
                "msgs/s",
                "app CPU ms/msg",
                "Rasa CPU ms/msg",
                "actions",
                "machine",
            ],
        )
    )
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
