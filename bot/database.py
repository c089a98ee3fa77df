"""The SQL engine shared by the knowledge base and the handoff module."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool


def create_database_engine(url: str) -> Engine:
    """Create the engine for ``url``; for SQLite, create the folder and enable WAL.

    WAL lets the app's request threads read while one writes, and a busy timeout makes
    concurrent writers wait instead of failing with "database is locked". Connections are
    pooled: SQLAlchemy 1.4 gives SQLite files a ``NullPool``, which opened a connection (and
    ran these pragmas) for every session - 10 % of the app's CPU under load (BENCHMARKS.md).
    Commits keep SQLite's full fsync: a message is acknowledged only once it is on disk.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        memory = not path or path == ":memory:"
        pooling = {} if memory else {"poolclass": QueuePool, "pool_size": 16, "max_overflow": 48}
        engine = create_engine(
            url,
            future=True,
            connect_args={"check_same_thread": False, "timeout": 30},
            **pooling,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, future=True, pool_pre_ping=True)
