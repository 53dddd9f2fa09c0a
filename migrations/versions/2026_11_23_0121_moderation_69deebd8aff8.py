"""moderation: moderated grades beside the agencies' own, and the audit's stage dates

Revision ID: 69deebd8aff8
Revises: ad1bfc3939b9
Create Date: 2026-11-23 01:21:31.859203
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "69deebd8aff8"
down_revision: str | None = "ad1bfc3939b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "moderated_grade",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("key_area_id", sa.Integer(), nullable=True),
        sa.Column("cell", sa.Integer(), nullable=False),
        sa.Column("self_level_id", sa.Integer(), nullable=True),
        sa.Column("level_id", sa.Integer(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_label", sa.Text(), nullable=False),
        sa.Column("decided_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("superseded_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("shift", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit.id"],
            name=op.f("fk_moderated_grade_audit_id_audit"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["app_user.id"],
            name=op.f("fk_moderated_grade_decided_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["key_area_id"], ["key_area.id"], name=op.f("fk_moderated_grade_key_area_id_key_area")
        ),
        sa.ForeignKeyConstraint(
            ["level_id"], ["grade_level.id"], name=op.f("fk_moderated_grade_level_id_grade_level")
        ),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["audit_return.id"],
            name=op.f("fk_moderated_grade_return_id_audit_return"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["self_level_id"],
            ["grade_level.id"],
            name=op.f("fk_moderated_grade_self_level_id_grade_level"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderated_grade")),
    )
    with op.batch_alter_table("moderated_grade", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_moderated_grade_audit_id"), ["audit_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_moderated_grade_return_id"), ["return_id"], unique=False
        )
        batch_op.create_index(
            "uq_moderated_grade_current",
            ["return_id", "cell"],
            unique=True,
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        )

    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moderation_started_at", app.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("learning_started_at", app.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_column("learning_started_at")
        batch_op.drop_column("moderation_started_at")

    with op.batch_alter_table("moderated_grade", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_moderated_grade_current",
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_moderated_grade_return_id"))
        batch_op.drop_index(batch_op.f("ix_moderated_grade_audit_id"))

    op.drop_table("moderated_grade")
