"""Articles gain a draft (pending changes kept beside the live version until published) and
revisions the name of the person who made them.

Revision ID: kb_0003
Revises: kb_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "kb_0003"
down_revision = "kb_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Both nullable: existing articles have no draft; older revisions only know the actor id.
    op.add_column("kb_articles", sa.Column("draft", sa.JSON, nullable=True))
    op.add_column(
        "kb_article_revisions", sa.Column("actor_name", sa.String(200), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("kb_article_revisions", "actor_name")
    op.drop_column("kb_articles", "draft")
