"""``audit-tools accounts disable-inactive [--dry-run]`` on a pinned clock, against a
database of its own: the dry run lists whom it would tell and changes nothing; the
real run tells them once; 14 days later it disables them, never the last
administrator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select
from typer.testing import CliRunner

from app.access import service as access
from app.access.models import Role, User
from app.notifications.models import Notification
from audit_tools.cli import app

runner = CliRunner()
MADE = datetime(2027, 1, 4, 12, tzinfo=UTC)


def run(days: int, *args: str):
    with time_machine.travel(MADE + timedelta(days=days), tick=False):
        return runner.invoke(app, ["accounts", "disable-inactive", *args], catch_exceptions=False)


def test_dry_run_then_notice_then_disable(cli_migrated_db):
    with time_machine.travel(MADE, tick=False), cli_migrated_db() as session:
        for email, role in (
            ("pat@example.org", Role.PRACTITIONER),
            ("ada@example.org", Role.ADMIN),
        ):
            access.create_user(session, email=email, display_name=email[:3].title(), roles={role})
        session.commit()

    def state() -> tuple[list, int]:
        with cli_migrated_db() as session:
            users = session.execute(select(User.email, User.active).order_by(User.email)).all()
            return [tuple(u) for u in users], len(session.scalars(select(Notification)).all())

    before = state()
    dry = run(76, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "2 people would be told that their account will be disabled on 4 April 2027" in (
        dry.output
    )
    assert "pat@example.org (Pat), last used 4 January 2027" in dry.output
    assert "Dry run: nothing was changed." in dry.output
    assert state() == before

    told = run(76)
    assert told.exit_code == 0, told.output
    assert "2 people were told" in told.output and "0 accounts were disabled" in told.output
    assert state()[1] == 2
    assert "0 people were told" in run(77).output  # once

    disabled = run(90)
    assert disabled.exit_code == 0, disabled.output
    assert "1 account was disabled for not being used:\n  pat@example.org" in disabled.output
    assert "Kept although unused, as the last active administrator:\n  ada@example.org" in (
        disabled.output
    )
    assert state()[0] == [("ada@example.org", True), ("pat@example.org", False)]
