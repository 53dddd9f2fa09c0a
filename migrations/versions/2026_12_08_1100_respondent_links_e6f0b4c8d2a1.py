"""one-time links for people without an account: a return answered by a family member
or by an agency with no one signed up, and the links tried from each address that did
not work

New tables only. A link keeps its token's SHA-256, never the token, and nothing about
whom it was given to; it goes with its return. An existing database starts with no
links and nothing counted.

Revision ID: e6f0b4c8d2a1
Revises: d5e9a3b7c1f0
Create Date: 2026-12-08 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "e6f0b4c8d2a1"
down_revision: str | None = "d5e9a3b7c1f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "respondent_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("voided_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_label", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
            name=op.f("fk_respondent_link_created_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["audit_return.id"],
            name=op.f("fk_respondent_link_return_id_audit_return"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_respondent_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_respondent_link_token_hash")),
    )
    op.create_index(
        op.f("ix_respondent_link_return_id"), "respondent_link", ["return_id"], unique=False
    )
    op.create_table(
        "respondent_link_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_respondent_link_failure")),
    )
    op.create_index(
        "ix_respondent_link_failure_client_address_attempted_at",
        "respondent_link_failure",
        ["client_address", "attempted_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_respondent_link_failure_client_address_attempted_at",
        table_name="respondent_link_failure",
    )
    op.drop_table("respondent_link_failure")
    op.drop_index(op.f("ix_respondent_link_return_id"), table_name="respondent_link")
    op.drop_table("respondent_link")
