"""Alembic migrations of the learning loop's table (``learning_handled``).

They have their own version table, ``learning_alembic_version``.

The learning loop lives in ``tier1.admin`` because it reads both packages' data, so its table is
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

from pathlib import Path

from sqlalchemy.engine import Engine

from schema_migration import MigrationSet

VERSION_TABLE = "learning_alembic_version"
BASELINE = "lr_0001"
TABLE = "learning_handled"

_SET = MigrationSet(
    Path(__file__).resolve().parent,
    VERSION_TABLE,
    BASELINE,
    marker_table=TABLE,
    lock_key=0x6C725F6D6967,  # "lr_mig": shared by every replica, distinct per package
    create_all=None,  # an empty database replays the migrations (they create the table)
)


def head() -> str:
    """The newest revision id."""
    return _SET.head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    return _SET.current_revision(engine)


def migrate(engine: Engine) -> str:
    """Create or upgrade the learning loop's table; return the revision now in place."""
    return _SET.migrate(engine)


__all__ = ["VERSION_TABLE", "current_revision", "head", "migrate"]
