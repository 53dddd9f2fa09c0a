"""``audit-tools users roles``: on the server, roles are granted directly (admin and
moderator need no second administrator there), logged as the command line; the last
active administrator still keeps the role and stays enabled, and that refusal is
logged too."""

from __future__ import annotations

import getpass

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.access.models import RoleGrantRequest, User
from app.auditlog.models import AuditEvent
from audit_tools.cli import app
from tests.helpers.access import PASSWORD

runner = CliRunner()


@pytest.fixture
def cli_db(cli_migrated_db):
    return cli_migrated_db


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


def _create(email: str, *roles: str):
    flags = [part for role in roles for part in ("--role", role)] + ["--password-stdin"]
    result = run(
        "users", "create", email, "--name", email.split("@")[0], *flags, input=f"{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output


def _roles(cli_db, email: str) -> set[str]:
    with cli_db() as session:
        user = session.scalar(select(User).where(User.email == email))
        return {r.value for r in user.roles}


def _actions(cli_db) -> list[tuple[str, str]]:
    with cli_db() as session:
        return [(e.action, e.user_label) for e in session.scalars(select(AuditEvent))]


class TestRoles:
    def test_grants_admin_and_moderator_directly_as_the_cli(self, cli_db):
        _create("first@example.org", "admin")
        _create("mo@example.org", "scrutineer")
        result = run("users", "roles", "mo@example.org", "--role", "moderator", "--role", "admin")
        assert result.exit_code == 0, result.output
        assert "admin, moderator" in result.output
        assert _roles(cli_db, "mo@example.org") == {"admin", "moderator"}
        with cli_db() as session:
            assert session.scalar(select(RoleGrantRequest)) is None  # nothing to approve
            event = session.scalars(
                select(AuditEvent).where(AuditEvent.action == "user.update")
            ).one()
            assert event.user_label == f"cli:{getpass.getuser()}" and event.user_id is None
            assert event.after["roles"] == ["admin", "moderator"]

    def test_the_last_admin_keeps_the_role_and_the_refusal_is_logged(self, cli_db):
        _create("only@example.org", "admin")
        result = run("users", "roles", "only@example.org", "--role", "scrutineer")
        assert result.exit_code == 1
        assert "last active administrator" in result.output and "Traceback" not in result.output
        assert _roles(cli_db, "only@example.org") == {"admin"}
        disabled = run("users", "disable", "only@example.org")
        assert disabled.exit_code == 1 and "cannot be disabled" in disabled.output
        with cli_db() as session:
            assert session.scalar(select(User.active)) is True
        refused = [a for a, _who in _actions(cli_db) if a == "user.last_admin_refused"]
        assert refused == ["user.last_admin_refused"] * 2

    def test_an_unknown_role_is_refused_in_one_line(self, cli_db):
        _create("a@example.org", "admin")
        result = runner.invoke(app, ["users", "roles", "a@example.org", "--role", "overlord"])
        assert result.exit_code != 0 and "Traceback" not in result.output
