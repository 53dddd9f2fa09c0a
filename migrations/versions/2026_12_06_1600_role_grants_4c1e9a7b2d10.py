"""granting admin or moderator waits for a second admin's approval

A ``role_grant_request`` holds a change of someone's roles that gives them admin or
moderator, asked by one administrator, until another approves or refuses it. Nobody
has asked yet, so the table starts empty; everyone keeps the roles they have.

Revision ID: 4c1e9a7b2d10
Revises: 3b8d1f6a2c97
Create Date: 2026-12-06 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "4c1e9a7b2d10"
down_revision: str | None = "3b8d1f6a2c97"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "role_grant_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("roles_before", sa.JSON(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_label", sa.String(length=320), nullable=False),
        sa.Column("requested_at", app.db.UTCDateTime(), nullable=False),
        sa.Column(
            "decision",
            sa.Enum(
                "pending",
                "approved",
                "refused",
                "replaced",
                name="grant_decision",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_label", sa.String(length=320), nullable=False),
        sa.Column("decided_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_role_grant_request_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["app_user.id"],
            name=op.f("fk_role_grant_request_requested_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["app_user.id"],
            name=op.f("fk_role_grant_request_decided_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grant_request")),
    )
    op.create_index(
        op.f("ix_role_grant_request_user_id"), "role_grant_request", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_role_grant_request_user_id"), table_name="role_grant_request")
    op.drop_table("role_grant_request")
