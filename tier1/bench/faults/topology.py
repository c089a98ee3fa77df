"""Scripted, repeatable faults in the middle of a load run, on the production topology.

Brings up, in a temporary directory: a fresh PostgreSQL database ``tier1_faults_<pid>``, a
private Redis server on a free port (so restarting it disturbs nobody), replica A (`tier1 run`:
supervisord with the action server, Rasa on the PostgreSQL tracker store and the Redis lock
store, and app A) and replica B (a second app server sharing all of it). Then, per scenario, it
runs `tier1 bench load`'s users against both replicas, injects the fault a third of the way in,
waits for recovery, and checks from the database:

- **lost**: an acknowledged user message that is not stored (must be 0);
- **unanswered**: an acknowledged user message with no later bot/agent/system message (a reply,
  an apology, "connecting you to a person") within ``--bound`` seconds of the later of the
  message and the recovery; one sent while its conversation was already with the agents
  counts as answered by that handoff notice;
- **queue intact**: every conversation queued or assigned (two are claimed by an agent before
  the fault) is still queued / assigned to the same agent afterwards;
- and what the users saw (`tier1 bench load`'s counts): nothing lost (every stored message
  arrived, live or replayed after a reconnect), duplicated or unanswered within the bound.

``apologised`` counts the acknowledged messages whose reply was the apology ("I'm connecting
you to a person"): a message that finds Rasa restarting waits for it (up to
``handoff.rasa_wait_seconds``) and is answered by the bot, so after the ``rasa`` fault it
should be about 0.

Scenarios: ``rasa``, ``actions``, ``replica`` (kill -9 of Rasa, the action server, app A: all
restarted by supervisord, which the script verifies by the new pid); ``database``
(pg_terminate_backend of every connection to the database: app A, app B and Rasa's tracker
store); ``redis`` (the private Redis server killed with SIGKILL and started again on the same
port, its data lost: presence, Rasa's locks, socket.io's pub/sub).

example:
  .venv/bin/python benchmarks/faults.py                          # all scenarios, 30 users
  .venv/bin/python benchmarks/faults.py --scenarios actions,replica --users 10 --json
  .venv/bin/python benchmarks/faults.py --pg postgresql+psycopg2://postgres@db:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parents[1]
TIER1 = str(Path(sys.executable).parent / "tier1")
SCENARIOS = {
    "rasa": "kill -9 Rasa mid-load (supervisord restarts it)",
    "actions": "kill -9 the action server mid-load (supervisord restarts it)",
    "replica": "kill -9 app replica A mid-load (users reconnect to B; supervisord restarts A)",
    "database": "pg_terminate_backend of every connection to the database",
    "redis": "Redis restart (SIGKILL, started again on the same port, data lost)",
}
SECRETS = {"TIER1_JWT_SECRET": "faults-jwt-secret-0123456789abcdef",
           "TIER1_INTERNAL_TOKEN": "faults-internal-token-0123456789",
           "TIER1_RASA_TOKEN": "faults-rasa-token-0123456789"}
AGENT_PASSWORD = "faults-agent-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _healthy(url: str, timeout: float = 3.0) -> bool:
    try:
        return httpx.get(url, timeout=timeout).status_code < 500
    except httpx.HTTPError:
        return False


def _wait(predicate, timeout: float, what: str) -> float:
    """Seconds until ``predicate()`` holds; RuntimeError after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.5)
    return time.monotonic() - started


# -- what a scenario acts on ------------------------------------------------------------


@dataclass
class Target:
    """A running stack: its replicas, database and supervisord (replica A's `tier1 run`)."""

    bases: list[str]
    database_url: str
    supervisor_socket: Path
    health: dict[str, str]  # supervised program -> health URL
    config: Path
    env: dict[str, str]
    database: str | None = None  # the PostgreSQL database name (database scenario)
    pg_admin: str | None = None
    redis: RedisServer | None = None
    engine: Any = field(default=None, repr=False)

    def db(self):
        if self.engine is None:
            self.engine = create_engine(self.database_url, future=True, pool_pre_ping=True)
        return self.engine

    def rpc(self):
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, f"unix://{self.supervisor_socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def pid(self, program: str) -> int:
        info = self.rpc().supervisor.getProcessInfo(program)
        return info["pid"] if info["statename"] == "RUNNING" else 0


class RedisServer:
    """A private redis-server on a free port, without persistence, restartable."""

    def __init__(self, work: Path) -> None:
        self.port = free_port()
        self.work = work
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server not found on PATH; install Redis (apt-get install "
                               "redis-server) to run the fault scenarios")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--dir", str(self.work)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        _wait(self.ping, 20, f"redis-server on port {self.port} answering PING")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


# -- the topology ----------------------------------------------------------------------


class Topology:
    """PostgreSQL (fresh database) + private Redis + replica A (`tier1 run`) + replica B."""

    def __init__(self, pg_admin: str, work: Path) -> None:
        self.pg_admin = pg_admin
        self.work = work
        self.database = f"tier1_faults_{os.getpid()}"
        self.redis = RedisServer(work)
        self.procs: list[subprocess.Popen] = []

    def start(self, log=print) -> Target:
        from bot.training import ensure_model

        ensure_model(ROOT, ROOT / "models", log=lambda _line: None)
        admin = create_engine(self.pg_admin, future=True, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{self.database}"'))
        admin.dispose()
        self.redis.start()
        base = yaml.safe_load((ROOT / "config.yml").read_text())
        url = admin.url.set(database=self.database).render_as_string(hide_password=False)
        rasa_port, action_port = free_port(), free_port()
        ports = {"a": free_port(), "b": free_port()}
        configs = {}
        for name, port in ports.items():
            config = yaml.safe_load(yaml.safe_dump(base))
            config["server"].update(port=port, rasa_port=rasa_port, action_port=action_port,
                                    state_dir=str(self.work / name / "state"),
                                    models_dir=str(ROOT / "models"), startup_timeout_seconds=300)
            config["database"] = {"url": url}
            config["redis"] = {"url": self.redis.url, "key_prefix": f"faults{os.getpid()}"}
            config["backends"] = {"socket_manager": "redis", "presence": "redis",
                                  "kb_sync": "poll", "kb_sync_interval_seconds": 0.5,
                                  "rasa_lock_store": "redis"}
            config["knowledge_base"]["seed_file"] = str(ROOT / config["knowledge_base"]["seed_file"])
            config["limits"] = {"enabled": False}  # the load comes from one IP
            configs[name] = self.work / f"{name}.yml"
            configs[name].write_text(yaml.safe_dump(config, sort_keys=False))
        env = {**os.environ, **SECRETS, "HF_HUB_OFFLINE": "1", "RASA_TELEMETRY_ENABLED": "false"}
        log_a, log_b = self.work / "a.log", self.work / "b.log"
        with log_a.open("w") as out:
            self.procs.append(subprocess.Popen(
                [TIER1, "--config", str(configs["a"]), "run"], cwd=self.work, env=env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True))
        with log_b.open("w") as out:
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "tier1.app:app_from_env", "--factory", "--host",
                 "127.0.0.1", "--port", str(ports["b"]), "--ws", "wsproto", "--no-access-log"],
                cwd=ROOT, env={**env, "TIER1_CONFIG": str(configs["b"])}, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True))
        a, b = (f"http://127.0.0.1:{ports[n]}" for n in ("a", "b"))
        log(f"faults | starting replica A ({a}) and B ({b}) on {self.database} ...")

        def up() -> bool:
            if any(p.poll() is not None for p in self.procs):
                raise RuntimeError(f"a replica exited; see {log_a} and {log_b}")
            return "tier1 is up." in log_a.read_text() and _healthy(f"{b}/health/ready")

        _wait(up, 420, "both replicas up")
        return Target(
            bases=[a, b], database_url=url,
            supervisor_socket=self.work / "a" / "state" / "supervisor.sock",
            health={"rasa": f"http://127.0.0.1:{rasa_port}/",
                    "actions": f"http://127.0.0.1:{action_port}/health",
                    "app": f"{a}/health/ready"},
            config=configs["a"], env=env, database=self.database, pg_admin=self.pg_admin,
            redis=self.redis)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        self.redis.kill()
        admin = create_engine(self.pg_admin, future=True, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        admin.dispose()


# -- faults ----------------------------------------------------------------------------


def kill_program(target: Target, program: str) -> dict[str, Any]:
    """kill -9 a supervised program; wait until supervisord has restarted it and it is healthy."""
    old = target.pid(program)
    if not old:
        raise RuntimeError(f"{program} is not running under supervisord")
    os.kill(old, signal.SIGKILL)
    seconds = _wait(lambda: target.pid(program) not in (0, old)
                    and _healthy(target.health[program]), 300, f"{program} restarted and healthy")
    return {"killed_pid": old, "new_pid": target.pid(program), "restarted_by": "supervisord",
            "recovered_s": round(seconds, 1)}


def drop_database_connections(target: Target) -> dict[str, Any]:
    """pg_terminate_backend of every connection to the stack's database."""
    admin = create_engine(target.pg_admin, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": target.database}).scalar()
    admin.dispose()
    return {"connections_terminated": int(killed or 0), "recovered_s": 0.0}


def restart_redis(target: Target) -> dict[str, Any]:
    assert target.redis is not None
    started = time.monotonic()
    target.redis.kill()
    time.sleep(2)  # clients notice the outage
    target.redis.start()
    return {"recovered_s": round(time.monotonic() - started, 1)}


def inject(target: Target, scenario: str) -> dict[str, Any]:
    if scenario in ("rasa", "actions"):
        return kill_program(target, scenario)
    if scenario == "replica":
        return kill_program(target, "app")
    if scenario == "database":
        return drop_database_connections(target)
    if scenario == "redis":
        return restart_redis(target)
    raise ValueError(f"unknown scenario {scenario!r}; use {', '.join(SCENARIOS)}")


# -- an agent holding conversations (queue and assignments must survive) -----------------


def agent_token(target: Target, email: str) -> str:
    created = subprocess.run([TIER1, "--config", str(target.config), "agent", "create", "--email",
                              email, "--password", AGENT_PASSWORD, "--capacity", "50"],
                             check=False, env=target.env, capture_output=True, text=True,
                             timeout=180)
    if created.returncode != 0:
        raise RuntimeError(f"tier1 agent create failed: {created.stderr.strip()}")
    r = httpx.post(f"{target.bases[-1]}/api/auth/token",
                   data={"username": email, "password": AGENT_PASSWORD}, timeout=30)
    r.raise_for_status()
    return r.json()["access_token"]


def claim_some(target: Target, token: str, count: int = 2) -> list[str]:
    """Claim up to ``count`` queued conversations and answer each once (so they stay assigned)."""
    api = httpx.Client(base_url=target.bases[-1], headers={"Authorization": f"Bearer {token}"},
                       timeout=30)
    claimed = []
    for conv in api.get("/api/conversations", params={"status": "queued"}).json()[:count]:
        cid = conv["id"]
        if api.post(f"/api/conversations/{cid}/claim").status_code == 200:
            api.post(f"/api/conversations/{cid}/messages", json={"text": "Hi, I'm looking into it."})
            claimed.append(cid)
    return claimed


def with_agents(target: Target) -> dict[str, tuple[str, int | None]]:
    from handoff.models import ConversationRow

    with target.db().connect() as conn:
        rows = conn.execute(select(ConversationRow.id, ConversationRow.status,
                                   ConversationRow.assignee_id)
                            .where(ConversationRow.status.in_(["queued", "assigned"]))).all()
    return {r.id: (r.status, r.assignee_id) for r in rows}


# -- the checks ------------------------------------------------------------------------


def check_database(target: Target, acknowledged: list[dict], recovered_at: datetime,
                   bound: float) -> dict[str, Any]:
    """Lost and unanswered acknowledged messages, from the database (see the module doc)."""
    from handoff.models import MessageRow, StatusChangeRow
    from handoff.settings import HandoffSettings

    conversations = sorted({a["conversation"] for a in acknowledged})
    handoff = yaml.safe_load(target.config.read_text()).get("handoff") or {}
    apology = handoff.get("unavailable_message") or HandoffSettings().unavailable_message
    messages: dict[str, list[Any]] = {c: [] for c in conversations}
    queued_at: dict[str, datetime] = {}
    with target.db().connect() as conn:
        for i in range(0, len(conversations), 500):
            chunk = conversations[i:i + 500]
            for m in conn.execute(select(MessageRow.id, MessageRow.conversation_id,
                                         MessageRow.sender, MessageRow.client_id,
                                         MessageRow.text, MessageRow.created_at)
                                  .where(MessageRow.conversation_id.in_(chunk))
                                  .order_by(MessageRow.id)):
                messages[m.conversation_id].append(m)
            for s in conn.execute(select(StatusChangeRow.conversation_id, StatusChangeRow.created_at)
                                  .where(StatusChangeRow.conversation_id.in_(chunk),
                                         StatusChangeRow.to_status == "queued")):
                at = _utc(s.created_at)
                queued_at[s.conversation_id] = min(at, queued_at.get(s.conversation_id, at))
    lost = unanswered = told_before = apologised = 0
    delays: list[float] = []
    unanswered_ids: list[int] = []
    for a in acknowledged:
        rows = messages[a["conversation"]]
        mine = [m for m in rows if m.id == a["message_id"] and m.client_id == a["client_id"]]
        if not mine:
            lost += 1
            continue
        sent = _utc(mine[0].created_at)
        reply = next((m for m in rows if m.id > mine[0].id
                      and m.sender in ("bot", "agent", "system")), None)
        if reply is None and queued_at.get(a["conversation"], sent) < sent:
            told_before += 1  # written while already with the agents: the handoff notice said so
            continue
        if reply is not None and reply.text == apology:
            apologised += 1
        since = max(sent, recovered_at)
        delay = None if reply is None else max(0.0, (_utc(reply.created_at) - since).total_seconds())
        if delay is None or delay > bound:
            unanswered += 1
            unanswered_ids.append(a["message_id"])
        if delay is not None:
            delays.append(delay)
    return {"acknowledged": len(acknowledged), "lost": lost, "unanswered": unanswered,
            "answered_by_handoff_notice": told_before, "apologised": apologised,
            "max_reply_delay_s": round(max(delays), 1) if delays else None,
            "unanswered_message_ids": unanswered_ids[:20]}


async def run_scenario(target: Target, scenario: str, opts, token: str | None,
                       bound: float, log=print) -> dict[str, Any]:
    """Load, fault at a third of the duration, recovery, then the database checks."""
    from tier1.bench.load import question_texts, run_gateway

    texts = question_texts(ROOT / "knowledge_base/demo/articles.yml")
    load = asyncio.create_task(run_gateway(opts, texts, progress=False, details=True))
    await asyncio.sleep(opts.duration / 3)
    claimed = await asyncio.to_thread(claim_some, target, token) if token else []
    before = await asyncio.to_thread(with_agents, target)
    log(f"faults | {scenario}: {SCENARIOS[scenario]} ({len(before)} conversations with agents, "
        f"{len(claimed)} claimed)")
    fault_at = datetime.now(timezone.utc)
    fault = await asyncio.to_thread(inject, target, scenario)
    recovered_at = fault_at + timedelta(seconds=fault["recovered_s"])
    log(f"faults | {scenario}: recovered in {fault['recovered_s']} s; waiting for the load to end")
    result = await load
    # Orphaned messages are answered by the recovery sweep: give it the bound to do so.
    deadline = time.monotonic() + bound
    while True:
        check = await asyncio.to_thread(check_database, target, result["acknowledged_messages"],
                                        recovered_at, bound)
        if (check["unanswered"] == 0 and check["lost"] == 0) or time.monotonic() > deadline:
            break
        await asyncio.sleep(5)
    after = await asyncio.to_thread(with_agents, target)
    changed = sorted(c for c, state in before.items() if after.get(c) != state)
    return {
        "scenario": scenario, "fault": SCENARIOS[scenario], **fault,
        "users": opts.users, "sent": result["messages_sent"], **check,
        "queue_before": len(before), "queue_changed": len(changed),
        "queue_intact": not changed, "reconnects": result["reconnects"],
        "load_lost": result["lost"], "load_duplicated": result["duplicated"],
        "load_unanswered": result["unanswered"], "load_with_agents": result["with_agents"],
        "load_unacknowledged": result["unacknowledged"], "users_failed": result["users_failed"],
        "p50_ms": result["p50_ms"], "p95_ms": result["p95_ms"],
        # Stored and answered (the database), and seen by the users (live or replayed).
        "passed": check["lost"] == 0 and check["unanswered"] == 0 and not changed
        and result["lost"] == 0 and result["duplicated"] == 0 and result["unanswered"] == 0
        and result["users_failed"] == 0,
    }


def table(rows: list[dict]) -> str:
    head = ("| scenario | recovered s | sent | acked | lost (db / seen) | unanswered (db / seen) "
            "| apologised | with agents | max reply delay s | queue intact | reconnects | dup "
            "| passed |")
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        lines.append(f"| {r['scenario']} | {r['recovered_s']} | {r['sent']} | {r['acknowledged']} "
                     f"| {r['lost']} / {r['load_lost']} | {r['unanswered']} / {r['load_unanswered']} "
                     f"| {r['apologised']} | {r['load_with_agents']} | {r['max_reply_delay_s']} "
                     f"| {'yes' if r['queue_intact'] else 'NO'} ({r['queue_before']}) "
                     f"| {r['reconnects']} | {r['load_duplicated']} | {'yes' if r['passed'] else 'NO'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__[
        __doc__.index("example:"):], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenarios", default=",".join(SCENARIOS),
                   help="comma-separated, from: " + ", ".join(SCENARIOS) + " (default: all)")
    p.add_argument("--users", type=int, default=30, help="simulated widget users (default 30)")
    p.add_argument("--duration", type=float, default=45, help="seconds of load per scenario; "
                   "the fault comes at a third (default 45)")
    p.add_argument("--bound", type=float, default=90, help="seconds after the later of a message "
                   "and the recovery within which it must be answered (default 90)")
    p.add_argument("--pg", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
                   help="an admin URL of the PostgreSQL server (a fresh database is created)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = p.parse_args(argv)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown or args.users < 1 or args.duration <= 0:
        p.error(f"unknown scenario(s) {unknown}; use {', '.join(SCENARIOS)}" if unknown
                else "--users must be >= 1 and --duration > 0")
    from tier1.bench.load import LoadOptions

    work = Path(tempfile.mkdtemp(prefix="tier1-faults-"))
    topology = Topology(args.pg, work)
    say = (lambda line: print(line, file=sys.stderr, flush=True))
    rows = []
    try:
        target = topology.start(log=say)
        token = agent_token(target, "faults-agent@example.com")
        opts = LoadOptions(bases=tuple(target.bases), rasa_url=None, users=args.users,
                           duration=args.duration, reply_timeout=args.bound,
                           reconnect_timeout=300)
        for scenario in scenarios:
            rows.append(asyncio.run(run_scenario(target, scenario, opts, token, args.bound, say)))
            say(f"faults | {scenario}: {'passed' if rows[-1]['passed'] else 'FAILED'}")
    finally:
        topology.stop()
        if args.keep:
            say(f"faults | logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(rows, indent=2, default=str) if args.json else table(rows))
    return 0 if rows and all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
