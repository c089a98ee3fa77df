"""Alembic for the handoff tables: empty, pre-migration and migrated databases; two replicas
migrating one PostgreSQL database at once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine, inspect, text

from handoff.migrations import VERSION_TABLE, current_revision, head, migrate
from handoff.models import Base
from handoff.store import ConversationStore
from tests.postgres import throwaway_database

pytestmark = pytest.mark.integration

def test_empty_sqlite_database_is_created_at_head(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'h.db'}", future=True)
    assert current_revision(engine) is None
    assert migrate(engine) == head()
    assert current_revision(engine) == head()
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables and VERSION_TABLE in tables
    assert migrate(engine) == head()  # idempotent


def test_database_from_before_migrations_is_stamped_not_recreated(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}", future=True)
    store = ConversationStore(engine)
    store.create_tables()  # how databases were made before migrations
    store.open_conversation(None, {})
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE kb_alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO kb_alembic_version VALUES ('kb_9999')"))
    migrate(engine)
    assert current_revision(engine) == head()
    with engine.connect() as conn:  # the knowledge base's version table is not ours to touch
        assert conn.execute(text("SELECT version_num FROM kb_alembic_version")).scalar() == "kb_9999"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM conversations")).scalar() == 1


@pytest.fixture()
def pg_database():
    with throwaway_database("tier1_mig") as engine:
        yield engine


def test_two_replicas_migrating_postgresql_at_once(pg_database):
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def replica() -> None:
        start.wait()
        try:
            results.append(migrate(pg_database))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert results == [head()] * 4
    with pg_database.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {VERSION_TABLE}")).scalar() == 1
    assert set(Base.metadata.tables) <= set(inspect(pg_database).get_table_names())
