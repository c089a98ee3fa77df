"""The handoff tables as they were when migrations were introduced.

Revision ID: ho_0001
Revises:

Databases created before this revision were made by ``create_all`` and are stamped with it,
so this upgrade only runs on an empty database, where it creates the same tables.
"""

from alembic import op

revision = "ho_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from handoff.models import Base

    # create_all skips existing tables: a partly created schema is completed, not duplicated.
    Base.metadata.create_all(op.get_bind())


def downgrade() -> None:
    from handoff.models import Base

    Base.metadata.drop_all(op.get_bind())
