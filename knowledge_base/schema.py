"""``migrate``: bring the knowledge base's tables to the current schema with Alembic.

Three starting points, one result:

- an empty database: the tables are created from the models and stamped with the newest
  revision (faster than replaying every migration, and the same schema);
- a walking-skeleton database (``kb_articles`` exists, no ``kb_alembic_version``): stamped as
  the baseline ``kb_0001``, then upgraded;
- a migrated database: upgraded if behind, else untouched.

The knowledge base keeps its own version table so another package's migrations in the
same database never interfere. On PostgreSQL an advisory lock serialises replicas that
start at once.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from knowledge_base.models import Base

VERSION_TABLE = "kb_alembic_version"
BASELINE = "kb_0001"
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_LOCK = 0x6B625F6D6967  # "kb_mig": any constant shared by every replica


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
    """Create or upgrade the kb_* tables; return the revision now in place.

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

    scripts = _scripts()
    target = scripts.get_current_head()

    def upgrade(revision, _context):
        return scripts._upgrade_revs(target, revision)

    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "fn": upgrade})
    current = context.get_current_revision()
    if current is None:
        if "kb_articles" not in inspect(conn).get_table_names():
            Base.metadata.create_all(conn)
            context.stamp(scripts, target)
            return target
        context.stamp(scripts, BASELINE)  # a database from before migrations existed
    if context.get_current_revision() != target:
        with Operations.context(context):
            context.run_migrations()
    return target
