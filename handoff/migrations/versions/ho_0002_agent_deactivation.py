"""Agents can be deactivated (``deactivated_at``) and have their tokens revoked
(``token_version``, carried in tokens as ``ver``).

Revision ID: ho_0002
Revises: ho_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "ho_0002"
down_revision = "ho_0001"
branch_labels = None
depends_on = None


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("agents")}


def upgrade() -> None:
    # A database stamped ho_0001 after create_all from newer models already has them.
    existing = _columns()
    if "deactivated_at" not in existing:
        op.add_column("agents", sa.Column("deactivated_at", sa.DateTime(timezone=True)))
    if "token_version" not in existing:
        # The server default fills existing rows: every account stays active, tokens valid.
        op.add_column(
            "agents",
            sa.Column("token_version", sa.Integer, nullable=False, server_default="0"),
        )


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:  # SQLite cannot drop columns in place
        batch.drop_column("token_version")
        batch.drop_column("deactivated_at")
