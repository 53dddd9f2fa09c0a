"""authenticator secrets encrypted at rest

(Placeholder: filled in by the change that needs it.)

Revision ID: 6e3a1c9d4f32
Revises: 5d2f0b8c3e21
Create Date: 2026-12-06 16:20:00
"""

from collections.abc import Sequence

revision: str = "6e3a1c9d4f32"
down_revision: str | None = "5d2f0b8c3e21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
