"""The backup-restore drill, on the database under test (SQLite, or PostgreSQL with
``AUDIT_TEST_DB=postgresql``): ``audit-tools backup``, then ``audit-tools restore`` into
a new empty database, which must report every table's rows matched, the audit log's
chain intact and the time taken; and what must be refused."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from app.access import service as access
from app.access.models import Role, User
from app.auditlog.models import AuditEvent
from app.backup import database
from app.clock import utcnow
from app.config import get_settings
from audit_tools.cli import app
from tests.audit_tools.commands.conftest import KEY_A, KEY_B
from tests.helpers.factories import make_agency, make_audit
from tests.helpers.sessions import engine_on

runner = CliRunner()
# Authenticator secrets of the two accounts below: random, as the service makes them.
SECRETS = [pyotp.random_base32(), pyotp.random_base32()]


class Ran:
    def __init__(self, result) -> None:
        self.exit_code = result.exit_code
        # As one line: the console wraps what it prints at 80 columns here.
        self.output = " ".join(result.output.split())


def run(*args: str) -> Ran:
    return Ran(runner.invoke(app, list(args), catch_exceptions=False))


@pytest.fixture
def source(cli_migrated_db, keys, monkeypatch, tmp_path) -> str:
    """A migrated database holding an open audit (3 children, 3 agencies: their
    returns, involvements and log) and two auditors with authenticator secrets, made
    under key A; its URL."""
    monkeypatch.setenv("AUDIT_AUDIT_CHECKPOINT_PATH", str(tmp_path / "checkpoints.log"))
    get_settings.cache_clear()
    with cli_migrated_db() as session:
        audit = make_audit(session, children=3, agencies_count=3)
        for n, secret in enumerate(SECRETS):
            user = access.create_user(
                session,
                email=f"auditor{n}@example.org",
                display_name=f"Auditor {n}",
                roles={Role.AUDITOR},
                agency_id=audit.agencies[n].id,
                password="a long enough test passphrase 9",
            )
            user.totp_secret = secret
            user.totp_confirmed_at = utcnow()
        session.commit()
    return get_settings().database_url


@pytest.fixture
def backup_file(source, tmp_path):
    path = tmp_path / "case-audit.backup"
    result = run("backup", "--out", str(path))
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output and path.is_file()
    return path


@pytest.fixture
def target(database_factory, monkeypatch) -> str:
    """A new empty database on the same kind of server, named by DATABASE_URL."""
    url = database_factory()
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    return url


def counts(url: str) -> dict[str, int]:
    with engine_on(url) as engine, engine.connect() as connection:
        return database.table_counts(connection)


class TestDrill:
    def test_restored_with_every_row_the_chain_intact_and_the_time_taken(
        self, source, backup_file, target
    ):
        result = run("restore", str(backup_file))
        print(result.output)  # the drill's figures (pytest -s)
        assert result.exit_code == 0, result.output
        tables = len(counts(source))
        assert f"tables {tables}/{tables} match, parity 100%" in result.output
        assert "chain intact" in result.output and "signed checkpoints" in result.output
        assert "Authenticator secrets: 2/2 open" in result.output
        assert "(RTO)" in result.output and "Drill passed" in result.output
        # Checked here too, not only by the drill itself.
        assert counts(target) == counts(source)
        with engine_on(target) as engine, engine.connect() as connection:
            assert connection.scalar(select(func.count(AuditEvent.id))) > 20
            restored = connection.scalars(
                select(User.totp_secret).where(User.email.like("auditor%"))
            )
            assert sorted(restored) == sorted(SECRETS)

    def test_a_restore_that_lost_rows_fails_the_drill(
        self, source, backup_file, target, monkeypatch
    ):
        load = database.load

        def losing_a_row(url, snapshot):
            load(url, snapshot)
            with engine_on(url) as engine, engine.begin() as connection:
                connection.execute(
                    text("DELETE FROM user_role WHERE user_id = (SELECT max(id) FROM app_user)")
                )

        monkeypatch.setattr(database, "load", losing_a_row)
        result = run("restore", str(backup_file))
        assert result.exit_code == 1
        assert "parity 100%" not in result.output and "match, parity" in result.output
        roles = counts(source)["user_role"]
        assert f"user_role: {roles} in the backup, {roles - 1} restored" in result.output
        assert "Drill failed" in result.output

    def test_checkpoints_written_after_the_backup_are_expected(
        self, cli_migrated_db, backup_file, target
    ):
        with cli_migrated_db() as session:  # the service goes on after the backup
            make_agency(session, name="Youth Justice")
            session.commit()
        result = run("restore", str(backup_file))
        assert result.exit_code == 0, result.output
        assert "newer than this copy's newest row: 1, as expected" in result.output

    def test_a_forged_checkpoint_fails_the_drill(self, source, backup_file, target):
        path = get_settings().audit_checkpoint_path
        with open(path, "a") as checkpoints:
            checkpoints.write(
                f"case-audit-checkpoint v1 rows=1 head_id=1 head_hash={'0' * 64} "
                f"at=2026-01-01T00:00:00+00:00 mac={'0' * 64}\n"
            )
        result = run("restore", str(backup_file))
        assert result.exit_code == 1
        assert "parity 100%" in result.output and "chain intact" in result.output
        assert "bad signature" in result.output and "Drill failed" in result.output

    def test_check_reads_a_backup_through(self, backup_file):
        result = run("backup", "--check", str(backup_file))
        assert result.exit_code == 0, result.output
        assert "whole" in result.output and "key 1 of AUDIT_DATA_KEYS" in result.output

    def test_after_a_new_key_an_old_backup_still_opens(self, backup_file, keys, target):
        keys(f"{KEY_B},{KEY_A}")
        check = run("backup", "--check", str(backup_file))
        assert check.exit_code == 0 and "key 2 of AUDIT_DATA_KEYS" in check.output
        result = run("restore", str(backup_file))
        assert result.exit_code == 0 and "parity 100%" in result.output


class TestRefused:
    """Each refusal is one clear line and exit 1, and leaves the target empty."""

    def refused(self, backup_file, target) -> str:
        result = run("restore", str(backup_file))
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert database.tables_in(target) == []
        return result.output

    def test_a_wrong_key(self, backup_file, keys, target):
        keys(KEY_B)
        assert "cannot be opened with AUDIT_DATA_KEYS" in self.refused(backup_file, target)

    def test_a_truncated_file(self, backup_file, target):
        data = backup_file.read_bytes()
        backup_file.write_bytes(data[: len(data) // 2])
        assert "cut short" in self.refused(backup_file, target)

    def test_a_tampered_file(self, backup_file, target):
        data = bytearray(backup_file.read_bytes())
        middle = len(data) // 2
        data[middle] = ord("A") if data[middle] != ord("A") else ord("B")
        backup_file.write_bytes(bytes(data))
        assert "altered or damaged" in self.refused(backup_file, target)

    def test_not_a_backup(self, tmp_path, target):
        other = tmp_path / "notes.txt"
        other.write_text("hello\n")
        assert "not a case-audit backup" in self.refused(other, target)

    def test_a_database_that_is_not_empty(self, source, backup_file, monkeypatch):
        monkeypatch.setenv("DATABASE_URL", source)
        get_settings.cache_clear()
        before = counts(source)
        result = run("restore", str(backup_file))
        assert result.exit_code == 1
        assert "is not empty" in result.output and "never over one" in result.output
        assert counts(source) == before

    def test_a_killed_runs_plain_snapshot_is_removed_by_the_next(self, source, tmp_path):
        left = tmp_path / ".case-audit-backup-k1ll3d"
        left.mkdir()
        (left / "snapshot").write_bytes(b"SQLite format 3\x00 the plain database")
        result = run("backup", "--out", str(tmp_path / "next.backup"))
        assert result.exit_code == 0, result.output
        assert not left.exists()
        assert "the unencrypted snapshot of a backup that did not finish" in " ".join(
            result.output.split()
        )

    def test_a_backup_is_never_written_over(self, backup_file):
        before = backup_file.read_bytes()
        result = run("backup", "--out", str(backup_file))
        assert result.exit_code == 1 and "never written over" in result.output
        assert backup_file.read_bytes() == before

    def test_a_malformed_key(self, source, keys, tmp_path):
        keys("not-a-key")
        result = run("backup", "--out", str(tmp_path / "x.backup"))
        assert result.exit_code == 1 and "key 1 of 1 is not a Fernet key" in result.output
        assert not (tmp_path / "x.backup").exists()
