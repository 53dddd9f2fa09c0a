"""Authenticator secrets encrypted at rest (app/crypto.py, ``EncryptedString``), the
migration that encrypts those already stored, and rotating the data keys."""

from __future__ import annotations

import pyotp
import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from app import crypto
from app.access import sealed
from app.access.models import Role, User
from app.config import get_settings
from app.db import make_engine
from app.migrate import alembic_config
from tests.helpers.access import sign_in

KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()
BEFORE = "5d2f0b8c3e21"  # the migration before secrets were encrypted


@pytest.fixture
def keys(monkeypatch):
    """``keys("B,A")``: the data keys from now on (AUDIT_DATA_KEYS, as deployed)."""

    def use(value: str) -> None:
        monkeypatch.setenv("AUDIT_DATA_KEYS", value)
        get_settings.cache_clear()

    yield use
    monkeypatch.undo()
    get_settings.cache_clear()


def stored(db, user: User) -> str:
    """The column as the database holds it."""
    return db.execute(
        text("SELECT totp_secret FROM app_user WHERE id = :id"), {"id": user.id}
    ).scalar_one()


class TestStored:
    def test_the_database_holds_only_ciphertext(self, db, make_user, police):
        user = make_user(roles=(Role.AUDITOR,), agency=police)
        secret = user.totp_secret
        value = stored(db, user)
        assert value.startswith("fernet:") and secret not in value
        db.expire_all()
        assert db.get(User, user.id).totp_secret == secret

    def test_a_plain_secret_written_around_the_service_is_not_used(self, db, make_user, police):
        user_id = make_user(roles=(Role.AUDITOR,), agency=police).id
        db.execute(
            text("UPDATE app_user SET totp_secret = 'JBSWY3DPEHPK3PXP' WHERE id = :id"),
            {"id": user_id},
        )
        db.expire_all()
        with pytest.raises(crypto.DataKeyError, match="plain text"):
            db.scalar(select(User).where(User.id == user_id))
        assert user_id in sealed.check(db).unreadable


class TestRotation:
    def test_a_secret_of_key_a_works_under_b_a_and_after_rotating_under_b_alone(
        self, db, web, make_user, police, keys
    ):
        keys(KEY_A)
        user = make_user(roles=(Role.AUDITOR,), agency=police)
        assert crypto.key_number(stored(db, user)[7:].encode()) == 1

        keys(f"{KEY_B},{KEY_A}")  # a new key first: the old one still opens
        db.expire_all()
        sign_in(web, user)
        assert sealed.rotate(db) >= 1
        db.commit()
        assert crypto.key_number(stored(db, user)[7:].encode()) == 1  # now B's

        keys(KEY_B)  # the old key gone
        db.expire_all()
        web.cookies.clear()
        sign_in(web, user)

        keys(KEY_A)  # and A alone no longer opens it: it was encrypted again
        assert user.id in sealed.check(db).unreadable

    def test_rotating_changes_nothing_when_a_secret_opens_under_no_key(
        self, db, make_user, police, keys
    ):
        keys(KEY_A)
        user = make_user(roles=(Role.AUDITOR,), agency=police)
        before = stored(db, user)
        keys(KEY_B)
        with pytest.raises(crypto.DataKeyError, match="put back the key"):
            sealed.rotate(db)
        assert stored(db, user) == before


class TestMigration:
    def test_plain_secrets_are_encrypted_and_decrypted_again_going_back(self, database_factory):
        engine = make_engine(database_factory())
        secret = pyotp.random_base32()
        try:
            with engine.begin() as connection:
                command.upgrade(alembic_config(connection), BEFORE)
                connection.execute(
                    text(
                        "INSERT INTO app_user (email, display_name, active, created_at, "
                        "totp_secret) VALUES ('x@example.org', 'X', true, "
                        "CURRENT_TIMESTAMP, :secret)"
                    ),
                    {"secret": secret},
                )
            with engine.begin() as connection:
                command.upgrade(alembic_config(connection), "head")
            with engine.connect() as connection:
                value = connection.scalar(text("SELECT totp_secret FROM app_user"))
                assert value.startswith("fernet:") and crypto.unseal(value) == secret
                assert connection.scalar(select(User.totp_secret)) == secret
            with engine.begin() as connection:
                command.downgrade(alembic_config(connection), BEFORE)
            with engine.connect() as connection:
                assert connection.scalar(text("SELECT totp_secret FROM app_user")) == secret
        finally:
            engine.dispose()
