"""the audit log keyed (HMAC) and append-only on both databases, written by a role that does not own it

(Placeholder: filled in by the change that needs it.)

Revision ID: 5d2f0b8c3e21
Revises: 4c1e9a7b2d10
Create Date: 2026-12-06 16:10:00
"""

from collections.abc import Sequence

revision: str = "5d2f0b8c3e21"
down_revision: str | None = "4c1e9a7b2d10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
