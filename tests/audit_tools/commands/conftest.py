"""Data keys for the commands that encrypt (backup, restore, secrets): made for this
run, never anyone's."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from app.config import get_settings

KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def settings_restored(monkeypatch):
    """The environment as it was, and the settings read from it again, after each test
    (they change DATABASE_URL and AUDIT_DATA_KEYS)."""
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def keys(monkeypatch):
    """``keys("B,A")``: the data keys the commands use from now on (key A to start)."""

    def use(value: str) -> None:
        monkeypatch.setenv("AUDIT_DATA_KEYS", value)
        get_settings.cache_clear()

    use(KEY_A)
    return use
