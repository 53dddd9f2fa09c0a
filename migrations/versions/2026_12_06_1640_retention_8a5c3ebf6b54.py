"""retention: what was removed, and when

``retention_removal`` records each removal the retention schedule makes (``audit-tools
retention apply``): which kind of record, for which audit, which fields, how many
values or rows, how (replaced by a marker, or deleted), the rule and the moment it ran
from, who ran it, and the audit log's row for it; never the removed text. Nothing has
been removed before this migration, so there is nothing to carry forward; the
downgrade loses only that record (the removed text is not brought back).

Revision ID: 8a5c3ebf6b54
Revises: 7f4b2dae5a43
Create Date: 2026-12-06 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "8a5c3ebf6b54"
down_revision: str | None = "7f4b2dae5a43"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retention_removal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("removed_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.Column("fields", sa.String(length=500), nullable=False),
        sa.Column("removed_count", sa.Integer(), nullable=False),
        sa.Column("how", sa.String(length=20), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("due_from", app.db.UTCDateTime(), nullable=False),
        sa.Column("removed_by", sa.String(length=320), nullable=False),
        sa.Column("audit_event_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_removal")),
    )
    op.create_index(op.f("ix_retention_removal_audit_id"), "retention_removal", ["audit_id"])
    op.create_index(op.f("ix_retention_removal_removed_at"), "retention_removal", ["removed_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_retention_removal_removed_at"), table_name="retention_removal")
    op.drop_index(op.f("ix_retention_removal_audit_id"), table_name="retention_removal")
    op.drop_table("retention_removal")
