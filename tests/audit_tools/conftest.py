"""Fixtures for the command line's tests."""

from __future__ import annotations

import pytest

from app.config import get_settings
from app.db import make_engine, make_sessionmaker


@pytest.fixture
def cli_db(database_factory, monkeypatch):
    """A new empty database of its own for the command line: a session factory on it."""
    url = database_factory()
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()
    get_settings.cache_clear()
