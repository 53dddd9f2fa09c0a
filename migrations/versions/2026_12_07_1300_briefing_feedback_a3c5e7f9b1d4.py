"""briefing feedback and page counts: "was this useful?" counted beside downloads, and
each published PDF's number of pages

A new table, and a column left empty for PDFs stored before (their pages are counted
when read): nothing to carry forward.

Revision ID: a3c5e7f9b1d4
Revises: f2d8b4c6a1e9
Create Date: 2026-12-07 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "a3c5e7f9b1d4"
down_revision: str | None = "f2d8b4c6a1e9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("briefing_document", sa.Column("pages", sa.Integer(), nullable=True))
    op.create_table(
        "briefing_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("briefing_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("useful", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("signed_in", sa.Boolean(), nullable=False),
        sa.Column("at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_briefing_feedback_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["briefing_id"], ["briefing.id"], name=op.f("fk_briefing_feedback_briefing_id_briefing")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["briefing_version.id"],
            name=op.f("fk_briefing_feedback_version_id_briefing_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_briefing_feedback")),
    )
    op.create_index(
        op.f("ix_briefing_feedback_briefing_id"), "briefing_feedback", ["briefing_id"], unique=False
    )
    op.create_index(
        op.f("ix_briefing_feedback_version_id"), "briefing_feedback", ["version_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_briefing_feedback_version_id"), table_name="briefing_feedback")
    op.drop_index(op.f("ix_briefing_feedback_briefing_id"), table_name="briefing_feedback")
    op.drop_table("briefing_feedback")
    op.drop_column("briefing_document", "pages")  # SQLite 3.35 and later
