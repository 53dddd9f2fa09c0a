"""moderation tally: settled audits' decisions counted once, by month

The pooled moderation analytics grouped every decision of every moderated audit on
each request: about a second at a million returns. Decisions of an audit that has left
moderation never change, so they are now counted once (app/moderation/tally.py):
``moderation_tallied_audit`` says which audits are counted, under the month their
moderation started; ``moderation_tally`` holds running totals of their decisions by
month, template version, agency, cell and the two grades (a span of whole months is
two months' rows); ``moderation_audit_tally`` how many of them have decisions, by
month, template version, agency and cell.

Data carried forward: every audit in learning or closed is counted here, as
``tally.rebuild`` would count it (tests/moderation/test_tally.py compares the two).
Reading all the decisions once takes seconds on a large database. The downgrade drops
the tables; the analytics then group every decision live again.

Revision ID: bd8f1e2a9c70
Revises: ac7e5d0d8d76
Create Date: 2026-12-07 09:20:00
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "bd8f1e2a9c70"
down_revision: str | None = "ac7e5d0d8d76"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "template_version_id, agency_id, cell, self_level_id, level_id"

# Each counted audit's current decisions with a self-grade, under its month.
DECIDED = """SELECT t.month, a.template_version_id, r.agency_id, g.cell, g.self_level_id,
        g.level_id, g.audit_id
    FROM moderation_tallied_audit t
    JOIN audit a ON a.id = t.audit_id
    JOIN moderated_grade g ON g.audit_id = t.audit_id
    JOIN audit_return r ON r.id = g.return_id
    WHERE g.superseded_at IS NULL AND g.self_level_id IS NOT NULL"""

# Running totals: each key's count at every month that added decisions.
RUNNING = f"""WITH decided AS ({DECIDED}),
changes AS (
    SELECT month, {KEY}, COUNT(*) AS n FROM decided GROUP BY month, {KEY}
),
months AS (SELECT DISTINCT month FROM changes),
keys AS (SELECT DISTINCT {KEY} FROM changes)
INSERT INTO moderation_tally (month, {KEY}, decisions)
SELECT month, {KEY}, decisions FROM (
    SELECT m.month, k.template_version_id, k.agency_id, k.cell, k.self_level_id, k.level_id,
        SUM(COALESCE(c.n, 0)) OVER (PARTITION BY k.template_version_id, k.agency_id,
            k.cell, k.self_level_id, k.level_id ORDER BY m.month) AS decisions
    FROM months m CROSS JOIN keys k
    LEFT JOIN changes c ON c.month = m.month AND c.template_version_id = k.template_version_id
        AND c.agency_id = k.agency_id AND c.cell = k.cell
        AND c.self_level_id = k.self_level_id AND c.level_id = k.level_id
) running
WHERE decisions > 0"""

# Audits with decisions in each month: by agency and cell, by cell, by agency and in
# all (NULL: any agency, any key area; the last two leave the overall grade out).
AUDITS = f"""WITH d AS (
    SELECT DISTINCT month, template_version_id, agency_id, cell, audit_id
    FROM ({DECIDED}) decided
)
INSERT INTO moderation_audit_tally (month, template_version_id, agency_id, cell, audits)
SELECT month, template_version_id, agency_id, cell, COUNT(*)
    FROM d GROUP BY month, template_version_id, agency_id, cell
UNION ALL
SELECT month, template_version_id, NULL, cell, COUNT(DISTINCT audit_id)
    FROM d GROUP BY month, template_version_id, cell
UNION ALL
SELECT month, template_version_id, agency_id, NULL, COUNT(DISTINCT audit_id)
    FROM d WHERE cell <> 0 GROUP BY month, template_version_id, agency_id
UNION ALL
SELECT month, template_version_id, NULL, NULL, COUNT(DISTINCT audit_id)
    FROM d WHERE cell <> 0 GROUP BY month, template_version_id"""


def upgrade() -> None:
    tallied = op.create_table(
        "moderation_tallied_audit",
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["audit.id"], name="fk_moderation_tallied_audit_audit_id_audit"
        ),
        sa.PrimaryKeyConstraint("audit_id", name="pk_moderation_tallied_audit"),
    )
    op.create_index("ix_moderation_tallied_audit_month", "moderation_tallied_audit", ["month"])
    op.create_table(
        "moderation_tally",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("template_version_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("cell", sa.Integer(), nullable=False),
        sa.Column("self_level_id", sa.Integer(), nullable=False),
        sa.Column("level_id", sa.Integer(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month",
            "template_version_id",
            "agency_id",
            "cell",
            "self_level_id",
            "level_id",
            name="pk_moderation_tally",
        ),
    )
    op.create_table(
        "moderation_audit_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("template_version_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("cell", sa.Integer(), nullable=True),
        sa.Column("audits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_moderation_audit_tally"),
    )
    op.create_index(
        "ix_moderation_audit_tally_agency_id",
        "moderation_audit_tally",
        ["agency_id", "cell", "month"],
    )
    _carry_forward(tallied)


def _carry_forward(tallied: sa.Table) -> None:
    bind = op.get_bind()
    # Typed, so the timestamps are read as the UTC datetimes they are stored as.
    audit = sa.table(
        "audit",
        sa.column("id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("moderation_started_at", app.db.UTCDateTime()),
    )
    settled = bind.execute(
        sa.select(audit.c.id, audit.c.moderation_started_at).where(
            audit.c.status.in_(["learning", "closed"]),
            audit.c.moderation_started_at.is_not(None),
        )
    ).all()
    if not settled:
        return
    op.bulk_insert(
        tallied,
        [{"audit_id": i, "month": date(at.year, at.month, 1)} for i, at in settled],
    )
    bind.execute(sa.text(RUNNING))
    bind.execute(sa.text(AUDITS))


def downgrade() -> None:
    op.drop_index("ix_moderation_audit_tally_agency_id", table_name="moderation_audit_tally")
    op.drop_table("moderation_audit_tally")
    op.drop_table("moderation_tally")
    op.drop_index("ix_moderation_tallied_audit_month", table_name="moderation_tallied_audit")
    op.drop_table("moderation_tallied_audit")
