"""briefings: versions, published PDFs and downloads

Revision ID: 98c90f10baea
Revises: 70fd2e0a1684
Create Date: 2026-11-23 02:00:05.098272
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "98c90f10baea"
down_revision: str | None = "70fd2e0a1684"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "briefing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "briefing",
                "subgroup-report",
                name="briefing_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("public", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["audit.id"], name=op.f("fk_briefing_audit_id_audit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_briefing")),
    )
    with op.batch_alter_table("briefing", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_briefing_audit_id"), ["audit_id"], unique=False)

    op.create_table(
        "briefing_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("briefing_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "submitted",
                "approved",
                "published",
                "withdrawn",
                name="briefing_version_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "marking",
            sa.Enum(
                "OFFICIAL",
                "OFFICIAL-SENSITIVE",
                name="protective_marking",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("check_report", sa.JSON(), nullable=False),
        sa.Column("small_counts_confirmed_by", sa.String(length=320), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("submitted_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("approved_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("approved_by", sa.String(length=320), nullable=True),
        sa.Column("published_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("superseded_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("withdrawn_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.Column(
            "render_status",
            sa.Enum(
                "none",
                "queued",
                "rendering",
                "done",
                "failed",
                name="render_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("render_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["briefing_id"], ["briefing.id"], name=op.f("fk_briefing_version_briefing_id_briefing")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_briefing_version")),
        sa.UniqueConstraint(
            "briefing_id", "number", name=op.f("uq_briefing_version_briefing_id_number")
        ),
    )
    with op.batch_alter_table("briefing_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_briefing_version_briefing_id"), ["briefing_id"], unique=False
        )

    op.create_table(
        "briefing_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("rendered_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["briefing_version.id"],
            name=op.f("fk_briefing_document_version_id_briefing_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_briefing_document")),
        sa.UniqueConstraint("version_id", name=op.f("uq_briefing_document_version_id")),
    )
    op.create_table(
        "briefing_download",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("briefing_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("signed_in", sa.Boolean(), nullable=False),
        sa.Column("at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_briefing_download_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["briefing_id"], ["briefing.id"], name=op.f("fk_briefing_download_briefing_id_briefing")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["briefing_version.id"],
            name=op.f("fk_briefing_download_version_id_briefing_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_briefing_download")),
    )
    with op.batch_alter_table("briefing_download", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_briefing_download_agency_id"), ["agency_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_briefing_download_briefing_id"), ["briefing_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("briefing_download", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_briefing_download_briefing_id"))
        batch_op.drop_index(batch_op.f("ix_briefing_download_agency_id"))

    op.drop_table("briefing_download")
    op.drop_table("briefing_document")
    with op.batch_alter_table("briefing_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_briefing_version_briefing_id"))

    op.drop_table("briefing_version")
    with op.batch_alter_table("briefing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_briefing_audit_id"))

    op.drop_table("briefing")
