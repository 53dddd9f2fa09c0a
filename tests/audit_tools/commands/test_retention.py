"""``audit-tools retention apply [--dry-run]`` on a fixed clock, against a database of
its own: the dry run lists each kind with its counts and audits and changes nothing;
the real run removes it in one go, says what it did, and a second run finds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.auditlog.models import AuditEvent
from app.config import get_settings
from app.retention.models import RetentionRemoval
from app.retention.schedule import MARKER
from app.returns.models import KeyAreaEvidence
from audit_tools.cli import app
from audit_tools.commands import retention as retention_command
from tests.helpers.retention import make_closed_audit, make_sign_in_records

runner = CliRunner()
BUILT = datetime(2026, 11, 23, 12, tzinfo=UTC)
CLOSED = datetime(2027, 3, 1, 12, tzinfo=UTC)
DUE = datetime(2030, 3, 1, 12, tzinfo=UTC)


def run(when: datetime, *args: str):
    with time_machine.travel(when, tick=False):
        return runner.invoke(app, ["retention", "apply", *args], catch_exceptions=False)


@pytest.fixture
def closed(cli_migrated_db) -> dict:
    """A closed audit with every kind of case text, and sign-in records, committed."""
    with time_machine.travel(BUILT, tick=False), cli_migrated_db() as session:
        case = make_closed_audit(session, closed_at=CLOSED)
        make_sign_in_records(session, now=DUE, days=90)
        session.commit()
        return {"id": case.audit.id, "title": case.audit.title, "expected": case.expected}


def counts(factory) -> tuple[int, int, int]:
    with factory() as session:
        return (
            session.scalar(select(func.count(AuditEvent.id))) or 0,
            session.scalar(select(func.count(RetentionRemoval.id))) or 0,
            session.scalar(
                select(func.count(KeyAreaEvidence.id)).where(KeyAreaEvidence.went_well == MARKER)
            )
            or 0,
        )


class TestDryRun:
    def test_it_lists_each_kind_with_counts_and_audits_and_changes_nothing(
        self, cli_migrated_db, closed
    ):
        before = counts(cli_migrated_db)
        result = run(DUE, "--dry-run")
        assert result.exit_code == 0, result.output
        out = result.output
        assert "Case text, kept 3 years after the audit closed, then would be replaced" in out
        assert "return evidence boxes" in out and "16 values in 1 audit" in out
        assert (
            "free-text answers in returns: 8 values in 1 audit\n    fields: answer.value\n" in out
        )
        assert f'audit {closed["id"]} "{closed["title"]}" (closed 1 March 2027): 16' in out
        assert "ended web sessions (90 days after the session ended): 2 rows" in out
        assert "Dry run: nothing was changed." in out
        assert counts(cli_migrated_db) == before

    def test_a_changed_setting_changes_what_is_due(self, cli_migrated_db, closed, monkeypatch):
        monkeypatch.setenv("AUDIT_RETENTION_CASE_TEXT_YEARS", "5")
        get_settings.cache_clear()
        result = run(DUE, "--dry-run")
        assert result.exit_code == 0, result.output
        assert "kept 5 years after the audit closed" in result.output
        assert "1 closed audit not due yet" in result.output
        assert "due on 1 March 2032" in result.output
        assert "return evidence boxes" not in result.output

    def test_old_audit_log_rows_are_listed_with_where_the_chain_will_start(self, closed):
        result = run(BUILT + timedelta(days=7 * 366), "--dry-run")
        assert "rows written before" in result.output
        assert "a signed line in the checkpoint file will say where the kept chain starts" in (
            " ".join(result.output.split())
        )


class TestRealRun:
    def test_it_removes_what_was_listed_then_finds_nothing(self, cli_migrated_db, closed):
        logged_before, _, _ = counts(cli_migrated_db)
        result = run(DUE)
        assert result.exit_code == 0, result.output
        assert "Removed" in result.output
        assert "return evidence boxes" in result.output
        assert "16 values replaced in 1 audit" in result.output
        assert "ended web sessions: 2 rows deleted" in result.output
        logged, removals, marked = counts(cli_migrated_db)
        kinds = len(closed["expected"]) + 4  # and the four kinds of sign-in record
        assert (logged - logged_before, removals) == (kinds, kinds)
        assert marked == 8  # every return's two key areas

        again = run(DUE + timedelta(minutes=1))
        assert again.exit_code == 0, again.output
        assert "Nothing to remove." in again.output
        assert counts(cli_migrated_db) == (logged, removals, marked)

    def test_the_progress_bar_does_not_disturb_the_result(
        self, cli_migrated_db, closed, monkeypatch
    ):
        monkeypatch.setattr(retention_command, "PROGRESS_FROM", 0)
        result = run(DUE)
        assert result.exit_code == 0, result.output
        assert counts(cli_migrated_db)[2] == 8

    def test_before_upgrade_it_says_to_upgrade(self, cli_db):
        result = run(DUE, "--dry-run")
        assert result.exit_code == 1 and "db upgrade" in result.output
