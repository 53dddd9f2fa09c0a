"""template rules: yes/no and whole-number answers, "not applicable", conditions,
bounds on numbers and dates, declared evidence boxes, questions about the whole case,
and the period an audit looks at

Every new column is empty or false for what exists, which means what it meant before:
no question offers "not applicable", none has a condition or bounds, every template's
boxes of evidence are the default three (or none, as ``has_evidence_boxes`` says), and
every key area is a key area. Nothing to carry forward beyond the defaults.

Two new answer types widen the CHECK on ``question.answer_type``. PostgreSQL replaces
the constraint. SQLite cannot alter a CHECK, and copying the table (batch mode) would
trip the answers' references to it inside the migration's transaction; widening a
CHECK is a relaxation every existing row still meets, so the table's stored
definition is rewritten in place, the procedure SQLite documents for removing
constraints (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of
Table Schema Changes"), with the schema version bumped so every connection reads it
again. The downgrade narrows it back, refusing if any question uses a new type.

Revision ID: d4a7c2e9f1b3
Revises: c1e9a3f5b7d2
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import set_check_values

revision: str = "d4a7c2e9f1b3"
down_revision: str | None = "c1e9a3f5b7d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TYPES = ("free_text", "yes_partly_no", "single_choice", "date", "number")
NEW_TYPES = ("free_text", "yes_no", "yes_partly_no", "single_choice", "date", "integer", "number")
CHECK = "ck_question_answer_type"


def _set_answer_types(old: Sequence[str], new: Sequence[str]) -> None:
    set_check_values(op, table="question", column="answer_type", constraint=CHECK, old=old, new=new)


def upgrade() -> None:
    _set_answer_types(OLD_TYPES, NEW_TYPES)
    # Plain ADD COLUMN: these tables are referenced, and SQLite's batch copy would trip
    # those references.
    op.add_column("question", sa.Column("key", sa.String(length=60), nullable=True))
    op.add_column("question", sa.Column("not_applicable", sa.String(length=100), nullable=True))
    op.add_column("question", sa.Column("condition", sa.JSON(), nullable=True))
    op.add_column("question", sa.Column("minimum", sa.String(length=40), nullable=True))
    op.add_column("question", sa.Column("maximum", sa.String(length=40), nullable=True))
    op.add_column(
        "question",
        sa.Column("not_in_future", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "question",
        sa.Column("within_audit_period", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "key_area",
        sa.Column(
            "kind",
            sa.Enum(
                "key_area",
                "case",
                name="section_kind",
                native_enum=False,
                # SQLite cannot add a CHECK with a column; the model checks the value.
                create_constraint=op.get_bind().dialect.name != "sqlite",
                length=32,
            ),
            server_default="key_area",
            nullable=False,
        ),
    )
    op.add_column("template_version", sa.Column("evidence_box_spec", sa.JSON(), nullable=True))
    op.add_column("audit", sa.Column("period_from", sa.Date(), nullable=True))
    op.add_column("audit", sa.Column("period_to", sa.Date(), nullable=True))


def _json_set(column: str) -> str:
    # A JSON column may hold JSON's null rather than SQL's NULL: neither is a value.
    return f"({column} IS NOT NULL AND CAST({column} AS TEXT) <> 'null')"


def downgrade() -> None:
    bind = op.get_bind()
    # Whatever the earlier schema cannot hold is refused, not dropped: a downgrade that
    # silently threw away a template's rules or an audit's period would change what
    # returns mean.
    in_use = {
        "yes/no or whole-number questions": "SELECT count(*) FROM question "
        "WHERE answer_type IN ('yes_no', 'integer')",
        "questions about the whole case": "SELECT count(*) FROM key_area WHERE kind = 'case'",
        "questions with rules (not applicable, conditions, bounds, date rules, keys)": (
            "SELECT count(*) FROM question WHERE key IS NOT NULL OR not_applicable IS NOT NULL "
            f"OR {_json_set('condition')} OR minimum IS NOT NULL OR maximum IS NOT NULL "
            "OR not_in_future OR within_audit_period"
        ),
        '"not applicable" answers': "SELECT count(*) FROM answer WHERE value = 'not_applicable'",
        "declared boxes of evidence": "SELECT count(*) FROM template_version "
        f"WHERE {_json_set('evidence_box_spec')}",
        "audit periods": "SELECT count(*) FROM audit "
        "WHERE period_from IS NOT NULL OR period_to IS NOT NULL",
    }
    found = [what for what, sql in in_use.items() if bind.execute(sa.text(sql)).scalar_one()]
    if found:
        raise RuntimeError(
            "Cannot downgrade: the earlier schema cannot hold " + "; ".join(found) + "."
        )
    # SQLite 3.35 and later drop columns in place.
    op.drop_column("audit", "period_to")
    op.drop_column("audit", "period_from")
    op.drop_column("template_version", "evidence_box_spec")
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_key_area_section_kind"), "key_area", type_="check")
    op.drop_column("key_area", "kind")
    for column in (
        "within_audit_period",
        "not_in_future",
        "maximum",
        "minimum",
        "condition",
        "not_applicable",
        "key",
    ):
        op.drop_column("question", column)
    _set_answer_types(NEW_TYPES, OLD_TYPES)
