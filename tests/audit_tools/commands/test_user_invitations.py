"""``audit-tools users``: no account without a way in. ``create`` without a terminal
refuses unless given ``--password-stdin`` or ``--invite``; ``invite`` e-mails a one-time
link; ``import`` checks a CSV file, prints each row's problem and, if any row has one,
writes nothing (exit 1)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.access.models import AccountLink, User
from app.access.secrets import verify_password
from app.agencies.models import Agency, AgencyKind
from app.auditlog.models import AuditEvent
from app.notifications.models import Notification
from audit_tools.cli import app
from tests.helpers.access import PASSWORD

runner = CliRunner()


@pytest.fixture
def cli_db(cli_migrated_db):
    return cli_migrated_db


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


def _counts(cli_db) -> tuple[int, int, int]:
    with cli_db() as session:
        return tuple(
            session.scalar(select(func.count(model.id)))
            for model in (User, AccountLink, Notification)
        )


PERSON = ("a@example.org", "--name", "Alex Able", "--role", "practitioner")


class TestCreate:
    def test_without_a_terminal_it_refuses_and_makes_nothing(self, cli_db):
        result = run("users", "create", *PERSON)
        assert result.exit_code == 1
        assert "--password-stdin" in result.output and "--invite" in result.output
        assert _counts(cli_db) == (0, 0, 0)

    def test_the_password_from_standard_input(self, cli_db):
        result = run("users", "create", *PERSON, "--password-stdin", input=f"{PASSWORD}\n")
        assert result.exit_code == 0, result.output
        assert PASSWORD not in result.output
        with cli_db() as session:
            assert verify_password(session.scalar(select(User.password_hash)), PASSWORD)

    def test_an_empty_standard_input_is_refused(self, cli_db):
        result = run("users", "create", *PERSON, "--password-stdin", input="")
        assert result.exit_code == 1 and "No password was read" in result.output
        assert _counts(cli_db) == (0, 0, 0)

    def test_with_invite_it_emails_a_link_instead(self, cli_db):
        result = run("users", "create", *PERSON, "--invite")
        assert result.exit_code == 0, result.output
        assert "Invited a@example.org" in result.output
        with cli_db() as session:
            user = session.scalar(select(User))
            assert user.password_hash is None
            (sent,) = session.scalars(select(Notification)).all()
            assert sent.kind == "invitation" and sent.email == "a@example.org"
            assert "/invitation/" in sent.body
            event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.invite"))
            assert event.user_label.startswith("cli:")

    def test_one_way_in_at_a_time(self, cli_db):
        result = run("users", "create", *PERSON, "--invite", "--password-stdin", input="x\n")
        assert result.exit_code == 1 and _counts(cli_db) == (0, 0, 0)


class TestInvite:
    def test_invites_and_again_sends_a_fresh_link(self, cli_db):
        first = run("users", "invite", *PERSON)
        assert first.exit_code == 0, first.output
        again = run("users", "invite", *PERSON)
        assert again.exit_code == 0 and "fresh invitation" in again.output
        with cli_db() as session:
            assert session.scalar(select(func.count(User.id))) == 1
            links = session.scalars(select(AccountLink).order_by(AccountLink.id)).all()
            assert [link.used_at is None for link in links] == [False, True]  # the older voided

    def test_admin_is_granted_directly_on_the_server(self, cli_db):
        result = run("users", "invite", "b@example.org", "--name", "B", "--role", "admin")
        assert result.exit_code == 0, result.output
        with cli_db() as session:
            assert {r.value for r in session.scalar(select(User)).roles} == {"admin"}

    def test_an_auditor_needs_an_agency(self, cli_db):
        result = run("users", "invite", "c@example.org", "--name", "C", "--role", "auditor")
        assert result.exit_code == 1 and "agency" in result.output
        assert _counts(cli_db) == (0, 0, 0)


@pytest.fixture
def police(cli_db):
    with cli_db() as session, session.begin():
        session.add(Agency(name="Westshire Police", kind=AgencyKind.POLICE))


GOOD = "name,email,agency,roles\nPriya Shah,priya@example.org,Westshire Police,auditor\n"


class TestImport:
    def test_a_bad_row_is_printed_and_nothing_is_written(self, cli_db, police, tmp_path):
        file = tmp_path / "people.csv"
        file.write_text(GOOD + "Sam Stray,sam@example.org,Nowhere Trust,auditor\n")
        for dry_run in ([], ["--dry-run"]):
            result = run("users", "import", str(file), *dry_run)
            assert result.exit_code == 1
            assert "row 3 sam@example.org: There is no agency called 'Nowhere Trust'" in (
                result.output
            )
            assert "nobody was invited" in result.output
            assert _counts(cli_db) == (0, 0, 0)

    def test_a_dry_run_writes_nothing_then_everyone_is_invited(self, cli_db, police, tmp_path):
        file = tmp_path / "people.csv"
        file.write_text(GOOD + "Pat Reader,pat@example.org,,practitioner\n")
        dry = run("users", "import", str(file), "--dry-run")
        assert dry.exit_code == 0 and "All 2 rows can be invited" in dry.output
        assert _counts(cli_db) == (0, 0, 0)
        sent = run("users", "import", str(file))
        assert sent.exit_code == 0 and "Invited 2 people" in sent.output
        assert _counts(cli_db) == (2, 2, 2)

    def test_a_file_that_is_not_csv_text(self, cli_db, tmp_path):
        file = tmp_path / "people.csv"
        file.write_bytes(b"\xff\xfe\x00")
        result = run("users", "import", str(file))
        assert result.exit_code == 1 and "UTF-8" in result.output
