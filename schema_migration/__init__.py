"""One Alembic runner for every package that owns tables in the shared database.

Each package (``knowledge_base``, ``handoff``, the learning loop in ``bot``) keeps its own
versions folder and version table, so their schemas move independently in one database, and
describes itself with a `MigrationSet`. `MigrationSet.migrate` runs at start-up and is
idempotent:

- an empty database: with ``create_all`` the tables are created from the models and stamped
  with the newest revision (faster than replaying every migration, the same schema); without
  it every migration runs from the first;
- tables from before migrations (``marker_table`` exists, no version row): stamped as the
  ``baseline`` revision, then upgraded;
- otherwise: upgraded if behind, else untouched.

On PostgreSQL a transaction-scoped advisory lock (one key per package) serialises replicas
starting together; the DDL runs in that same transaction, so a failed upgrade leaves nothing
half done. This package imports none of the others, so each may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, Engine


class MigrationSet:
    """One package's migrations.

    Args:
        directory: the Alembic script directory (``env.py``-less: ``versions/`` beside it).
        version_table: this package's own Alembic version table.
        baseline: the revision that describes tables made before migrations existed.
        marker_table: a table whose presence (without a version row) means exactly that.
        lock_key: the PostgreSQL advisory-lock key, distinct per package.
        create_all: returns the models' metadata, to create an empty database in one step;
            None replays every migration instead.
    """

    def __init__(
        self,
        directory: Path,
        version_table: str,
        baseline: str,
        marker_table: str,
        lock_key: int,
        create_all: Callable[[], MetaData] | None = None,
    ) -> None:
        self.directory = directory
        self.version_table = version_table
        self.baseline = baseline
        self.marker_table = marker_table
        self.lock_key = lock_key
        self.create_all = create_all

    @cached_property
    def scripts(self):
        """The Alembic script directory, loaded once."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory(str(self.directory))

    def head(self) -> str:
        """The newest revision id."""
        return self.scripts.get_current_head()

    def current_revision(self, engine: Engine) -> str | None:
        """The revision the database is at (None: never migrated)."""
        from alembic.runtime.migration import MigrationContext

        with engine.connect() as conn:
            return MigrationContext.configure(
                conn, opts={"version_table": self.version_table}
            ).get_current_revision()

    def migrate(self, engine: Engine) -> str:
        """Create or upgrade the package's tables; return the revision now in place.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the database refused (the caller wraps it).
        """
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": self.lock_key})
            return self._migrate(conn)

    def _migrate(self, conn: Connection) -> str:
        from alembic.operations import Operations
        from alembic.runtime.migration import MigrationContext

        scripts = self.scripts
        target = scripts.get_current_head()

        def upgrade(revision, _context):  # Alembic's callback
            return scripts._upgrade_revs(target, revision)

        context = MigrationContext.configure(
            conn, opts={"version_table": self.version_table, "fn": upgrade}
        )
        if context.get_current_revision() is None:
            exists = self.marker_table in inspect(conn).get_table_names()
            if not exists and self.create_all is not None:
                self.create_all().create_all(conn)
                context.stamp(scripts, target)
                return target
            if exists:
                context.stamp(scripts, self.baseline)  # made before migrations existed
        if context.get_current_revision() != target:
            with Operations.context(context):
                context.run_migrations()
        return target


__all__ = ["MigrationSet"]
