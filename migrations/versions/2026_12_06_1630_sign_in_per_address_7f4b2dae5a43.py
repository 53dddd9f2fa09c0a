"""sign-in attempts limited per client address as well

(Placeholder: filled in by the change that needs it.)

Revision ID: 7f4b2dae5a43
Revises: 6e3a1c9d4f32
Create Date: 2026-12-06 16:30:00
"""

from collections.abc import Sequence

revision: str = "7f4b2dae5a43"
down_revision: str | None = "6e3a1c9d4f32"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
