"""flash messages: the next page's success banner, kept with the web session

Revision ID: 9d14aa11b3ce
Revises: 88dacfba5020
Create Date: 2026-12-05 06:42:30.219950
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d14aa11b3ce"
down_revision: str | None = "88dacfba5020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flash", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_column("flash")
