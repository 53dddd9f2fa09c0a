"""the moderation meeting and an audit's life: returns left out of moderation with a
reason, audits closed with a reason, and the meeting's notes on each child

Existing returns are all included, existing audits are not closed (none could be),
and no child has meeting notes yet.

Revision ID: 9a4c2e7b1d58
Revises: 5e1f8a3b6c42
Create Date: 2026-12-06 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "9a4c2e7b1d58"
down_revision: str | None = "5e1f8a3b6c42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLEs: on SQLite a batch would copy tables others refer to.
    op.add_column("audit_return", sa.Column("excluded_at", app.db.UTCDateTime(), nullable=True))
    op.add_column(
        "audit_return",
        sa.Column("excluded_reason", sa.Text(), server_default="", nullable=False),
    )
    op.add_column(
        "audit_return",
        sa.Column("excluded_by_label", sa.Text(), server_default="", nullable=False),
    )
    op.add_column("audit", sa.Column("closed_at", app.db.UTCDateTime(), nullable=True))
    op.add_column("audit", sa.Column("close_reason", sa.Text(), server_default="", nullable=False))
    op.create_table(
        "child_meeting_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("discussion", sa.Text(), nullable=False),
        sa.Column("learning_points", sa.Text(), nullable=False),
        sa.Column("attendees", sa.Text(), nullable=False),
        sa.Column("updated_by_label", sa.Text(), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit.id"],
            name=op.f("fk_child_meeting_note_audit_id_audit"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["child.id"],
            name=op.f("fk_child_meeting_note_child_id_child"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_child_meeting_note")),
        sa.UniqueConstraint("child_id", name=op.f("uq_child_meeting_note_child_id")),
    )
    op.create_index(
        op.f("ix_child_meeting_note_audit_id"), "child_meeting_note", ["audit_id"], unique=False
    )


def downgrade() -> None:  # SQLite 3.35 and later drop columns in place
    op.drop_index(op.f("ix_child_meeting_note_audit_id"), table_name="child_meeting_note")
    op.drop_table("child_meeting_note")
    op.drop_column("audit", "close_reason")
    op.drop_column("audit", "closed_at")
    op.drop_column("audit_return", "excluded_by_label")
    op.drop_column("audit_return", "excluded_reason")
    op.drop_column("audit_return", "excluded_at")
