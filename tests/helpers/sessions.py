"""Sessions inside a transaction that is rolled back: how a test writes and leaves
nothing behind. A session's commits are savepoints of the outer transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from app.db import make_engine


def savepoint_session(connection: Connection) -> Session:
    """A session on ``connection`` whose commits are savepoints."""
    return Session(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )


@contextmanager
def engine_on(url: str) -> Iterator[Engine]:
    """An engine on the database at ``url`` (already migrated: a copy of the demo,
    say), disposed of at the end."""
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction rolled back at the end."""
    connection = engine.connect()
    transaction = connection.begin()
    try:
        yield connection
    finally:
        transaction.rollback()
        connection.close()


@contextmanager
def rolled_back_session(connection: Connection) -> Iterator[Session]:
    """A session on a connection already in a transaction (one shared by a module's
    tests, say): what it writes is rolled back at the end, the rest is kept."""
    savepoint = connection.begin_nested()
    session = savepoint_session(connection)
    try:
        yield session
    finally:
        session.close()
        savepoint.rollback()
