"""Fixtures for the command line's tests."""

from __future__ import annotations

import pytest

from app.config import get_settings
from app.db import make_sessionmaker
from tests.helpers.sessions import engine_on


@pytest.fixture
def cli_db(database_factory, monkeypatch, tmp_path):
    """A new empty database of its own for the command line: a session factory on it."""
    yield from _on(database_factory(), monkeypatch, tmp_path)


@pytest.fixture
def cli_migrated_db(migrated_database, monkeypatch, tmp_path):
    """A new database of its own at the newest migration, for the commands that need one
    (``audit-tools db upgrade`` itself is tested in test_cli.py): a session factory."""
    yield from _on(migrated_database(), monkeypatch, tmp_path)


@pytest.fixture
def cli_demo_db(demo_database, monkeypatch, tmp_path):
    """A copy of the demo partnership of its own for the command line (loading the demo
    through the command line is tested once, in test_cli.py): a session factory on it."""
    yield from _on(demo_database(), monkeypatch, tmp_path)


def _on(url: str, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", url)
    # The audit log's checkpoints of this database alone (not the run's shared file,
    # which holds every database's): what ``audit-log verify`` checks against.
    monkeypatch.setenv("AUDIT_AUDIT_CHECKPOINT_PATH", str(tmp_path / "audit-checkpoints.log"))
    get_settings.cache_clear()
    with engine_on(url) as engine:
        yield make_sessionmaker(engine)
    get_settings.cache_clear()
