"""return assignment: an agency lead gives a return to a named auditor of the agency

Existing returns are assigned to no one (every auditor of the agency sees them, as
before).

Revision ID: 7c2d5e9f1a36
Revises: 3b8e1c4d9a27
Create Date: 2026-12-06 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "7c2d5e9f1a36"
down_revision: str | None = "3b8e1c4d9a27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_audit_return_assigned_to_id_app_user"


def upgrade() -> None:
    # Plain ALTER TABLEs, not a batch: on SQLite a batch copies the table, which the
    # answers, grades and evidence pointing at it refuse. SQLite takes the reference
    # (named, as the models name it) inline in ADD COLUMN.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE audit_return ADD COLUMN assigned_to_id INTEGER CONSTRAINT {FK} "
            "REFERENCES app_user (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("audit_return", sa.Column("assigned_to_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            FK, "audit_return", "app_user", ["assigned_to_id"], ["id"], ondelete="SET NULL"
        )
    op.add_column("audit_return", sa.Column("assigned_at", app.db.UTCDateTime(), nullable=True))
    op.create_index(
        op.f("ix_audit_return_assigned_to_id"), "audit_return", ["assigned_to_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_return_assigned_to_id"), table_name="audit_return")
    op.drop_column("audit_return", "assigned_at")  # SQLite 3.35 and later
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(FK, "audit_return", type_="foreignkey")
    op.drop_column("audit_return", "assigned_to_id")
