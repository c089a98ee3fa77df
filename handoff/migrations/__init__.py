"""Alembic migrations of the handoff tables (their own version table, ``handoff_alembic_version``).

`migrate` runs at start-up (``Handoff.start``) and is idempotent. It follows the knowledge
base's scheme (``knowledge_base.schema``) but keeps its own versions folder and version
table, so each package's schema moves independently in a shared database:

- an empty database: tables created from the models, stamped with the newest revision;
- tables from before migrations (``conversations`` exists, no version row): stamped as
  ``ho_0001``, then upgraded;
- otherwise: upgraded if behind.

On PostgreSQL a transaction-scoped advisory lock serialises replicas starting together; the
DDL runs in that same transaction (PostgreSQL's DDL is transactional), so a failed upgrade
leaves nothing half done. To add a migration, copy the latest file in ``versions/``, give it
the next revision id and set ``down_revision`` to the previous one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

VERSION_TABLE = "handoff_alembic_version"
BASELINE = "ho_0001"
_MIGRATIONS = Path(__file__).resolve().parent
_PG_LOCK = 0x686F5F6D6967  # "ho_mig": shared by every replica, distinct from the KB's key


@lru_cache(maxsize=1)
def _scripts():
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(_MIGRATIONS))


def head() -> str:
    """The newest revision id."""
    return _scripts().get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()


def migrate(engine: Engine) -> str:
    """Create or upgrade the handoff tables; return the revision now in place.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database refused (the caller wraps it).
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        return _migrate(conn)


def _migrate(conn: Connection) -> str:
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    from handoff.models import Base

    scripts = _scripts()
    target = scripts.get_current_head()

    def upgrade(revision, _context):
        return scripts._upgrade_revs(target, revision)

    context = MigrationContext.configure(
        conn, opts={"version_table": VERSION_TABLE, "fn": upgrade}
    )
    current = context.get_current_revision()
    if current is None:
        if "conversations" not in inspect(conn).get_table_names():
            Base.metadata.create_all(conn)
            context.stamp(scripts, target)
            return target
        context.stamp(scripts, BASELINE)  # created by create_all before migrations existed
    if context.get_current_revision() != target:
        with Operations.context(context):
            context.run_migrations()
    return target
