"""lead sign-off: an audit may require each agency's lead to sign off its returns

Existing audits do not (auditors submit their own returns, as before); no existing
return has been sent for sign-off.

Revision ID: 5e1f8a3b6c42
Revises: 7c2d5e9f1a36
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "5e1f8a3b6c42"
down_revision: str | None = "7c2d5e9f1a36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLEs: on SQLite a batch would copy tables others refer to.
    op.add_column(
        "audit",
        sa.Column("lead_sign_off", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "audit_return", sa.Column("sign_off_requested_at", app.db.UTCDateTime(), nullable=True)
    )
    op.add_column("audit_return", sa.Column("sign_off_version", sa.Integer(), nullable=True))


def downgrade() -> None:  # SQLite 3.35 and later drop columns in place
    op.drop_column("audit_return", "sign_off_version")
    op.drop_column("audit_return", "sign_off_requested_at")
    op.drop_column("audit", "lead_sign_off")
