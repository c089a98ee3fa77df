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

from pathlib import Path

from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

from schema_migration import MigrationSet

VERSION_TABLE = "handoff_alembic_version"
BASELINE = "ho_0001"


def _metadata() -> MetaData:
    from handoff.models import Base

    return Base.metadata


_SET = MigrationSet(
    Path(__file__).resolve().parent,
    VERSION_TABLE,
    BASELINE,
    marker_table="conversations",
    lock_key=0x686F5F6D6967,  # "ho_mig": shared by every replica, distinct per package
    create_all=_metadata,
)


def head() -> str:
    """The newest revision id."""
    return _SET.head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    return _SET.current_revision(engine)


def migrate(engine: Engine) -> str:
    """Create or upgrade the handoff tables; return the revision now in place."""
    return _SET.migrate(engine)
