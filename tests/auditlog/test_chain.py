"""The hash chain proves the log unaltered, and on PostgreSQL the database itself
refuses to change it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.auditlog import service as auditlog
from app.auditlog.models import AuditEvent
from app.db import make_sessionmaker, open_session
from tests.conftest import BACKEND
from tests.helpers.factories import make_audit

postgresql_only = pytest.mark.skipif(
    BACKEND != "postgresql", reason="SQLite has no triggers refusing changes, and one writer"
)


@pytest.fixture
def rows(db) -> list[int]:
    """The log of setting up a whole audit (a dozen rows), by id."""
    make_audit(db, children=2, agencies_count=2)
    db.flush()
    return list(db.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


@pytest.fixture
def tamper(db):
    """Run raw SQL against the log as someone with the database's own rights would.

    On PostgreSQL that means first disabling the append-only trigger (as the table's
    owner can); the test's transaction, and the ALTER with it, is rolled back."""

    def run(sql: str, **params) -> None:
        if BACKEND == "postgresql":
            db.execute(
                text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_or_delete")
            )
        db.execute(text(sql), params)
        db.expire_all()

    return run


class TestVerify:
    def test_an_empty_log_is_intact(self, db):
        result = auditlog.verify(db)
        assert result.intact and result.checked == 0

    def test_an_untouched_log_is_intact_and_every_row_checked(self, db, rows):
        result = auditlog.verify(db, batch=5)  # batches that do not divide the rows
        assert result.intact
        assert result.checked == len(rows) >= 10

    def test_progress_is_reported_per_batch(self, db, rows):
        seen: list[int] = []
        auditlog.verify(db, batch=5, progress=seen.append)
        assert sum(seen) == len(rows) and max(seen) == 5

    def test_an_altered_row_is_named(self, db, rows, tamper):
        altered = rows[5]
        tamper(
            "UPDATE audit_event SET after = :after WHERE id = :id",
            after='{"name": "Someone else"}',
            id=altered,
        )
        result = auditlog.verify(db)
        assert result.broken_id == altered
        assert result.checked == 6
        assert "altered" in result.problem

    def test_a_changed_actor_is_caught(self, db, rows, tamper):
        tamper("UPDATE audit_event SET user_label = 'nobody' WHERE id = :id", id=rows[2])
        assert auditlog.verify(db).broken_id == rows[2]

    def test_a_deleted_row_is_caught_at_the_next(self, db, rows, tamper):
        tamper("DELETE FROM audit_event WHERE id = :id", id=rows[3])
        result = auditlog.verify(db)
        assert result.broken_id == rows[4]
        assert "prev_hash" in result.problem

    def test_an_alteration_with_its_hash_recomputed_is_caught_at_the_next_row(
        self, db, rows, tamper
    ):
        event = db.get(AuditEvent, rows[3])
        event.action = "agency.delete"
        forged = auditlog.content_hash(event.prev_hash, event)
        db.expire(event)
        tamper(
            "UPDATE audit_event SET action = 'agency.delete', hash = :hash WHERE id = :id",
            hash=forged,
            id=rows[3],
        )
        result = auditlog.verify(db)
        assert result.broken_id == rows[4]

    def test_the_first_row_must_start_from_genesis(self, db, rows, tamper):
        tamper("UPDATE audit_event SET prev_hash = :h WHERE id = :id", h="1" * 64, id=rows[0])
        result = auditlog.verify(db)
        assert result.broken_id == rows[0] and "start of the log" in result.problem


@postgresql_only
class TestTheDatabaseRefusesChanges:
    """The trigger from the accounts-and-audit-log migration. Each attempt runs in a
    SAVEPOINT, so its failure does not end the test's transaction."""

    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE audit_event SET action = 'x' WHERE id = :id",
            "DELETE FROM audit_event WHERE id = :id",
            "TRUNCATE audit_event",
        ],
        ids=["update", "delete", "truncate"],
    )
    def test_is_refused(self, db, rows, sql):
        before = db.scalar(select(AuditEvent.hash).where(AuditEvent.id == rows[0]))
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text(sql), {"id": rows[0]})
        db.expire_all()
        assert db.scalar(select(AuditEvent.hash).where(AuditEvent.id == rows[0])) == before
        assert auditlog.verify(db).checked == len(rows)


@postgresql_only
def test_simultaneous_writers_keep_one_chain(migrated_engine):
    """Two transactions logging at once: the second waits for the first to commit and
    chains onto its row. (Locking the newest row FOR UPDATE did not do this: the
    waiter woke holding the row it first found, and the chain forked.)"""
    engine = migrated_engine()
    factory = make_sessionmaker(engine)
    try:
        with open_session(factory, write=True) as setup:
            auditlog.record(setup, action="test.first", object_type="test", object_id=1)
            setup.commit()
        first = open_session(factory, write=True)
        auditlog.record(first, action="test.a", object_type="test", object_id=2)
        waiting = threading.Event()

        def second_writer() -> None:
            with open_session(factory, write=True) as second:
                waiting.set()
                auditlog.record(second, action="test.b", object_type="test", object_id=3)
                second.commit()

        thread = threading.Thread(target=second_writer)
        thread.start()
        waiting.wait()
        thread.join(0.5)
        assert thread.is_alive()  # queued behind the first writer
        first.commit()
        first.close()
        thread.join(10)
        with open_session(factory, write=False) as reader:
            result = auditlog.verify(reader)
            actions = list(reader.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        assert actions == ["test.first", "test.a", "test.b"]
        assert result.intact, result
    finally:
        engine.dispose()
