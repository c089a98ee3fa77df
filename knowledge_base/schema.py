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

from pathlib import Path

from sqlalchemy.engine import Engine

from knowledge_base.models import Base
from schema_migration import MigrationSet

VERSION_TABLE = "kb_alembic_version"
BASELINE = "kb_0001"

_SET = MigrationSet(
    Path(__file__).resolve().parent / "migrations",
    VERSION_TABLE,
    BASELINE,
    marker_table="kb_articles",
    lock_key=0x6B625F6D6967,  # "kb_mig": shared by every replica, distinct per package
    create_all=lambda: Base.metadata,
)


def head() -> str:
    """The newest revision id."""
    return _SET.head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    return _SET.current_revision(engine)


def migrate(engine: Engine) -> str:
    """Create or upgrade the kb_* tables; return the revision now in place."""
    return _SET.migrate(engine)
