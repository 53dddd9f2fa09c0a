"""Test database set-up: built by the migrations, one rolled-back transaction per test.

``AUDIT_TEST_DB=postgresql`` runs the suite on a throwaway PostgreSQL cluster
(``tests/helpers/pg_cluster.py``), or on ``AUDIT_TEST_DATABASE_URL`` if that is set;
the default is a temporary SQLite file.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.access.policy import SYSTEM
from app.config import Settings
from app.db import get_session, make_engine
from app.main import create_app
from app.migrate import alembic_config

ROOT = Path(__file__).resolve().parent.parent
BACKEND = os.environ.get("AUDIT_TEST_DB", "sqlite")


def pytest_report_header(config) -> str:
    return f"database: {BACKEND}"


@pytest.fixture(scope="session")
def database_factory() -> Iterator:
    """Makes new empty databases on the backend under test; removes them at the end."""
    counter = itertools.count(1)
    if BACKEND == "postgresql":
        from tests.helpers import pg_cluster

        cluster = pg_cluster.start()
        try:
            yield lambda: cluster.create_database(f"case_audit_test_{next(counter)}")
        finally:
            cluster.stop()
    else:
        folder = tempfile.TemporaryDirectory(prefix="case-audit-test-")
        yield lambda: f"sqlite:///{folder.name}/test_{next(counter)}.db"
        folder.cleanup()


@pytest.fixture(scope="session")
def database_url(database_factory) -> str:
    return os.environ.get("AUDIT_TEST_DATABASE_URL") or database_factory()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session whose commits are savepoints inside a transaction rolled back after the test."""
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture(scope="session")
def app(database_url: str):
    # The tests' one shared transaction would keep the background renderer waiting.
    return create_app(
        Settings(database_url=database_url, environment="test", render_in_background=False)
    )


@pytest.fixture
def client(app, db: Session, monkeypatch) -> Iterator[TestClient]:
    """The API as the system itself (every permission, every object): for tests of the
    domain rules. Tests of who may do what use ``tests/access`` fixtures, which sign
    in for real."""
    monkeypatch.setattr("app.deps.authenticate", lambda *_args: SYSTEM)
    yield from _client(app, db)


@pytest.fixture
def anonymous_client(app, db: Session) -> Iterator[TestClient]:
    """The API with real authentication: pass credentials per request."""
    yield from _client(app, db)


def _client(app, db: Session) -> Iterator[TestClient]:
    def _session() -> Iterator[Session]:
        # app.deps.transactional commits or rolls back; on the test's session those
        # are its savepoints.
        yield db

    app.dependency_overrides[get_session] = _session
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    app.dependency_overrides.clear()
