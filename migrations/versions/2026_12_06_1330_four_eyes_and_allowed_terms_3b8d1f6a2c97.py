"""four eyes on every briefing, tables shown as "fewer than N", and the partnership's
own words the identification check allows

Existing versions are given the drafter the audit log names for their creation (the
"briefing.create" or "briefing.new_version" row) and that person as their author;
a version already approved keeps its approver as an approval of record. No table is
suppressed and no word is allowed yet.

Revision ID: 3b8d1f6a2c97
Revises: 9a4c2e7b1d58
Create Date: 2026-12-06 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "3b8d1f6a2c97"
down_revision: str | None = "9a4c2e7b1d58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLEs: on SQLite a batch would copy tables others refer to.
    op.add_column(
        "briefing_version",
        sa.Column("drafted_by", sa.String(length=320), server_default="", nullable=False),
    )
    op.add_column(
        "briefing_version",
        sa.Column("author_ids", sa.JSON(), server_default="[]", nullable=False),
    )
    op.add_column(
        "briefing_version",
        sa.Column("suppressed_tables", sa.JSON(), server_default="[]", nullable=False),
    )
    op.create_table(
        "briefing_approval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("approver", sa.String(length=320), nullable=False),
        sa.Column("approved_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("check_read", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["briefing_version.id"],
            name=op.f("fk_briefing_approval_version_id_briefing_version"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_briefing_approval_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_briefing_approval")),
        sa.UniqueConstraint(
            "version_id", "user_id", name=op.f("uq_briefing_approval_version_id_user_id")
        ),
    )
    op.create_index(op.f("ix_briefing_approval_version_id"), "briefing_approval", ["version_id"])
    op.create_table(
        "identify_allowed_term",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("added_by", sa.String(length=320), nullable=False),
        sa.Column("added_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identify_allowed_term")),
        sa.UniqueConstraint("key", name=op.f("uq_identify_allowed_term_key")),
    )
    _carry_forward()


def _carry_forward() -> None:
    """Drafters from the audit log; approvals of record from ``approved_by``."""
    bind = op.get_bind()
    created = bind.execute(
        sa.text(
            "SELECT object_id, user_id, user_label FROM audit_event "
            "WHERE object_type = 'briefing_version' "
            "AND action IN ('briefing.create', 'briefing.new_version') ORDER BY id"
        )
    ).all()
    for version_id, user_id, label in created:
        bind.execute(
            sa.text(
                "UPDATE briefing_version SET drafted_by = :label, author_ids = :ids WHERE id = :id"
            ),
            {
                "label": label or "",
                "ids": "[]" if user_id is None else f"[{user_id}]",
                "id": version_id,
            },
        )
    approved = bind.execute(
        sa.text(
            "SELECT id, approved_by, approved_at FROM briefing_version "
            "WHERE approved_by IS NOT NULL AND approved_at IS NOT NULL"
        )
    ).all()
    for version_id, approver, at in approved:
        bind.execute(
            sa.text(
                "INSERT INTO briefing_approval (version_id, user_id, approver, approved_at, "
                "check_read) VALUES (:v, NULL, :who, :at, :read)"
            ),
            {"v": version_id, "who": approver, "at": at, "read": True},
        )


def downgrade() -> None:
    op.drop_table("identify_allowed_term")
    op.drop_index(op.f("ix_briefing_approval_version_id"), table_name="briefing_approval")
    op.drop_table("briefing_approval")
    op.drop_column("briefing_version", "suppressed_tables")
    op.drop_column("briefing_version", "author_ids")
    op.drop_column("briefing_version", "drafted_by")
