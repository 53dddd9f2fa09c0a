"""the inspection-readiness pack: a briefing of its own kind that covers a period of the
partnership's audits (and optionally one theme) rather than one audit

``briefing.audit_id`` may be empty (for a pack only: kept so by the one function that
makes packs); the period and theme are new columns, empty for every existing briefing
and report, as is the published document's new spreadsheet of a pack's figures; the
kind's CHECK widens. Downgrading refuses while
any pack exists: a pack has no audit to belong to in the older schema, and a
partnership's published evidence is not deleted by a migration.

Revision ID: f7a2d6c0e4b8
Revises: e6f0b4c8d2a1
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import set_check_values, set_nullable

revision: str = "f7a2d6c0e4b8"
down_revision: str | None = "e6f0b4c8d2a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = ("briefing", "subgroup-report")
NEW_KINDS = ("briefing", "subgroup-report", "inspection-pack")
CHECK = "ck_briefing_briefing_kind"


def _audit_optional(optional: bool) -> None:
    set_nullable(
        op,
        table="briefing",
        column="audit_id",
        sqlite_type="INTEGER",
        type_=sa.Integer(),
        nullable=optional,
    )


def upgrade() -> None:
    set_check_values(
        op, table="briefing", column="kind", constraint=CHECK, old=OLD_KINDS, new=NEW_KINDS
    )
    _audit_optional(True)
    # Plain ADD COLUMN: the table is referenced, and SQLite's batch copy would trip that.
    op.add_column("briefing", sa.Column("period_from", sa.Date(), nullable=True))
    op.add_column("briefing", sa.Column("period_to", sa.Date(), nullable=True))
    op.add_column("briefing", sa.Column("theme", sa.String(length=200), nullable=True))
    # A published pack's spreadsheet of its figures, made with its PDF from one reading.
    op.add_column("briefing_document", sa.Column("figures_xlsx", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    packs = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM briefing WHERE kind = 'inspection-pack'")
    )
    if packs:
        raise RuntimeError(
            f"{packs} inspection pack(s) exist; the older schema has no place for them. "
            "Export them (their PDFs and spreadsheets) and delete them first."
        )
    op.drop_column("briefing_document", "figures_xlsx")
    op.drop_column("briefing", "theme")
    op.drop_column("briefing", "period_to")
    op.drop_column("briefing", "period_from")
    _audit_optional(False)
    set_check_values(
        op, table="briefing", column="kind", constraint=CHECK, old=NEW_KINDS, new=OLD_KINDS
    )
