"""the year's programme: planned audits by theme, lead subgroup, month and template,
one-off or repeating monthly or quarterly, and the audit planned for each month

New tables only. An entry's months are worked out from its first month, how it
repeats and how many times; an occurrence row is written once an audit is planned
for (or linked to) one of them, so an existing database starts with an empty
programme and nothing to carry forward. An occurrence keeps its place if its audit
is ever deleted (the link is set to null): the month shows as not yet planned again.

Revision ID: c4d8f2a6b0e1
Revises: b3f7c9e1d5a2
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "c4d8f2a6b0e1"
down_revision: str | None = "b3f7c9e1d5a2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "programme_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("theme", sa.String(length=200), server_default="", nullable=False),
        sa.Column("lead_subgroup_id", sa.Integer(), nullable=True),
        sa.Column("template_family_id", sa.Integer(), nullable=False),
        sa.Column("first_month", sa.Date(), nullable=False),
        sa.Column(
            "repeat",
            sa.Enum(
                "none",
                "monthly",
                "quarterly",
                name="programme_repeat",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("cohort_size", sa.Integer(), nullable=True),
        sa.Column("returns_due_after_days", sa.Integer(), server_default="21", nullable=False),
        sa.Column("moderation_after_days", sa.Integer(), server_default="35", nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("archived_at", app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_subgroup_id"],
            ["subgroup.id"],
            name=op.f("fk_programme_entry_lead_subgroup_id_subgroup"),
        ),
        sa.ForeignKeyConstraint(
            ["template_family_id"],
            ["template_family.id"],
            name=op.f("fk_programme_entry_template_family_id_template_family"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_entry")),
    )
    op.create_index(
        op.f("ix_programme_entry_lead_subgroup_id"),
        "programme_entry",
        ["lead_subgroup_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_programme_entry_template_family_id"),
        "programme_entry",
        ["template_family_id"],
        unique=False,
    )
    op.create_table(
        "programme_entry_agency",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_programme_entry_agency_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["programme_entry.id"],
            name=op.f("fk_programme_entry_agency_entry_id_programme_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", "agency_id", name=op.f("pk_programme_entry_agency")),
    )
    op.create_table(
        "programme_occurrence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit.id"],
            name=op.f("fk_programme_occurrence_audit_id_audit"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["programme_entry.id"],
            name=op.f("fk_programme_occurrence_entry_id_programme_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_occurrence")),
        sa.UniqueConstraint("audit_id", name=op.f("uq_programme_occurrence_audit_id")),
        sa.UniqueConstraint(
            "entry_id", "month", name=op.f("uq_programme_occurrence_entry_id_month")
        ),
    )


def downgrade() -> None:
    op.drop_table("programme_occurrence")
    op.drop_table("programme_entry_agency")
    op.drop_index(op.f("ix_programme_entry_template_family_id"), table_name="programme_entry")
    op.drop_index(op.f("ix_programme_entry_lead_subgroup_id"), table_name="programme_entry")
    op.drop_table("programme_entry")
