"""Tampering with the audit log, each way the issue names, caught by ``audit-tools
audit-log verify`` (the command itself, through typer's runner) on both databases.

Each test has its own database holding an audit's set-up, logged over three
commits (so three signed checkpoints), and its own checkpoint file. The tampering is
done as someone with the database's own rights: the table's owner, who can switch
the append-only triggers off (on SQLite, anyone who can write the file), but who
does not have the log's key."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.auditlog import chain
from app.auditlog import service as auditlog
from app.auditlog.checkpoints import Checkpoint
from app.auditlog.models import AuditEvent
from app.config import get_settings
from app.db import make_sessionmaker
from audit_tools.cli import app
from tests.conftest import BACKEND
from tests.helpers.auditlog import behind_the_service
from tests.helpers.factories import make_audit
from tests.helpers.sessions import engine_on

runner = CliRunner()


@dataclass
class Logged:
    sessions: sessionmaker[Session]
    ids: list[int]
    checkpoints: Path

    def tamper(self, sql: str, **params) -> None:
        with self.sessions() as session:
            behind_the_service(session, sql, **params)
            session.commit()

    def rows(self) -> list[AuditEvent]:
        with self.sessions() as session:
            return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


@pytest.fixture
def logged(migrated_database, tmp_path, monkeypatch) -> Iterator[Logged]:
    url = migrated_database()
    path = tmp_path / "checkpoints" / "audit.log"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("AUDIT_AUDIT_CHECKPOINT_PATH", str(path))
    get_settings.cache_clear()
    with engine_on(url) as engine:
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            make_audit(session, children=2, agencies_count=2)
            session.commit()
        for n in range(2):
            with sessions() as session:
                auditlog.record(session, action="test.later", object_type="test", object_id=n)
                session.commit()
        with sessions() as session:
            ids = list(session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))
        yield Logged(sessions, ids, path)
    get_settings.cache_clear()


def verify(*args: str):
    result = runner.invoke(app, ["audit-log", "verify", *args], catch_exceptions=False)
    # One line per finding, whatever the terminal's width.
    return result.exit_code, " ".join(result.output.split())


def rewrite(logged: Logged, hash_) -> None:
    """Every row's prev_hash and hash recomputed in order with ``hash_``: what a forger
    with the database, but not the key, can do."""
    prev = chain.GENESIS
    for row in logged.rows():
        new = hash_(prev, row)
        logged.tamper(
            "UPDATE audit_event SET prev_hash = :p, hash = :h WHERE id = :id",
            p=prev,
            h=new,
            id=row.id,
        )
        prev = new


class TestUntouched:
    def test_intact_and_matching_every_checkpoint(self, logged):
        code, output = verify()
        assert code == 0, output
        assert f"{len(logged.ids)} rows, chain intact (keyed)" in output
        assert "3 checkpoints in" in output and "every one signed and matching the log" in output
        assert f"head row {logged.ids[-1]}" in output and "Warning" not in output


class TestTamperingIsNamed:
    def test_a_row_edited(self, logged):
        logged.tamper("UPDATE audit_event SET object_id = 999 WHERE id = :id", id=logged.ids[4])
        code, output = verify()
        assert code == 1
        assert f"The chain is broken at row {logged.ids[4]}" in output
        assert "the row was altered" in output and "Traceback" not in output

    def test_the_tail_deleted(self, logged):
        logged.tamper("DELETE FROM audit_event WHERE id >= :id", id=logged.ids[-3])
        code, output = verify()
        assert code == 1
        assert f"The log holds {len(logged.ids) - 3} rows but the latest checkpoint" in output
        assert f"says {len(logged.ids)}, ending at row {logged.ids[-1]}" in output
        assert "rows were deleted from the end of the log" in output

    def test_the_tail_deleted_and_new_rows_logged_after(self, logged):
        # The chain fits again and so does the newest checkpoint: the older ones do not.
        logged.tamper("DELETE FROM audit_event WHERE id >= :id", id=logged.ids[-2])
        for n in range(3):
            with logged.sessions() as session:
                auditlog.record(session, action="test.after", object_type="test", object_id=n)
                session.commit()
        code, output = verify()
        assert code == 1
        # SQLite gives the new rows the deleted rows' ids; PostgreSQL's sequence does not.
        kind = "whose hash or place in the chain has changed" if BACKEND == "sqlite" else "that"
        assert f"Checkpoints naming a head row {kind}" in output
        assert f"first: row {logged.ids[-2]}, line 2" in output and "rows were deleted" in output

    def test_every_row_the_checkpoints_name_deleted(self, logged):
        logged.tamper("DELETE FROM audit_event")
        code, output = verify()
        assert code == 1
        assert "The log holds 0 rows but the latest checkpoint (line 3" in output
        assert "Checkpoints naming a head row that is no longer in the log: 3" in output

    def test_the_chain_rewritten_with_another_key(self, logged):
        rewrite(logged, lambda prev, row: chain.content_hash(prev, row, key=b"a guess"))
        code, output = verify()
        assert code == 1
        assert f"The chain is broken at row {logged.ids[0]}" in output
        assert "the chain was rewritten without the key" in output
        assert "has changed: 3" in output and "the chain was rewritten," in output

    def test_the_chain_rewritten_with_plain_sha256(self, logged):
        rewrite(logged, lambda prev, row: hashlib.sha256(chain._payload(prev, row)).hexdigest())
        code, output = verify()
        assert code == 1
        assert f"The chain is broken at row {logged.ids[0]}" in output
        assert "its hash is a plain SHA-256, not the log's keyed hash" in output

    def test_the_trigger_switched_off_by_the_owner_and_a_row_edited(self, logged):
        # Straight SQL, not the maintenance helper: what an owner at a psql prompt (or
        # anyone with the SQLite file) would type.
        with logged.sessions() as session:
            if BACKEND == "postgresql":
                session.execute(
                    text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_or_delete")
                )
            else:
                session.execute(text("DROP TRIGGER audit_event_no_update"))
            session.execute(
                text("UPDATE audit_event SET user_label = 'nobody' WHERE id = :id"),
                {"id": logged.ids[2]},
            )
            session.commit()
        code, output = verify()
        assert code == 1
        assert f"The chain is broken at row {logged.ids[2]}" in output and "altered" in output

    def test_a_forged_checkpoint(self, logged):
        row = logged.rows()[-1]
        forged = Checkpoint(row.seq + 40, row.id + 40, "ab" * 32, row.at).signed(b"a guess")
        with logged.checkpoints.open("a") as out:
            out.write(forged + "\n")
        code, output = verify()
        assert code == 1
        assert "Checkpoint lines with a bad signature: 1" in output and "line 4" in output
        assert "forged or altered" in output

    def test_a_checkpoint_line_edited(self, logged):
        lines = logged.checkpoints.read_text().splitlines()
        lines[0] = lines[0].replace(" rows=", " rows=1")
        logged.checkpoints.write_text("\n".join(lines) + "\n")
        code, output = verify()
        assert code == 1 and "Checkpoint lines with a bad signature: 1" in output


class TestWithoutCheckpoints:
    def test_no_file_is_a_warning_when_the_chain_is_intact(self, logged):
        logged.checkpoints.unlink()
        code, output = verify()
        assert code == 0
        assert f"Warning: No checkpoint file at {logged.checkpoints}" in output
        assert "rows deleted from the end of the log could not be seen" in output

    def test_no_file_and_a_broken_chain_exits_1(self, logged):
        logged.checkpoints.unlink()
        logged.tamper("UPDATE audit_event SET action = 'x' WHERE id = :id", id=logged.ids[1])
        code, output = verify()
        assert code == 1 and f"broken at row {logged.ids[1]}" in output

    def test_required_checkpoints_make_it_an_error(self, logged):
        logged.checkpoints.unlink()
        code, output = verify("--require-checkpoint")
        assert code == 1 and f"No checkpoint file at {logged.checkpoints}" in output

    def test_another_file_can_be_named(self, logged, tmp_path):
        copy = tmp_path / "exported-from-syslog.log"
        copy.write_text(logged.checkpoints.read_text())
        logged.checkpoints.unlink()
        code, output = verify("--checkpoints", str(copy))
        assert code == 0 and f"3 checkpoints in {copy}" in output
