"""Helpers for the tests of the audit log (tests/auditlog): one row per change in the
core cycle (test_core_cycle.py) and in every other change of agencies, templates and
cohorts (test_changes.py); no row from a failed request (test_failures.py); the keyed
chain and the database's refusal to alter it (test_chain.py); the signed checkpoints
(test_checkpoints.py); tampering caught by ``audit-tools audit-log verify`` on both
databases (test_tamper.py); the keying migration (test_keying_migration.py); the
service's PostgreSQL role (test_service_role.py); the API (test_api.py). The command
line's other tests are in tests/audit_tools/commands/test_auditlog.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.auditlog import pending
from app.auditlog.maintenance import append_only_lifted
from app.auditlog.models import AuditEvent

API = "/api/v1"


class LogWatch:
    """Counts the log's rows before and after each call: ``new()`` returns the rows
    written since the last look (and checks the count grew by exactly that many)."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.count = self._count()
        self.last_id = db.scalar(select(func.max(AuditEvent.id))) or 0

    def start(self) -> None:
        """Set-up done: commit it, as its own transaction would be, and count from here.

        (A failed request rolls back everything since the last commit, and the test's
        set-up shares the requests' session.)"""
        self.db.commit()
        self.new()

    def _count(self) -> int:
        return self.db.scalar(select(func.count(AuditEvent.id)))

    def new(self) -> list[AuditEvent]:
        # Reads wait to be chained (app/auditlog/pending.py): as when the log is read.
        pending.seal(self.db)
        rows = self.db.scalars(
            select(AuditEvent).where(AuditEvent.id > self.last_id).order_by(AuditEvent.id)
        ).all()
        count = self._count()
        assert count - self.count == len(rows)
        self.count = count
        if rows:
            self.last_id = rows[-1].id
        return list(rows)

    def one(self, action: str, object_type: str, object_id: int) -> AuditEvent:
        """The single row the last call wrote, checked to be ``action`` on the object."""
        rows = self.new()
        assert [(r.action, r.object_type, r.object_id) for r in rows] == [
            (action, object_type, object_id)
        ]
        return rows[0]

    def nothing(self) -> None:
        rows = self.new()
        assert rows == [], [r.action for r in rows]


def when(value: str) -> datetime:
    """An ISO 8601 timestamp from the API ("Z") or the log ("+00:00"), comparable."""
    return datetime.fromisoformat(value)


def behind_the_service(session: Session, sql: str, **params) -> None:
    """Run ``sql`` on the log as the table's owner could: with the append-only triggers
    lifted for it (app/auditlog/maintenance.py) and back again afterwards."""
    with append_only_lifted(session):
        session.execute(text(sql), params)
    session.expire_all()
