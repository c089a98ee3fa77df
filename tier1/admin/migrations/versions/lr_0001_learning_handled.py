"""The learning loop's record of handled misses (attached, drafted or dismissed questions).

Revision ID: lr_0001
Revises:

Databases whose table was made by ``create_all`` before migrations are stamped with this.
"""

import sqlalchemy as sa
from alembic import op

revision = "lr_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learning_handled",
        # The user's message id (handoff's messages.id): BIGINT on PostgreSQL.
        sa.Column(
            "message_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("article_id", sa.Integer, nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("learning_handled")
