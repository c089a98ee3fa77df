"""Alembic migrations of the learning loop's table (``learning_handled``), with their own
version table ``learning_alembic_version``.

The learning loop lives in ``bot`` because it reads both packages' data, so its table is
migrated apart from the knowledge base's (``knowledge_base.schema``) and the handoff module's
(``handoff.migrations``), the same way: `migrate` runs at start-up, is idempotent, and on
PostgreSQL takes a transaction-scoped advisory lock so replicas starting together migrate once.

- an empty database: the migrations run from the first (they create the table);
- a table from before migrations (``learning_handled`` exists, no version row): stamped as
  ``lr_0001``, then upgraded;
- otherwise: upgraded if behind.

To add a migration, copy the latest file in ``versions/``, give it the next revision id and set
``down_revision`` to the previous one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

VERSION_TABLE = "learning_alembic_version"
BASELINE = "lr_0001"
TABLE = "learning_handled"
_MIGRATIONS = Path(__file__).resolve().parent
_PG_LOCK = 0x6C725F6D6967  # "lr_mig": shared by every replica, distinct from kb/handoff keys


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
    """Create or upgrade the learning loop's table; return the revision now in place.

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

    def upgrade(revision, _context):  # Alembic's callback
        return scripts._upgrade_revs(target, revision)

    context = MigrationContext.configure(
        conn, opts={"version_table": VERSION_TABLE, "fn": upgrade}
    )
    if context.get_current_revision() is None and TABLE in inspect(conn).get_table_names():
        context.stamp(scripts, BASELINE)  # made by create_all before migrations existed
    if context.get_current_revision() != target:
        with Operations.context(context):
            context.run_migrations()
    return target


__all__ = ["VERSION_TABLE", "current_revision", "head", "migrate"]
