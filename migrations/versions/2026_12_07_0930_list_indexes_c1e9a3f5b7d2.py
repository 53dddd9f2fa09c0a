"""indexes for My work, the audits list and the action tracker

My work counts each current audit's returns for the auditor's agency. With one index
on the audit and another on the agency, PostgreSQL combined the two, reading the
agency's every return (a tenth of all returns) once per audit: about 6 ms at 100,000
returns, and ten times that at a million. On (audit_id, agency_id) it reads only that
audit's returns for that agency; with the status too, the audits list counts a page of
audits' returns by status from the index alone, without reading the returns.

The tracker counts the filtered actions by status and by owning agency. Counted in one
pass by both, the index (status, owning_agency_id) answers without reading the
actions (about 5 ms at a million returns, against 30 ms reading them).

Indexes only: nothing to carry forward, and the downgrade drops them. On a large
PostgreSQL database each CREATE INDEX holds a write lock on its table while it builds
(seconds per million rows).

Revision ID: c1e9a3f5b7d2
Revises: bd8f1e2a9c70
Create Date: 2026-12-07 09:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c1e9a3f5b7d2"
down_revision: str | None = "bd8f1e2a9c70"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    (
        "ix_audit_return_audit_id_agency_id_status",
        "audit_return",
        ["audit_id", "agency_id", "status"],
    ),
    (
        "ix_learning_action_status_owning_agency_id",
        "learning_action",
        ["status", "owning_agency_id"],
    ),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
