"""Signed checkpoints: one line after each commit that logged (none after a rollback),
naming the chain's head and signed with the log's key; read back by ``check``.

Each test that commits has a database of its own and its own checkpoint file."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.auditlog import checkpoints
from app.auditlog import service as auditlog
from app.auditlog.chain import ChainStart, chain_key
from app.auditlog.checkpoints import BadLine, Checkpoint, parse
from app.auditlog.models import AuditEvent
from app.config import get_settings
from app.db import make_sessionmaker
from tests.helpers.factories import make_audit

AT = datetime(2026, 12, 6, 16, 10, tzinfo=UTC)


@pytest.fixture
def checkpoint_file(tmp_path, monkeypatch) -> Path:
    """The settings' checkpoint path, in a folder that does not exist yet."""
    path = tmp_path / "checkpoints" / "audit.log"
    monkeypatch.setenv("AUDIT_AUDIT_CHECKPOINT_PATH", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.fixture
def factory(migrated_engine):
    return make_sessionmaker(migrated_engine())


def log(session, n: int = 1) -> list[AuditEvent]:
    return [
        auditlog.record(session, action="test.do", object_type="test", object_id=i)
        for i in range(n)
    ]


def read(path: Path) -> list[Checkpoint]:
    return [parse(line, chain_key()) for line in path.read_text().splitlines()]


class TestWrittenAfterCommit:
    def test_a_commit_writes_one_signed_line_naming_the_head(self, factory, checkpoint_file):
        with factory() as session:
            rows = log(session, 3)
            assert not checkpoint_file.exists()  # nothing before the commit
            session.commit()
        [written] = read(checkpoint_file)
        assert (written.rows, written.head_id, written.head_hash) == (3, rows[-1].id, rows[-1].hash)

    def test_each_commit_appends_and_the_earlier_lines_stay(self, factory, checkpoint_file):
        for _ in range(3):
            with factory() as session:
                log(session, 2)
                session.commit()
        assert [c.rows for c in read(checkpoint_file)] == [2, 4, 6]

    def test_a_rollback_writes_none(self, factory, checkpoint_file):
        with factory() as session:
            log(session)
            session.rollback()
        assert not checkpoint_file.exists()

    def test_a_commit_that_logged_nothing_writes_none(self, factory, checkpoint_file):
        with factory() as session:
            session.scalar(select(func.count(AuditEvent.id)))
            session.commit()
        assert not checkpoint_file.exists()

    def test_rows_of_a_savepoint_rolled_back_are_not_named(self, factory, checkpoint_file):
        with factory() as session:
            [kept] = log(session)
            with session.begin_nested() as savepoint:
                log(session)
                savepoint.rollback()
            session.commit()
        [written] = read(checkpoint_file)
        assert (written.rows, written.head_id) == (1, kept.id)

    def test_a_line_that_cannot_be_written_is_logged_and_the_commit_stands(
        self, factory, tmp_path, monkeypatch, caplog
    ):
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        monkeypatch.setenv("AUDIT_AUDIT_CHECKPOINT_PATH", str(blocker / "audit.log"))
        get_settings.cache_clear()
        with factory() as session:
            log(session)
            session.commit()
        assert "Could not write the audit log's checkpoint" in caplog.text
        with factory() as session:
            assert session.scalar(select(func.count(AuditEvent.id))) == 1
        get_settings.cache_clear()

    def test_syslog_receives_the_signed_line(self, factory, monkeypatch):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
            server.bind(("127.0.0.1", 0))
            server.settimeout(10)
            monkeypatch.setenv("AUDIT_AUDIT_CHECKPOINT_PATH", "syslog")
            get_settings.cache_clear()
            monkeypatch.setattr(checkpoints, "SYSLOG_ADDRESS", server.getsockname())
            checkpoints._syslog.cache_clear()
            try:
                with factory() as session:
                    [row] = log(session)
                    session.commit()
                message = server.recv(4096).decode()
            finally:
                for handler in logging.getLogger("case_audit.audit_log_checkpoint").handlers:
                    handler.close()
                checkpoints._syslog.cache_clear()
                get_settings.cache_clear()
        assert "case-audit: case-audit-checkpoint v1 rows=1 " in message
        assert parse(message, chain_key()).head_hash == row.hash


class TestParse:
    def line(self, **changes) -> str:
        values = {"rows": 12, "head_id": 40, "head_hash": "ab" * 32, "at": AT} | changes
        return Checkpoint(**values).signed(chain_key())

    def test_a_signed_line_reads_back_whole(self):
        assert parse(self.line(), chain_key()) == Checkpoint(12, 40, "ab" * 32, AT)

    def test_a_syslog_prefix_is_allowed(self):
        assert parse("<84>Dec  6 16:10:00 host case-audit: " + self.line(), chain_key()).rows == 12

    @pytest.mark.parametrize(
        "forge",
        [
            lambda line: line.replace("rows=12", "rows=11"),
            lambda line: line.replace("head_id=40", "head_id=39"),
            lambda line: line[:-1] + ("0" if line[-1] != "0" else "1"),
        ],
        ids=["rows", "head", "signature"],
    )
    def test_a_changed_line_has_a_bad_signature(self, forge):
        with pytest.raises(BadLine, match="bad signature"):
            parse(forge(self.line()), chain_key())

    def test_a_line_signed_with_another_key_has_a_bad_signature(self):
        forged = Checkpoint(12, 40, "ab" * 32, AT).signed(b"a guess")
        with pytest.raises(BadLine, match="bad signature"):
            parse(forged, chain_key())

    def test_anything_else_is_not_a_checkpoint(self):
        with pytest.raises(BadLine, match="not a checkpoint"):
            parse("rows=12 head_id=40", chain_key())


class TestCheck:
    """``check`` on the tests' shared database (in the test's rolled-back
    transaction), against files the test writes."""

    @pytest.fixture
    def head(self, db) -> AuditEvent:
        make_audit(db, children=1, agencies_count=1)
        db.flush()
        return db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()

    def write(self, path: Path, *found: Checkpoint) -> str:
        path.write_text("".join(c.signed(chain_key()) + "\n" for c in found))
        return str(path)

    def test_the_log_as_checkpointed_has_no_problem(self, db, head, tmp_path):
        source = self.write(tmp_path / "c.log", Checkpoint(head.seq, head.id, head.hash, AT))
        report = checkpoints.check(db, source=source)
        assert report.found and report.lines == 1 and report.problems == []
        assert report.latest == Checkpoint(head.seq, head.id, head.hash, AT)

    def test_a_restored_copy_may_be_older_than_the_latest_checkpoint(self, db, head, tmp_path):
        source = self.write(
            tmp_path / "c.log",
            Checkpoint(head.seq, head.id, head.hash, AT),
            Checkpoint(head.seq + 5, head.id + 5, "ab" * 32, AT),  # written after the backup
        )
        live = checkpoints.check(db, source=source)
        assert any("rows were deleted from the end of the log" in p for p in live.problems)
        assert any(f"row {head.id + 5}, line 2" in p for p in live.problems)
        copy = checkpoints.check(db, source=source, restored_copy=True)
        assert copy.problems == []
        assert copy.notes == [
            "Checkpoints newer than this copy's newest row: 1, as expected of a restored backup."
        ]

    def test_checkpoints_from_before_the_start_are_skipped(self, db, head, tmp_path):
        gone = Checkpoint(head.seq - 2, 10**9, "cd" * 32, AT)  # a row retention removed
        source = self.write(tmp_path / "c.log", gone, Checkpoint(head.seq, head.id, head.hash, AT))
        assert checkpoints.check(db, source=source).problems != []
        start = ChainStart(seq=head.seq - 2, hash="cd" * 32)
        assert checkpoints.check(db, source=source, start=start).problems == []

    def test_no_file_is_reported_as_not_found(self, db, tmp_path):
        report = checkpoints.check(db, source=str(tmp_path / "none.log"))
        assert not report.found and report.latest is None and report.problems == []

    def test_syslog_cannot_be_read_back_and_says_how_to(self, db):
        report = checkpoints.check(db, source="syslog")
        assert not report.found and "--checkpoints" in report.notes[0]
