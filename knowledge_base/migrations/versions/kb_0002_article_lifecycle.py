"""Articles gain a locale and a status (draft/published/archived), indexed texts a kind
(title/question/passage), and every change a revision row.

Revision ID: kb_0002
Revises: kb_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "kb_0002"
down_revision = "kb_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults fill the existing rows: everything before this was live and English.
    op.add_column(
        "kb_articles", sa.Column("locale", sa.String(35), nullable=False, server_default="en")
    )
    op.add_column(
        "kb_articles",
        sa.Column("status", sa.String(16), nullable=False, server_default="published"),
    )
    op.create_index("ix_kb_articles_status", "kb_articles", ["status"])
    op.add_column(
        "kb_questions", sa.Column("kind", sa.String(16), nullable=False, server_default="question")
    )
    op.execute("UPDATE kb_questions SET kind = 'title' WHERE position = 0")
    op.create_table(
        "kb_article_revisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("article_id", sa.Integer, nullable=False, index=True),
        sa.Column("slug", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed", sa.JSON, nullable=False),
        sa.Column("previous", sa.JSON, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("kb_article_revisions")
    op.drop_column("kb_questions", "kind")
    op.drop_index("ix_kb_articles_status", "kb_articles")
    op.drop_column("kb_articles", "status")
    op.drop_column("kb_articles", "locale")
