"""Rasa's SQL tracker store, with SQLite set up for a server rather than a script.

Rasa's ``SQLTrackerStore`` on SQLite opens a new connection for every load and every save
(SQLAlchemy 1.4 gives file databases a ``NullPool``) and writes in SQLite's default rollback
journal with a full fsync per commit: under load, saving the tracker was 12 % of the Rasa
server's CPU (BENCHMARKS.md, "Cost of one turn"). Here the same tables are written through a
small connection pool, in WAL mode with ``synchronous=NORMAL``: a commit survives the Rasa
process being killed (the fault drills kill it with -9), only an operating-system crash can
lose the last transactions, and those hold dialogue state only, because tier1's own database
keeps every message (stored before it is acknowledged). On PostgreSQL this class is Rasa's
store unchanged.

Configured by `bot.stack` in the generated endpoints.yml as
``tracker_store: {type: bot.tracker_store.PooledSQLTrackerStore, ...}``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.pool import QueuePool

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=30000",
)


class PooledSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose SQLite engine is pooled and in WAL mode (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            url = self.engine.url
            self.engine.dispose()
            self.engine = sqlite_engine(url)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)


def sqlite_engine(url: Any) -> sa.engine.Engine:
    """A pooled SQLite engine whose connections are in WAL mode with ``synchronous=NORMAL``."""
    engine = sa.create_engine(
        url,
        poolclass=QueuePool,
        pool_size=4,
        max_overflow=4,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    return engine


__all__ = ["PooledSQLTrackerStore", "sqlite_engine"]
