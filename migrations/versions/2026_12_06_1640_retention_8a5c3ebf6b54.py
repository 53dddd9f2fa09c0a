"""retention: what was removed, and when

(Placeholder: filled in by the change that needs it.)

Revision ID: 8a5c3ebf6b54
Revises: 7f4b2dae5a43
Create Date: 2026-12-06 16:40:00
"""

from collections.abc import Sequence

revision: str = "8a5c3ebf6b54"
down_revision: str | None = "7f4b2dae5a43"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
