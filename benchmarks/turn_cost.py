"""What one chat turn costs, per process and per stage, under a `tier1 bench load` run.

Against a running stack (`tier1 run`), in one run:

- CPU milliseconds per user message of each process of the stack (the app, every Rasa server,
  the action server), of the load tool itself and of the whole machine, from /proc: the
  unit cost of an answered message, which the throughput on a given machine follows from;
- the mean wall-clock milliseconds of every stage of a turn over the run, from the stage
  histograms at ``GET /metrics`` (bot/metrics.py: gateway store+ack, Rasa round trip, NLU,
  policies, tracker load/save, action call, KB embed/rank/describe, delivery);
- with ``--profile DIR``: a py-spy profile of each process during the load (the thread
  holding the GIL, i.e. its Python CPU), as collapsed stacks and as a list of its functions
  by share of samples, for finding where the time goes.

The load's own figures (msgs/s, p50/p95/p99, lost / duplicated / unanswered) are printed too.
Linux only (reads /proc). Numbers are per message, so they hold on a machine shared with
other work better than msgs/s do; the whole-machine figure says how shared it was.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
TIER1 = str(Path(sys.executable).parent / "tier1")
STAGE = re.compile(
    r'tier1_stage_seconds_(sum|count)\{process="(\w+)",stage="(\w+)"\} ([0-9.e+-]+)'
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine (all cores) from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    busy = sum(values) - values[3] - values[4]  # minus idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each process (by name) and, as ``machine``, of the machine."""
    return {**{name: cpu_seconds(pid) for name, pid in pids.items()},
            "machine": machine_cpu_seconds()}


def cpu_ms_per_message(
    pids: dict[str, int], before: dict[str, float], sent: int, digits: int = 2
) -> dict[str, float]:
    """CPU milliseconds per sent message of each process and the machine since ``before``."""
    now = cpu_snapshot(pids)
    return {name: round(1000 * (now[name] - before[name]) / max(1, sent), digits) for name in now}


def stack_processes(config: dict) -> dict[str, int]:
    """The stack's processes by role, found by the ports config.yml gives them."""
    server = config.get("server") or {}
    port = int(server.get("port", 8000))
    rasa_port = int(server.get("rasa_port", 5005))
    action_port = int(server.get("action_port", 5055))
    found: dict[str, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "--port" not in argv:
            continue
        p = int(argv[argv.index("--port") + 1])
        if "uvicorn" in " ".join(argv) and p == port:
            found["app"] = int(proc.name)
        elif "actions" in argv and p == action_port:
            found["actions"] = int(proc.name)
        elif "bot.rasa_server" in argv and 0 <= p - rasa_port < 64:
            found[f"rasa:{p}"] = int(proc.name)
    return dict(sorted(found.items()))


def profile_summary(raw: str, top: int = 60) -> str:
    """The functions of py-spy collapsed stacks by share of samples: inclusive, then self."""
    from collections import Counter

    total, inclusive, own = 0, Counter(), Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        names = [frame.rsplit(":", 1)[0] + ")" if ":" in frame else frame
                 for frame in stack.split(";")]
        for name in set(names):
            inclusive[name] += n
        own[names[-1]] += n
    lines = [f"{total} samples", "", "inclusive %:"]
    lines += [f"{100 * n / total:6.1f}  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "self %:"]
    lines += [f"{100 * n / total:6.1f}  {name}" for name, n in own.most_common(top // 2)]
    return "\n".join(lines) + "\n"


def stage_totals(url: str) -> dict[tuple[str, str], tuple[float, float]]:
    """(process, stage) -> (sum seconds, count) from the app's /metrics."""
    body = httpx.get(f"{url}/metrics", timeout=10).text
    sums: dict[tuple[str, str], float] = {}
    counts: dict[tuple[str, str], float] = {}
    for kind, process, stage, value in STAGE.findall(body):
        (sums if kind == "sum" else counts)[(process, stage)] = float(value)
    return {k: (sums.get(k, 0.0), counts[k]) for k in counts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n"
        "  tier1 run &    # in another terminal\n"
        "  .venv/bin/python benchmarks/turn_cost.py --users 100 --duration 30\n"
        "  .venv/bin/python benchmarks/turn_cost.py --config /tmp/stack/config.yml "
        "--users 200 --duration 60 --profile artifacts/profiles --json",
    )
    parser.add_argument("--config", default=str(ROOT / "config.yml"), help="the stack's config")
    parser.add_argument("--users", type=int, default=100, help="concurrent users (default 100)")
    parser.add_argument("--duration", type=float, default=30, help="seconds of load (default 30)")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time (default 1)")
    parser.add_argument("--unique-texts", action="store_true",
                        help="no two messages alike (tier1 bench load --unique-texts)")
    parser.add_argument("--profile", metavar="DIR",
                        help="record a py-spy profile (GIL holder, 50 Hz) of each process into "
                             "DIR; its CPU figures then include the sampling's pauses")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    config_path = Path(args.config).resolve()
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    server = config.get("server") or {}
    url = f"http://127.0.0.1:{int(server.get('port', 8000))}"
    processes = stack_processes(config)
    if "app" not in processes:
        print(f"no running tier1 app found for {config_path} (port {url}); start it with "
              f"`tier1 --config {config_path} run`", file=sys.stderr)
        return 2
    before_stages = stage_totals(url)
    before = cpu_snapshot(processes)
    load_cmd = [TIER1, "--config", str(config_path), "bench", "load", "--base", url,
                "--users", str(args.users), "--duration", str(args.duration),
                "--think", str(args.think), "--no-baseline", "--no-kb-search", "--json", *(["--unique-texts"] if args.unique_texts else []),
                "--no-progress"]
    load = subprocess.Popen(load_cmd, stdout=subprocess.PIPE, text=True)
    spies = []
    if args.profile:
        out = Path(args.profile)
        out.mkdir(parents=True, exist_ok=True)
        time.sleep(min(5.0, args.duration / 4))  # past the ramp
        seconds = max(1, int(args.duration * 0.6))
        spy = str(Path(sys.executable).parent / "py-spy")
        for name, pid in processes.items():
            # One sampler per process, in its default blocking mode (consistent stacks) and
            # --gil (the thread running Python: CPU, not threads waiting on locks or I/O).
            # Two --nonblocking samplers per process at 100 Hz garbled the stacks and, on 2
            # cores, cost the stack a third of its throughput.
            stem = out / name.replace(":", "-")
            spies.append((stem, subprocess.Popen(
                [spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "50",
                 "--gil", "--format", "raw", "--output", f"{stem}.txt"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    stdout, _ = load.communicate()
    load_cpu = os.times()
    for stem, spy_process in spies:
        spy_process.wait()
        raw = stem.with_suffix(".txt")
        if raw.exists():
            stem.with_suffix(".top.txt").write_text(profile_summary(raw.read_text()))
    result = json.loads(stdout)
    sent = max(1, result["messages_sent"])
    cpu_ms = cpu_ms_per_message(processes, before, sent)
    machine_ms = cpu_ms.pop("machine")  # printed last, after the load tool
    cpu_ms["load tool"] = round(1000 * (load_cpu.children_user + load_cpu.children_system) / sent, 2)
    cpu_ms["machine"] = machine_ms
    after_stages = stage_totals(url)
    stages = {}
    for key, (total, count) in sorted(after_stages.items()):
        t0, c0 = before_stages.get(key, (0.0, 0.0))
        if count > c0:
            stages[f"{key[0]}/{key[1]}"] = {"n": int(count - c0),
                                            "mean_ms": round(1000 * (total - t0) / (count - c0), 2)}
    keys = ("users", "messages_sent", "replies", "lost", "duplicated", "unanswered",
            "with_agents", "errors", "users_failed", "msgs_per_s", "p50_ms", "p95_ms", "p99_ms",
            "first_error")
    out = {"load": {k: result[k] for k in keys if k in result},
           "cpu_ms_per_message": cpu_ms, "stage_mean_ms": stages,
           "profiles": args.profile}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    load_line = "  ".join(f"{k} {v}" for k, v in out["load"].items())
    print(f"load: {load_line}")
    print("CPU ms per user message:")
    for name, ms in cpu_ms.items():
        print(f"  {name:14s} {ms:8.2f}")
    print("stage means over the run (wall ms; under saturation they include queueing):")
    for name, s in stages.items():
        print(f"  {name:28s} n={s['n']:6d}  {s['mean_ms']:9.2f}")
    if args.profile:
        print(f"profiles (py-spy collapsed stacks NAME.txt, for speedscope or flamegraph.pl; "
              f"the functions by share of samples NAME.top.txt): {args.profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
