"""``audit-tools users`` and ``audit-tools tokens``, each run against its own new
database, and attributed to the operating-system account in the audit log."""

from __future__ import annotations

import getpass

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.access.models import ApiToken, User, WebSession
from app.access.secrets import digest, verify_password
from app.auditlog.models import AuditEvent
from app.clock import utcnow
from audit_tools.cli import app
from tests.helpers.access import PASSWORD

runner = CliRunner()


@pytest.fixture
def cli_db(cli_migrated_db):
    """The command line's new database, at the newest migration."""
    return cli_migrated_db


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


def _create(email="lead@example.org", *extra: str):
    return run(
        "users", "create", email, "--name", "Lee Lead", "--role", "moderator",
        "--password", PASSWORD, *extra,
    )  # fmt: skip


class TestUsers:
    def test_create_list_and_the_audit_log_names_the_cli(self, cli_db):
        result = _create("Lead@Example.org", "--role", "scrutineer")
        assert result.exit_code == 0, result.output
        assert "lead@example.org" in result.output
        with cli_db() as session:
            user = session.scalar(select(User))
            assert user.email == "lead@example.org"
            assert {r.value for r in user.roles} == {"moderator", "scrutineer"}
            assert verify_password(user.password_hash, PASSWORD)
            event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.create"))
            assert event.user_label == f"cli:{getpass.getuser()}" and event.user_id is None
        listing = run("users", "list")
        assert listing.exit_code == 0
        assert "lead@example.org" in listing.output and "moderator" in listing.output

    def test_an_auditor_needs_an_agency(self, cli_db):
        result = run(
            "users", "create", "a@example.org", "--name", "A", "--role", "auditor",
            "--password", PASSWORD,
        )  # fmt: skip
        assert result.exit_code == 1 and "agency" in result.output
        assert "Traceback" not in result.output

    def test_a_weak_password_is_refused(self, cli_db):
        result = run(
            "users", "create", "a@example.org", "--name", "A", "--role", "admin",
            "--password", "password1234",
        )  # fmt: skip
        assert result.exit_code == 1 and "common" in result.output

    def test_without_a_terminal_nor_a_way_in_nothing_is_created(self, cli_db):
        result = run("users", "create", "a@example.org", "--name", "A", "--role", "admin")
        assert result.exit_code == 1
        assert "--password-stdin" in result.output and "--invite" in result.output
        with cli_db() as session:
            assert session.scalar(select(User)) is None

    def test_at_a_terminal_the_password_is_asked_for_twice(self, cli_db, monkeypatch):
        monkeypatch.setattr("audit_tools.commands.users._interactive", lambda: True)
        result = run(
            "users", "create", "a@example.org", "--name", "A", "--role", "admin",
            input=f"{PASSWORD}\n{PASSWORD}\n",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert PASSWORD not in result.output  # hidden input
        with cli_db() as session:
            assert verify_password(session.scalar(select(User.password_hash)), PASSWORD)

    def test_disable(self, cli_db):
        _create()
        with cli_db() as session, session.begin():
            user = session.scalar(select(User))
            session.add(
                WebSession(
                    token_hash=digest("x"), user_id=user.id, expires_at=utcnow(), client_address=""
                )
            )
        result = run("users", "disable", "lead@example.org")
        assert result.exit_code == 0, result.output
        with cli_db() as session:
            assert session.scalar(select(User.active)) is False
            assert session.scalar(select(WebSession.end_reason)) == "access changed"
        again = run("users", "disable", "lead@example.org")
        assert again.exit_code == 1 and "already disabled" in again.output

    def test_unknown_user_is_one_line(self, cli_db):
        result = run("users", "disable", "nobody@example.org")
        assert result.exit_code == 1 and "There is no user" in result.output

    def test_reset_password_is_prompted_twice(self, cli_db):
        _create()
        new = "another long passphrase 31"
        result = run("users", "reset-password", "lead@example.org", input=f"{new}\n{new}\n")
        assert result.exit_code == 0, result.output
        with cli_db() as session:
            assert verify_password(session.scalar(select(User.password_hash)), new)
        mismatch = run(
            "users", "reset-password", "lead@example.org", input=f"{new}\nother\n{new}\n{new}\n"
        )
        assert mismatch.exit_code == 0 and "do not match" in mismatch.output.lower()


class TestTokens:
    def test_create_prints_the_token_once_and_stores_its_hash(self, cli_db):
        _create()
        result = run("tokens", "create", "lead@example.org", "--name", "nightly", "--days", "7")
        assert result.exit_code == 0, result.output
        plain = [line for line in result.output.split() if line.startswith("cat_")][0]
        with cli_db() as session:
            row = session.scalar(select(ApiToken))
            assert row.token_hash == digest(plain) and row.name == "nightly"
            days = (row.expires_at - row.created_at).days
            assert days == 7 or days == 6
        listing = run("users", "list")
        assert plain not in listing.output

    def test_days_are_limited_by_the_setting(self, cli_db):
        _create()
        result = run("tokens", "create", "lead@example.org", "--name", "x", "--days", "99999")
        assert result.exit_code == 1 and "at most" in result.output

    def test_revoke(self, cli_db):
        _create()
        run("tokens", "create", "lead@example.org", "--name", "x", "--days", "1")
        with cli_db() as session:
            token_id = session.scalar(select(ApiToken.id))
        result = run("tokens", "revoke", str(token_id))
        assert result.exit_code == 0, result.output
        with cli_db() as session:
            assert session.scalar(select(ApiToken.revoked_at)) is not None
            event = session.scalar(select(AuditEvent).where(AuditEvent.action == "token.revoke"))
            assert event.user_label.startswith("cli:")
        assert run("tokens", "revoke", str(token_id)).exit_code == 1
        assert run("tokens", "revoke", "424242").exit_code == 1
