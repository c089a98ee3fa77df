"""Offline tickets: a message and email a user left while no person could take the chat.

Revision ID: ho_0003
Revises: ho_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "ho_0003"
down_revision = "ho_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database created by create_all from newer models already has the table.
    if "offline_tickets" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "offline_tickets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "conversation_id",
            sa.String(64),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("message", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_by", sa.Integer, sa.ForeignKey("agents.id", ondelete="SET NULL")),
        sa.CheckConstraint(
            "status IN ('awaiting_email', 'awaiting_message', 'open', 'closed', 'cancelled')",
            name="ck_offline_tickets_status",
        ),
    )
    op.create_index(
        "ix_offline_tickets_status_submitted", "offline_tickets", ["status", "submitted_at"]
    )
    op.create_index("ix_offline_tickets_conversation", "offline_tickets", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("offline_tickets")
