"""indexes and query shapes for a national scale

The audits list reads its newest-first order from an index on (created_at, id)
instead of sorting every audit; one object's history in the audit log is found by
(object_type, object_id) instead of reading the whole log. Indexes only: nothing to
carry forward, and the downgrade drops them. On a large PostgreSQL database each
CREATE INDEX holds a write lock on its table while it builds (seconds per million rows).

Revision ID: ac7e5d0d8d76
Revises: 9b6d4fc07c65
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "ac7e5d0d8d76"
down_revision: str | None = "9b6d4fc07c65"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_audit_created_at_id", "audit", ["created_at", "id"]),
    ("ix_audit_event_object_type_object_id", "audit_event", ["object_type", "object_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
