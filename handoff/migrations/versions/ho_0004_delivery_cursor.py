"""Delivery cursor: the last bot/agent/system message that reached a widget socket.

Revision ID: ho_0004
Revises: ho_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "ho_0004"
down_revision = "ho_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database created by create_all from newer models already has the column.
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("conversations")}
    if "delivered_message_id" in columns:
        return
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("delivered_message_id", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("delivered_message_id")
