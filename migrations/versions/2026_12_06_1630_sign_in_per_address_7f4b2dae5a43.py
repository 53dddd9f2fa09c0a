"""sign-in attempts limited per client address as well

One row per password evaluated, by client address and time, so that no address has
more than ``sign_in_max_per_address_per_minute`` evaluated in any minute, whatever the
accounts (password spraying). Rows are of use for a minute only; nothing to carry
forward, and nothing lost by the downgrade but the last minute's count.

Revision ID: 7f4b2dae5a43
Revises: 6e3a1c9d4f32
Create Date: 2026-12-06 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "7f4b2dae5a43"
down_revision: str | None = "6e3a1c9d4f32"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_attempt")),
    )
    op.create_index(
        "ix_sign_in_attempt_client_address_attempted_at",
        "sign_in_attempt",
        ["client_address", "attempted_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_sign_in_attempt_client_address_attempted_at", table_name="sign_in_attempt")
    op.drop_table("sign_in_attempt")
