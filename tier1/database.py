"""The SQL engine shared by the knowledge base and the handoff module."""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


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

        serialize_sqlite_writes(engine)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


def serialize_sqlite_writes(engine: Engine, wait_seconds: float = 30.0) -> None:
    """Let one write transaction of this process at a time reach SQLite, queued in Python.

    SQLite allows one writer; a second one waits in SQLite's busy handler, which polls with
    sleeps growing to 100 ms. Under load the app's worker threads (storing messages, moving
    conversations) spent most of their time there: 0.3 s mean to store and acknowledge a
    message at 100 users (BENCHMARKS.md). Here a thread takes a process-wide lock before its
    transaction's first INSERT/UPDATE/DELETE and gives it back when the transaction commits or
    rolls back, so writers wait on a lock that wakes them at once. Reads are not held back
    (WAL lets them run beside the writer); other processes still meet SQLite's own locking.
    """
    lock = threading.Lock()
    holding: set[int] = set()  # ids of DBAPI connections whose transaction holds the lock
    guard = threading.Lock()

    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(_conn, cursor, statement, _params, _context, _executemany):
        if not _WRITE.match(statement):
            return
        key = id(cursor.connection)
        with guard:
            if key in holding:
                return
        if not lock.acquire(timeout=wait_seconds):
            raise sqlite3.OperationalError(
                f"database is locked: another write of this process took over {wait_seconds:g} s"
            )
        with guard:
            holding.add(key)

    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def _release(dbapi_conn: Any) -> None:
        # SQLAlchemy passes its pool's proxy here; the cursor above knew the raw connection.
        raw = getattr(dbapi_conn, "dbapi_connection", None) or dbapi_conn
        with guard:
            if id(raw) not in holding:
                return
            holding.discard(id(raw))
        lock.release()

    # A connection closed or invalidated in the middle of a transaction gives the lock back too.
    event.listen(engine, "close", lambda dbapi_conn, _record: _release(dbapi_conn))
    event.listen(engine, "invalidate", lambda dbapi_conn, _record, _exc: _release(dbapi_conn))

    def do_commit(dbapi_conn: Any) -> None:
        try:
            commit(dbapi_conn)
        finally:
            _release(dbapi_conn)

    def do_rollback(dbapi_conn: Any) -> None:
        try:
            rollback(dbapi_conn)
        finally:
            _release(dbapi_conn)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]
