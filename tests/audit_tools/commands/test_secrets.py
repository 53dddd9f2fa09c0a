"""``audit-tools secrets new-key`` and ``rotate``: rotating the data keys that encrypt
authenticator secrets, each run against its own new database."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from typer.testing import CliRunner

from app import crypto
from app.access.models import User
from app.config import get_settings
from audit_tools.cli import app
from tests.audit_tools.commands.conftest import KEY_A, KEY_B

runner = CliRunner()
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # pyotp's documentation's example


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def enrolled(cli_migrated_db, keys):
    """One account whose authenticator secret was written under key A."""
    keys(KEY_A)
    with cli_migrated_db() as session:
        session.add(User(email="a@example.org", display_name="A", totp_secret=SECRET))
        session.commit()
    return cli_migrated_db


def stored(sessions) -> str:
    with sessions() as session:
        return session.scalar(text("SELECT totp_secret FROM app_user"))


class TestRotate:
    def test_new_key_then_rotate_then_the_old_key_goes(self, enrolled, keys):
        printed = run("secrets", "new-key")
        assert printed.exit_code == 0
        value = printed.stdout.strip().removeprefix("AUDIT_DATA_KEYS=")
        new, old = value.split(",")
        assert old == KEY_A and Fernet(new.encode())
        keys(value)
        result = run("secrets", "rotate")
        assert result.exit_code == 0 and "1 authenticator secrets" in result.output
        keys(new)
        with enrolled() as session:
            assert session.scalar(select(User.totp_secret)) == SECRET

    def test_without_data_keys_new_key_keeps_the_derived_one(self, cli_migrated_db, keys):
        keys("")
        value = run("secrets", "new-key").stdout.strip().removeprefix("AUDIT_DATA_KEYS=")
        derived = crypto.derived_key(get_settings().secret_key).decode()
        assert value.split(",")[1:] == [derived]

    def test_rotate_refuses_when_a_secret_opens_under_no_key(self, enrolled, keys):
        before = stored(enrolled)
        keys(KEY_B)
        result = run("secrets", "rotate")
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "put back the key" in " ".join(result.output.split())
        assert stored(enrolled) == before

    def test_a_command_that_reads_a_secret_under_the_wrong_key_says_so(self, enrolled, keys):
        keys(KEY_B)
        result = run("users", "list")
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "cannot be opened with any key" in " ".join(result.output.split())
