"""What `tier1 run` starts: the three processes, their generated Rasa files and environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from bot.metrics import MULTIPROC_ENV, reset_folder
from tier1.settings import Settings
from tier1.supervisor import Program

BOT_DIR = Path(__file__).resolve().parent


def _bin(name: str) -> str:
    """A console script of this environment (next to the running interpreter)."""
    return str(Path(sys.executable).parent / name)


TRACKER_STORE_TYPE = "bot.tracker_store.PooledSQLTrackerStore"


def rasa_tracker_store(settings: Settings) -> dict:
    """Rasa's SQL tracker store, in the same database server as tier1 (its own SQLite file).

    The type is `bot.tracker_store.PooledSQLTrackerStore`: Rasa's SQL store with a pooled,
    WAL-mode engine on SQLite (the same store on PostgreSQL).
    """
    url = settings.database_url
    if url.startswith("sqlite"):
        return {"type": TRACKER_STORE_TYPE, "dialect": "sqlite",
                "db": str(settings.state_dir / "rasa_tracker.db")}
    from sqlalchemy.engine import make_url

    u = make_url(url)
    store = {"type": TRACKER_STORE_TYPE, "dialect": "postgresql", "url": u.host or "localhost",
             "db": u.database, "username": u.username or "", "password": u.password or ""}
    if u.port:
        store["port"] = u.port
    return store


def write_rasa_files(settings: Settings) -> tuple[Path, Path]:
    """Generate endpoints.yml and credentials.yml for Rasa from the settings."""
    state = settings.state_dir
    state.mkdir(parents=True, exist_ok=True)
    endpoints = state / "endpoints.yml"
    credentials = state / "credentials.yml"
    from tier1.backends import rasa_lock_store

    spec = {
        # tier1's actions never read the domain: do not send it with every action call.
        "action_endpoint": {"url": f"{settings.server.action_url}/webhook",
                            "enable_selective_domain": True},
        "tracker_store": rasa_tracker_store(settings),
    }
    lock_store = rasa_lock_store(settings)
    if lock_store is not None:  # several Rasa servers must not process one conversation at once
        spec["lock_store"] = lock_store
    endpoints.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    # Only the REST channel: the app server owns the widget socket (see RASA_NOTES.md).
    credentials.write_text(yaml.safe_dump({"rest": None}), encoding="utf-8")
    return endpoints, credentials


def listen_addresses(settings: Settings) -> dict[str, tuple[str, int, str]]:
    """Where each program listens: ``{name: (host, port, the setting that moves it)}``."""
    server = settings.server
    wanted = {"actions": ("127.0.0.1", server.action_port, "server.action_port")}
    for i in range(len(server.rasa_urls)):
        name = "rasa" if i == 0 else f"rasa-{i + 1}"
        wanted[name] = ("127.0.0.1", server.rasa_port + i, "server.rasa_port")
    wanted["app"] = (server.host, server.port, "server.port")
    return wanted


def programs(settings: Settings, model: Path, config_path: Path) -> list[Program]:
    """The programs `tier1 run` supervises, in start order, with health checks.

    The action server, Rasa (``server.rasa_processes`` of them) and the app server.
    """
    endpoints, credentials = write_rasa_files(settings)
    server = settings.server
    # The three processes share one folder of stage histograms; the app's /metrics sums them.
    metrics_dir = settings.state_dir / "metrics"
    reset_folder(metrics_dir)
    common = {"TIER1_CONFIG": str(config_path.resolve()), "RASA_TELEMETRY_ENABLED": "false",
              MULTIPROC_ENV: str(metrics_dir),
              "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
              "TF_CPP_MIN_LOG_LEVEL": "2", "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
              # numpy's OpenBLAS threads spin for small products (the article head, Rasa's
              # classifier) and fight the request threads for the cores: one thread took a
              # turn from 42 to 25 ms of CPU (BENCHMARKS.md). The operator's value wins.
              "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    return [
        Program(
            name="actions",
            command=[_bin("rasa"), "run", "actions", "--actions", "bot.actions",
                     "--port", str(server.action_port)],
            health_url=f"{server.action_url}/health",
            priority=10,
            environment={**common, "SANIC_HOST": "127.0.0.1"},
            port=server.action_port,
        ),
        *(
            Program(
                name="rasa" if i == 0 else f"rasa-{i + 1}",
                # The token is Rasa's only way to protect its HTTP API; Rasa binds loopback only.
                # bot.rasa_server is Rasa's own CLI with tier1's measured fixes applied first.
                command=[sys.executable, "-m", "bot.rasa_server", "run", "--enable-api",
                         "--interface", "127.0.0.1", "--port", str(server.rasa_port + i),
                         "--model", str(model),
                         "--endpoints", str(endpoints), "--credentials", str(credentials),
                         "--auth-token", settings.secrets.rasa_token.get_secret_value()],
                health_url=f"{url}/",
                priority=20,
                environment=common,
                port=server.rasa_port + i,
            )
            for i, url in enumerate(server.rasa_urls)
        ),
        Program(
            name="app",
            command=[sys.executable, "-m", "uvicorn", "tier1.app:app_from_env", "--factory",
                     "--host", server.host, "--port", str(server.port), "--no-access-log",
                     # uvicorn's default websockets backend needs websockets>=13; Rasa pins 10.4.
                     "--ws", "wsproto"],
            health_url=f"{server.app_url}/health/live",
            ready_url=f"{server.app_url}/health/ready",
            priority=30,
            environment=common,
            port=server.port,
        ),
    ]
