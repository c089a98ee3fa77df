"""Handled misses gain the batch of the click that handled them and, for an attach, whether
their text became a new question: what undoing the click needs.

Revision ID: lr_0002
Revises: lr_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "lr_0002"
down_revision = "lr_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A table made by create_all before migrations existed is stamped lr_0001 and may have
    # these columns already.
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("learning_handled")}
    if "batch" not in present:
        op.add_column("learning_handled", sa.Column("batch", sa.String(36), nullable=True))
        op.create_index("ix_learning_handled_batch", "learning_handled", ["batch"])
    if "added" not in present:
        op.add_column("learning_handled", sa.Column("added", sa.Boolean, nullable=True))


def downgrade() -> None:
    op.drop_column("learning_handled", "added")
    op.drop_index("ix_learning_handled_batch", "learning_handled")
    op.drop_column("learning_handled", "batch")
