"""render claims: when a dispatcher took a briefing to render

Revision ID: 88dacfba5020
Revises: 948f041d0ed3
Create Date: 2026-11-23 03:22:54.426237
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "88dacfba5020"
down_revision: str | None = "948f041d0ed3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("briefing_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("render_claimed_at", app.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("briefing_version", schema=None) as batch_op:
        batch_op.drop_column("render_claimed_at")
