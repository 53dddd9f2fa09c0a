"""granting admin or moderator waits for a second admin's approval

(Placeholder: filled in by the change that needs it.)

Revision ID: 4c1e9a7b2d10
Revises: 3b8d1f6a2c97
Create Date: 2026-12-06 16:00:00
"""

from collections.abc import Sequence

revision: str = "4c1e9a7b2d10"
down_revision: str | None = "3b8d1f6a2c97"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
