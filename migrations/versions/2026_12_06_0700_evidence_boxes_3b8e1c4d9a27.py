"""evidence boxes: a template may leave out the three boxes of evidence

Each key area of a return has carried three boxes (what went well, what could have
been better, the impact on the child). A template may now leave them out: the shipped
learning assurance questionnaire does, so its existing versions leave them out too.

Revision ID: 3b8e1c4d9a27
Revises: 556351e33709
Create Date: 2026-12-06 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b8e1c4d9a27"
down_revision: str | None = "556351e33709"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUESTIONNAIRE = "learning-assurance-questionnaire"


def upgrade() -> None:
    # A plain ALTER TABLE, not a batch: on SQLite a batch copies the table, which the
    # foreign keys of every key area and audit pointing at it refuse.
    op.add_column(
        "template_version",
        sa.Column("has_evidence_boxes", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    version = sa.table(
        "template_version",
        sa.column("family_id", sa.Integer()),
        sa.column("has_evidence_boxes", sa.Boolean()),
    )
    family = sa.table("template_family", sa.column("id", sa.Integer()), sa.column("slug"))
    op.execute(
        version.update()
        .where(
            version.c.family_id.in_(sa.select(family.c.id).where(family.c.slug == QUESTIONNAIRE))
        )
        .values(has_evidence_boxes=False)
    )


def downgrade() -> None:
    op.drop_column("template_version", "has_evidence_boxes")  # SQLite 3.35 and later
