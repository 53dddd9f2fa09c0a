"""kept posts: a form posted after its session ended, kept for its author

Revision ID: f5696472f3b7
Revises: 9d14aa11b3ce
Create Date: 2026-12-06 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "f5696472f3b7"
down_revision: str | None = "9d14aa11b3ce"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kept_post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("kept_post", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kept_post_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kept_post", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kept_post_user_id"))
    op.drop_table("kept_post")
