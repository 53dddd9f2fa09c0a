"""The keyed hash chain proves the log unaltered, and the database itself refuses to
change it (triggers on both databases)."""

from __future__ import annotations

import hashlib
import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.auditlog import chain
from app.auditlog import service as auditlog
from app.auditlog.maintenance import append_only_lifted
from app.auditlog.models import AuditEvent
from app.config import Settings
from app.db import make_sessionmaker, open_session
from tests.conftest import BACKEND
from tests.helpers.auditlog import behind_the_service
from tests.helpers.factories import make_audit

postgresql_only = pytest.mark.skipif(BACKEND != "postgresql", reason="SQLite has one writer")


@pytest.fixture
def rows(db) -> list[int]:
    """The log of setting up a whole audit (a dozen rows), by id."""
    make_audit(db, children=2, agencies_count=2)
    db.flush()
    return list(db.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


@pytest.fixture
def tamper(db):
    """Run raw SQL against the log as someone with the database's own rights would:
    with the append-only triggers lifted (as the table's owner can). The test's
    transaction, and the lifting with it, is rolled back."""

    def run(sql: str, **params) -> None:
        behind_the_service(db, sql, **params)

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
        forged = chain.content_hash(event.prev_hash, event, key=chain.chain_key())
        db.expire(event)
        tamper(
            "UPDATE audit_event SET action = 'agency.delete', hash = :hash WHERE id = :id",
            hash=forged,
            id=rows[3],
        )
        result = auditlog.verify(db)
        assert result.broken_id == rows[4]

    @pytest.mark.parametrize("seq", [-5, 0])
    def test_a_row_slipped_in_before_the_chain_is_named(self, db, rows, seq):
        """An INSERT (the service's role may insert) of a row at or before the chain's
        start, which the walk from the start would never reach."""
        db.execute(
            text(
                "INSERT INTO audit_event (id, seq, at, user_id, user_label, action, "
                "object_type, object_id, request_id, client_address, prev_hash, hash) "
                "VALUES (:id, :seq, :at, 1, 'chair', 'return.read', 'return', 1, '', '', "
                "'forged', 'forged')"
            ),
            {"id": -5, "seq": seq, "at": db.get(AuditEvent, rows[0]).at},
        )
        result = auditlog.verify(db)
        assert not result.intact and result.broken_id == -5
        assert "1 row at or before the chain's start (seq 0) is in the log" in result.problem
        # After a retention run, the seqs it removed are no gap to slip into either.
        start = chain.ChainStart(seq=3, hash=db.get(AuditEvent, rows[2]).hash)
        behind_the_service(db, "DELETE FROM audit_event WHERE seq BETWEEN 1 AND 3")
        assert "at or before the chain's start (seq 3)" in auditlog.verify(db, start=start).problem

    def test_the_first_row_must_start_from_genesis(self, db, rows, tamper):
        tamper("UPDATE audit_event SET prev_hash = :h WHERE id = :id", h="1" * 64, id=rows[0])
        result = auditlog.verify(db)
        assert result.broken_id == rows[0] and "start of the log" in result.problem


class TestTheKey:
    def test_the_same_log_does_not_verify_under_another_key(self, db, rows):
        assert auditlog.verify(db).intact
        result = auditlog.verify(db, key=b"another key")
        assert result.broken_id == rows[0] and "keyed hash" in result.problem

    def test_the_key_is_the_setting_or_derived_from_the_secret_key(self):
        derived = chain.chain_key(Settings(environment="test", secret_key="s" * 40))
        assert derived == chain.chain_key(Settings(environment="test", secret_key="s" * 40))
        assert derived != chain.chain_key(Settings(environment="test", secret_key="t" * 40))
        assert len(derived) == 64 and b"s" * 40 not in derived
        own = Settings(environment="test", secret_key="s" * 40, audit_log_key="k" * 40)
        assert chain.chain_key(own) == b"k" * 40
        # The derived key, set as the log's own, is the same key: the secret key can
        # then be rotated without the log changing.
        pinned = Settings(environment="test", secret_key="t" * 40, audit_log_key=derived.decode())
        assert chain.chain_key(pinned) == derived

    def test_a_chain_rewritten_with_another_key_breaks_at_its_first_row(self, db, rows, tamper):
        _rewrite(db, tamper, lambda prev, row: chain.content_hash(prev, row, key=b"guess"))
        result = auditlog.verify(db)
        assert result.broken_id == rows[0]
        assert "altered, or the chain was rewritten without the key" in result.problem

    def test_a_chain_rewritten_with_plain_sha256_is_named(self, db, rows, tamper):
        _rewrite(
            db, tamper, lambda prev, row: hashlib.sha256(chain._payload(prev, row)).hexdigest()
        )
        result = auditlog.verify(db)
        assert result.broken_id == rows[0] and "plain SHA-256" in result.problem

    def test_a_row_marked_by_the_keying_migration_is_named(self, db, rows, tamper):
        tamper(
            "UPDATE audit_event SET prev_hash = :m WHERE id = :id",
            m=chain.BROKEN_BEFORE_KEYING,
            id=rows[2],
        )
        result = auditlog.verify(db)
        assert result.broken_id == rows[2] and "before it was keyed" in result.problem


def _rewrite(db, tamper, hash_) -> None:
    """Every row's hash recomputed in order with ``hash_``, as a forger would."""
    prev = chain.GENESIS
    for event in db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all():
        new = hash_(prev, event)
        tamper(
            "UPDATE audit_event SET prev_hash = :p, hash = :h WHERE id = :id",
            p=prev,
            h=new,
            id=event.id,
        )
        prev = new


class TestTheDatabaseRefusesChanges:
    """The triggers (PostgreSQL's since the log began; SQLite's from the keying
    migration). Each attempt runs in a SAVEPOINT, so its failure does not end the
    test's transaction."""

    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE audit_event SET action = 'x' WHERE id = :id",
            "DELETE FROM audit_event WHERE id = :id",
            # SQLite has no TRUNCATE: a DELETE without WHERE is its "truncate
            # optimisation", which it does not use on a table with triggers.
            "TRUNCATE audit_event" if BACKEND == "postgresql" else "DELETE FROM audit_event",
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


class TestTheMaintenancePath:
    """app/auditlog/maintenance.py: the one way to remove rows, as the owner."""

    def test_rows_can_be_deleted_inside_and_the_guard_is_back_after(self, db, rows):
        with append_only_lifted(db):
            db.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": rows[0]})
        assert db.scalar(select(AuditEvent.id).where(AuditEvent.id == rows[0])) is None
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": rows[1]})
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text("UPDATE audit_event SET action = 'x' WHERE id = :id"), {"id": rows[1]})

    def test_a_block_that_fails_leaves_the_guard_on(self, db, rows):
        with pytest.raises(RuntimeError), db.begin_nested(), append_only_lifted(db):
            raise RuntimeError("the retention run failed")
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": rows[1]})

    def test_a_chain_whose_oldest_rows_were_removed_verifies_from_its_start(self, db, rows):
        removed = db.get(AuditEvent, rows[2])
        start = chain.ChainStart(seq=removed.seq, hash=removed.hash)
        with append_only_lifted(db):
            db.execute(text("DELETE FROM audit_event WHERE id <= :id"), {"id": rows[2]})
        db.expire_all()
        assert auditlog.verify(db).broken_id == rows[3]
        result = auditlog.verify(db, start=start)
        assert result.intact and result.checked == len(rows) - 3


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
