"""reads recorded before they are chained

A request that only reads (a return read, say) records its audit-log row in
``audit_event_pending``, committed before its response is sent, without the chain's
lock; the service moves those rows into the chain in batches (app/auditlog/pending.py).
Rows are inserted and, once chained, deleted: a trigger refuses UPDATE on both
databases. Nothing to carry forward (the table is new). The downgrade chains nothing:
run ``audit-tools audit-log verify`` (which chains what waits) before downgrading, or
the waiting rows, a second's worth of reads at most, are lost with the table.

Revision ID: 9b6d4fc07c65
Revises: 8a5c3ebf6b54
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "9b6d4fc07c65"
down_revision: str | None = "8a5c3ebf6b54"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGER = "audit_event_pending_no_update"
PG_FUNCTION = """
CREATE FUNCTION audit_event_pending_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event_pending rows are never changed: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "audit_event_pending",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", app.db.UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_label", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event_pending")),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON audit_event_pending BEGIN "
            "SELECT RAISE(ABORT, 'audit_event_pending rows are never changed: UPDATE is not "
            "allowed'); END"
        )
    else:
        op.execute(PG_FUNCTION)
        op.execute(
            f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON audit_event_pending "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_pending_no_update()"
        )


def downgrade() -> None:
    op.drop_table("audit_event_pending")  # its trigger goes with it
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS audit_event_pending_no_update()")
