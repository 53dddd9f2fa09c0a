"""learning assurance: the questionnaire a published briefing launches

Revision ID: 948f041d0ed3
Revises: 98c90f10baea
Create Date: 2026-11-23 02:37:13.424461
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "948f041d0ed3"
down_revision: str | None = "98c90f10baea"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("briefing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assurance_audit_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_briefing_assurance_audit_id_audit"),
            "audit",
            ["assurance_audit_id"],
            ["id"],
        )

    with op.batch_alter_table("briefing_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assurance_due_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("briefing_version", schema=None) as batch_op:
        batch_op.drop_column("assurance_due_on")

    with op.batch_alter_table("briefing", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_briefing_assurance_audit_id_audit"), type_="foreignkey"
        )
        batch_op.drop_column("assurance_audit_id")
