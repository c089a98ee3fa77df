"""The production topology a fault drill runs on, and the handles a fault acts through.

`Topology` brings up, in a temporary directory: a fresh PostgreSQL database
``tier1_faults_<pid>``, a private Redis server on a free port (so restarting it disturbs nobody),
replica A (`tier1 run`: supervisord with the action server, Rasa on the PostgreSQL tracker store
and the Redis lock store, and app A) and replica B (a second app server sharing all of it).
`Target` is what the scenarios act on: the replicas, the database, supervisord and Redis.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import create_engine, text

TIER1 = str(Path(sys.executable).parent / "tier1")
SECRETS = {"TIER1_JWT_SECRET": "faults-jwt-secret-0123456789abcdef",
           "TIER1_INTERNAL_TOKEN": "faults-internal-token-0123456789",
           "TIER1_RASA_TOKEN": "faults-rasa-token-0123456789"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str, timeout: float = 3.0) -> bool:
    """Whether `url` answers below 500 within `timeout` seconds."""
    try:
        return httpx.get(url, timeout=timeout).status_code < 500
    except httpx.HTTPError:
        return False


def wait_for(predicate, timeout: float, what: str) -> float:
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
        """The stack's database (an engine made on first use)."""
        if self.engine is None:
            self.engine = create_engine(self.database_url, future=True, pool_pre_ping=True)
        return self.engine

    def rpc(self):
        """A client of replica A's supervisord over its unix socket."""
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, f"unix://{self.supervisor_socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def pid(self, program: str) -> int:
        """`program`'s pid under supervisord, 0 unless it is running."""
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
        """The Redis URL the replicas are configured with."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start redis-server and wait until it answers PING."""
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server not found on PATH; install Redis (apt-get install "
                               "redis-server) to run the fault scenarios")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--dir", str(self.work)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(self.ping, 20, f"redis-server on port {self.port} answering PING")

    def ping(self) -> bool:
        """Whether the server answers PING within a second."""
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL the server (its data is lost: nothing is persisted)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


# -- the topology ----------------------------------------------------------------------


class Topology:
    """PostgreSQL (fresh database) + private Redis + replica A (`tier1 run`) + replica B."""

    def __init__(
        self, pg_admin: str, work: Path, config: Path, server: dict[str, Any] | None = None
    ) -> None:
        """``server``: settings to change in the config's ``server:`` (e.g. rasa_processes)."""
        self.pg_admin = pg_admin
        self.server = dict(server or {})
        self.work = work
        self.config = config.resolve()
        self.root = self.config.parent
        self.database = f"tier1_faults_{os.getpid()}"
        self.redis = RedisServer(work)
        self.procs: list[subprocess.Popen] = []

    def start(self, log=print) -> Target:
        """Create the database and Redis, start both replicas; the `Target` once both are up."""
        from bot.training import ensure_model

        base = yaml.safe_load(self.config.read_text())
        models = self.root / (base.get("server") or {}).get("models_dir", "models")
        ensure_model(self.root, models, log=lambda _line: None, config=self.config)
        admin = create_engine(self.pg_admin, future=True, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{self.database}"'))
        admin.dispose()
        self.redis.start()
        url = admin.url.set(database=self.database).render_as_string(hide_password=False)
        rasa_port, action_port = free_port(), free_port()
        ports = {"a": free_port(), "b": free_port()}
        configs = {}
        for name, port in ports.items():
            config = yaml.safe_load(yaml.safe_dump(base))
            config["server"].update(port=port, rasa_port=rasa_port, action_port=action_port,
                                    state_dir=str(self.work / name / "state"),
                                    models_dir=str(models), startup_timeout_seconds=300)
            config["server"].update(self.server)
            config["database"] = {"url": url}
            config["redis"] = {"url": self.redis.url, "key_prefix": f"faults{os.getpid()}"}
            config["backends"] = {"socket_manager": "redis", "presence": "redis",
                                  "kb_sync": "poll", "kb_sync_interval_seconds": 0.5,
                                  "rasa_lock_store": "redis"}
            config["knowledge_base"]["seed_file"] = str(self.root / config["knowledge_base"]["seed_file"])
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
                cwd=self.root, env={**env, "TIER1_CONFIG": str(configs["b"])}, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True))
        a, b = (f"http://127.0.0.1:{ports[n]}" for n in ("a", "b"))
        log(f"faults | starting replica A ({a}) and B ({b}) on {self.database} ...")

        def up() -> bool:
            if any(p.poll() is not None for p in self.procs):
                raise RuntimeError(f"a replica exited; see {log_a} and {log_b}")
            return "tier1 is up." in log_a.read_text() and healthy(f"{b}/health/ready")

        wait_for(up, 420, "both replicas up")
        return Target(
            bases=[a, b], database_url=url,
            supervisor_socket=self.work / "a" / "state" / "supervisor.sock",
            health={"rasa": f"http://127.0.0.1:{rasa_port}/",
                    "actions": f"http://127.0.0.1:{action_port}/health",
                    "app": f"{a}/health/ready"},
            config=configs["a"], env=env, database=self.database, pg_admin=self.pg_admin,
            redis=self.redis)

    def stop(self) -> None:
        """Stop both replicas (SIGKILL after 60 s), Redis, and drop the database."""
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
