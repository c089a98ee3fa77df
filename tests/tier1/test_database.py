"""The app's SQL engine on SQLite: pooled, WAL, and one in-process writer at a time."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from tier1.database import create_database_engine

pytestmark = [pytest.mark.unit]


def test_concurrent_writers_queue_in_process_and_every_outcome_releases_the_lock(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path / 'db' / 'app.db'}")
    assert isinstance(engine.pool, QueuePool)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        conn.execute(text("INSERT INTO t (id, v) VALUES (1, 'seed')"))
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    errors: list[str] = []

    def writer(i: int) -> None:
        try:
            for j in range(30):
                with Session(engine) as s:
                    s.execute(text("SELECT count(*) FROM t")).scalar()
                    s.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": f"{i}-{j}"})
                    if j % 5 == 0:
                        s.rollback()  # rolled back: the lock is given back
                        continue
                    s.commit()
                with engine.connect() as conn:  # closed without commit: the pool rolls back
                    conn.execute(text("INSERT INTO t (v) VALUES ('never committed')"))
                with pytest.raises(IntegrityError), engine.begin() as conn:
                    conn.execute(text("INSERT INTO t (id, v) VALUES (1, 'duplicate key')"))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(repr(e))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(12)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert not any(t.is_alive() for t in threads)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1 + 12 * 24
    # Nothing is left holding the lock: one more write goes straight through.
    begun = time.monotonic()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (v) VALUES ('after')"))
    assert time.monotonic() - begun < 1.0
    assert time.monotonic() - started < 30
