"""return submissions: each submitted return kept as it was submitted

Existing submitted and moderated returns get their first version from what they hold
now (as submitted; a return sent back and not yet resubmitted has none yet).

Revision ID: 556351e33709
Revises: f5696472f3b7
Create Date: 2026-12-06 04:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "556351e33709"
down_revision: str | None = "f5696472f3b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOXES = ("went_well", "could_be_better", "impact_on_child")


def upgrade() -> None:
    submission = op.create_table(
        "return_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("submitted_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["return_id"], ["audit_return.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("return_id", "number"),
    )
    with op.batch_alter_table("return_submission", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_return_submission_return_id"), ["return_id"], unique=False
        )
    _carry_forward(submission)


def _carry_forward(submission) -> None:
    bind = op.get_bind()
    # Typed, so the timestamps are read as the UTC datetimes they are stored as.
    audit_return = sa.table(
        "audit_return",
        sa.column("id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("submitted_at", app.db.UTCDateTime()),
        sa.column("updated_at", app.db.UTCDateTime()),
        sa.column("auditor_name", sa.String()),
        sa.column("overall_grade_id", sa.Integer()),
    )
    grade_level = sa.table(
        "grade_level", sa.column("id", sa.Integer()), sa.column("code", sa.String())
    )
    returns = bind.execute(
        sa.select(
            audit_return.c.id,
            audit_return.c.submitted_at,
            audit_return.c.updated_at,
            audit_return.c.auditor_name,
            grade_level.c.code,
        )
        .select_from(
            audit_return.outerjoin(grade_level, grade_level.c.id == audit_return.c.overall_grade_id)
        )
        .where(audit_return.c.status.in_(["submitted", "moderated"]))
        .order_by(audit_return.c.id)
    ).all()
    rows = []
    for return_id, submitted_at, updated_at, auditor_name, overall in returns:
        answers = bind.execute(
            sa.text("SELECT question_id, value FROM answer WHERE return_id = :r"),
            {"r": return_id},
        ).all()
        grades = bind.execute(
            sa.text(
                "SELECT gr.key_area_id, gl.code FROM grade gr "
                "JOIN grade_level gl ON gl.id = gr.level_id WHERE gr.return_id = :r"
            ),
            {"r": return_id},
        ).all()
        evidence = bind.execute(
            sa.text(
                "SELECT key_area_id, went_well, could_be_better, impact_on_child "
                "FROM key_area_evidence WHERE return_id = :r"
            ),
            {"r": return_id},
        ).all()
        rows.append(
            {
                "return_id": return_id,
                "number": 1,
                "submitted_at": submitted_at or updated_at,
                "submitted_by": auditor_name or "",
                "content": {
                    "auditor_name": auditor_name,
                    "overall_grade": overall,
                    "answers": {str(q): v for q, v in answers},
                    "grades": {str(k): c for k, c in grades},
                    "evidence": {str(e[0]): dict(zip(BOXES, e[1:], strict=True)) for e in evidence},
                },
            }
        )
    if rows:
        op.bulk_insert(submission, rows)


def downgrade() -> None:
    with op.batch_alter_table("return_submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_submission_return_id"))
    op.drop_table("return_submission")
