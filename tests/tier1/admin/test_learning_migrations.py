"""Alembic for the learning loop's table: empty, pre-migration and migrated databases, SQLite and
PostgreSQL, replicas migrating at once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.postgres import throwaway_database
from tier1.admin.learning import HandledMissRow, LearningBase
from tier1.admin.migrations import VERSION_TABLE, current_revision, head, migrate

pytestmark = pytest.mark.integration

def columns(engine) -> dict[str, tuple[str, bool]]:
    return {
        c["name"]: (type(c["type"]).__name__, c["nullable"])
        for c in inspect(engine).get_columns(HandledMissRow.__tablename__)
    }


def test_empty_sqlite_is_created_at_head_with_the_models_columns(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'l.db'}", future=True)
    assert current_revision(engine) is None
    assert migrate(engine) == head() and current_revision(engine) == head()
    assert {"learning_handled", VERSION_TABLE} <= set(inspect(engine).get_table_names())
    migrated = columns(engine)

    reference = create_engine(f"sqlite:///{tmp_path / 'ref.db'}", future=True)
    LearningBase.metadata.create_all(reference)  # what the model would make
    assert migrated == columns(reference)
    assert migrate(engine) == head()  # idempotent


def test_a_table_from_before_migrations_is_stamped_and_keeps_its_rows(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}", future=True)
    LearningBase.metadata.create_all(engine)  # how the table was made before
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO learning_handled (message_id, action, actor, text, created_at) "
            "VALUES (7, 'dismissed', 'agent:1', 'hi', '2024-01-01 00:00:00')"
        ))
    assert migrate(engine) == head()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT message_id FROM learning_handled")).scalars().all() == [7]


def test_an_lr_0001_table_gains_the_undo_columns_and_keeps_its_rows(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'lr1.db'}", future=True)
    with engine.begin() as conn:  # the table as lr_0001 made it, before undo existed
        conn.execute(text(
            "CREATE TABLE learning_handled (message_id INTEGER PRIMARY KEY, action VARCHAR(16) "
            "NOT NULL, article_id INTEGER, actor VARCHAR(64) NOT NULL, text TEXT NOT NULL, "
            "created_at DATETIME NOT NULL)"
        ))
        conn.execute(text(
            "INSERT INTO learning_handled VALUES (7, 'dismissed', NULL, 'agent:1', 'hi', "
            "'2024-01-01 00:00:00')"
        ))
    assert migrate(engine) == head() == "lr_0002"
    assert {"batch", "added"} <= set(columns(engine))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT message_id, batch FROM learning_handled")).all() == [
            (7, None)
        ]


@pytest.fixture()
def pg_engine():
    with throwaway_database("tier1_lr") as engine:
        yield engine


def test_replicas_migrating_postgresql_at_once(pg_engine):
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def replica() -> None:
        start.wait()
        try:
            results.append(migrate(pg_engine))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=replica) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and results == [head()] * 3
    assert current_revision(pg_engine) == head()
    cols = {c["name"]: c for c in inspect(pg_engine).get_columns("learning_handled")}
    assert type(cols["message_id"]["type"]).__name__ == "BIGINT"
    with pg_engine.begin() as conn:  # a message id beyond 32 bits fits
        conn.execute(text(
            "INSERT INTO learning_handled (message_id, action, actor, text, created_at) "
            "VALUES (5000000000, 'attached', 'agent:1', 'q', now())"
        ))
