"""``audit-tools audit-log verify`` and ``export``, each run against its own new
database."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.auditlog.models import AuditEvent
from audit_tools.cli import app
from audit_tools.commands import auditlog as auditlog_command
from tests.helpers.auditlog import behind_the_service
from tests.helpers.factories import make_audit

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["audit-log", *args], catch_exceptions=False)


@pytest.fixture
def logged(cli_migrated_db) -> list[int]:
    """A migrated database holding a whole audit's set-up, committed; the log's ids."""
    with cli_migrated_db() as session:
        make_audit(session, children=2, agencies_count=2)
        session.commit()
        return list(session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def alter(cli_db, row_id: int) -> None:
    """Change a row behind the service's back, as the table's owner who can switch the
    append-only triggers off. (Every kind of tampering: tests/auditlog/test_tamper.py.)"""
    with cli_db() as session:
        behind_the_service(
            session, "UPDATE audit_event SET object_id = 999 WHERE id = :id", id=row_id
        )
        session.commit()


class TestVerifyCommand:
    def test_an_intact_chain_exits_0(self, logged):
        result = run("verify")
        assert result.exit_code == 0, result.output
        assert f"{len(logged)} rows, chain intact" in result.output
        assert "1 checkpoint in" in result.output and "matching the log" in result.output

    def test_a_broken_chain_names_the_row_and_exits_1(self, cli_migrated_db, logged):
        alter(cli_migrated_db, logged[4])
        result = run("verify")
        assert result.exit_code == 1
        assert f"broken at row {logged[4]}" in result.output
        assert "altered" in result.output and "Traceback" not in result.output

    def test_the_progress_bar_does_not_disturb_the_result(self, logged, monkeypatch):
        monkeypatch.setattr(auditlog_command, "PROGRESS_FROM", 0)
        result = run("verify")
        assert result.exit_code == 0 and "chain intact" in result.output

    def test_an_empty_log(self, cli_migrated_db):
        result = run("verify")
        assert result.exit_code == 0 and "0 rows, chain intact" in result.output

    def test_before_upgrade_it_says_to_upgrade(self, cli_db):
        result = run("verify")
        assert result.exit_code == 1 and "db upgrade" in result.output


def read_csv(content: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content)))


class TestExportCommand:
    def test_to_a_file_with_a_header_and_every_row(self, logged, tmp_path):
        out = tmp_path / "log.csv"
        result = run("export", "--output", str(out))
        assert result.exit_code == 0, result.output
        assert f"Wrote {len(logged)} rows" in result.output
        raw = out.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # so that Excel reads UTF-8
        rows = read_csv(raw.decode("utf-8-sig"))
        assert list(rows[0]) == [
            "when",
            "user",
            "action",
            "object type",
            "object id",
            "before",
            "after",
            "request id",
            "client address",
        ]
        assert len(rows) == len(logged)
        assert rows[0]["action"] == "template.create_draft"  # oldest first

    def test_filters_to_standard_output(self, logged):
        result = run("export", "--action", "audit.open")
        assert result.exit_code == 0, result.output
        [row] = read_csv(result.stdout)
        assert row["object type"] == "audit"
        assert json.loads(row["before"]) == {"opened_at": None, "status": "planned"}

    def test_object_and_date_filters(self, logged):
        by_type = read_csv(run("export", "--object-type", "involvement").stdout)
        assert len(by_type) == 4
        assert read_csv(run("export", "--from", "2999-01-01").stdout) == []
        assert len(read_csv(run("export", "--to", "2999-01-01T00:00").stdout)) == len(logged)

    def test_bad_dates_are_one_line_and_exit_1(self, logged):
        result = run("export", "--from", "tuesday")
        assert result.exit_code == 1 and "--from must be a date" in result.output
        result = run("export", "--from", "2025-02-01", "--to", "2025-01-01")
        assert result.exit_code == 1 and "ends before it starts" in result.output

    def test_an_unwritable_file(self, logged, tmp_path):
        result = run("export", "-o", str(tmp_path / "missing" / "log.csv"))
        assert result.exit_code == 1 and "Could not write" in result.output
