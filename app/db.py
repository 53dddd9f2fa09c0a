"""Engine, declarative base and sessions.

One request is one transaction, ended in one place (``app.deps.transactional``):
committed when the endpoint succeeds, rolled back when it raises or refuses, so a
rule violation half way through a change leaves nothing behind. Services only
``flush()``. The CLI and scripts use ``session_scope``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from fastapi import Request
from sqlalchemy import CursorResult, DateTime, Engine, Enum, MetaData, Result, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from starlette.concurrency import run_in_threadpool

from app.errors import NotFound

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both databases.

    SQLite has no timezone type and hands back naive values; storing naive UTC and
    re-attaching UTC on the way out means comparisons and JSON are the same on both.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def str_enum(enum: type[StrEnum], name: str) -> Enum:
    """Store a StrEnum by value, as a VARCHAR with a CHECK on both databases."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


M = TypeVar("M", bound=Base)


def get_or_404(session: Session, model: type[M], ident: int, *, what: str) -> M:
    """The ``model`` row with primary key ``ident``, or NotFound: "There is no {what}
    with id {ident}." Services return what they look up, never an Optional to check."""
    found = session.get(model, ident)
    if found is None:
        raise NotFound(f"There is no {what} with id {ident}.")
    return found


def rows_matched(result: Result) -> int:
    """How many rows an UPDATE or DELETE run by ``Session.execute`` matched. The session
    types what it returns as a plain Result; for those statements it is a CursorResult,
    which has the count."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} has no row count: not an UPDATE or DELETE")
    return result.rowcount


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Build the engine for ``url``; SQLite gets foreign keys, WAL and real transactions."""
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 15},
            pool_size=20,
            max_overflow=20,
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
    return engine


# A pooled connection idle this long is tested before it is lent (a restarted database
# server, a network device that dropped it); a busy one is not: SQLAlchemy's own
# pool_pre_ping costs a round trip on every checkout, two per request that writes after
# its read.
PING_AFTER_IDLE_SECONDS = 10.0
_USED_AT = "case_audit_used_at"


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _used(_dbapi_connection, record) -> None:
        record.info[_USED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, _proxy) -> None:
        used_at = record.info.get(_USED_AT)
        if used_at is None or time.monotonic() - used_at < PING_AFTER_IDLE_SECONDS:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:  # any failure: the pool retries with a new connection
            raise DisconnectionError("an idle pooled connection no longer answers") from exc


SQLITE_BEGIN = "sqlite_begin"
WRITER_ATTR = "_case_audit_sqlite_writer"


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; the
    # SQLAlchemy-documented recipe takes it over so that tests can roll back each
    # test inside a savepoint exactly as on PostgreSQL.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA busy_timeout = 15000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # A write transaction takes SQLite's write lock up front (BEGIN IMMEDIATE):
        # a deferred one that reads first and writes later fails at once with
        # "database is locked" when another writer got in between, instead of
        # waiting its turn. Only pure reads (scripts, tests) stay deferred.
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    # The same pool and events, with the option the "begin" listener reads; kept on
    # the engine so it lives and dies with it.
    setattr(engine, WRITER_ATTR, engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}))


# --- reads that do not write ---------------------------------------------------------
#
# A request that changes nothing (GET, HEAD) runs in a read transaction: on SQLite a
# deferred one, which never waits for or holds the database's one write lock. What such
# a request must still record (a credential's last use, a session ended for sitting
# idle, the audit log's row for a return read, a flash message shown) is handed to
# ``after_read``, and written in a short write transaction of its own once the read's
# has ended, before the response is sent (app.deps). Anything else a read tries to
# write is a mistake in the code, refused at once (``ReadOnlyRequest``), never a write
# that SQLite would refuse only under load: a deferred transaction that has read cannot
# take the write lock once another writer has committed.

AFTER_READ = "case_audit_after_read"
Write = Callable[[Session], object]  # what it returns is not used


class ReadOnlyRequest(RuntimeError):
    """A read request (GET, HEAD) tried to change the database other than through
    ``after_read``: a route that really changes something on GET must say so
    (``@transactional(writes=True)``)."""


def after_read(session: Session, write: Write) -> None:
    """Write now, or, in a read request, once its read transaction has ended. ``write``
    runs one statement, a record complete by itself: on PostgreSQL a read request's
    writes each commit by themselves (``end_read``)."""
    waiting: list[Write] | None = session.info.get(AFTER_READ)
    if waiting is None:
        write(session)
    else:
        waiting.append(write)


def reading(session: Session) -> bool:
    """Whether the session is a read request's, whose writes wait (``after_read``)."""
    return AFTER_READ in session.info


@contextmanager
def read_request(session: Session) -> Iterator[list[Write]]:
    """Mark the session as a read request's for the ``with`` block; yield the writes
    handed to ``after_read`` meanwhile.

    On PostgreSQL a read request runs without a transaction (autocommit): under READ
    COMMITTED, its default, every statement in a transaction sees the data committed
    when it began anyway, so a read loses nothing, and saves the BEGIN and COMMIT round
    trips. A session bound to a connection already in a transaction (a test's) carries
    on in it."""
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name != "sqlite" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    waiting: list[Write] = []
    session.info[AFTER_READ] = waiting
    try:
        yield waiting
    finally:
        session.info.pop(AFTER_READ, None)


def end_read(session: Session, waiting: list[Write], *, failed: bool) -> None:
    """End a read request's transaction, and write what it recorded (``waiting``) and
    commit. On PostgreSQL the writes go on the read's connection, without a transaction
    (``read_request``): each is one statement, a record complete by itself (a last use,
    a log row, a flash cleared), so each commits by itself, with no BEGIN or COMMIT to
    wait for. On SQLite they go in a transaction of their own, begun as a writer's once
    the read's has ended, so the read never took the write lock. After a failed read,
    always in one of their own."""
    if failed:
        session.rollback()
    elif not waiting or session.get_bind().dialect.name == "sqlite":
        session.commit()  # a read's: nothing to write, so nothing expires
    if waiting:
        begin_writing(session)
        for write in waiting:
            write(session)
        session.commit()


def begin_writing(session: Session) -> None:
    """Begin the session's transaction as a writer's: on SQLite, BEGIN IMMEDIATE, which
    waits its turn for the write lock rather than failing part-way (``_configure_sqlite``).
    A session already in a transaction (a test's, lent to its requests) carries on in it."""
    if not session.in_transaction():
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})


@event.listens_for(Session, "before_flush")
def _no_flush_in_a_read(session: Session, _context, _instances) -> None:
    if reading(session) and (session.new or session.deleted or session.dirty):
        changed = [type(o).__name__ for o in (*session.new, *session.dirty, *session.deleted)]
        raise ReadOnlyRequest(
            f"A read request tried to save changes to {', '.join(sorted(set(changed)))}: "
            "write through app.db.after_read, or declare the route @transactional(writes=True)."
        )


@event.listens_for(Session, "do_orm_execute")
def _no_statement_in_a_read(state) -> None:
    if reading(state.session) and (state.is_insert or state.is_update or state.is_delete):
        raise ReadOnlyRequest(
            "A read request tried to run an INSERT, UPDATE or DELETE: write through "
            "app.db.after_read, or declare the route @transactional(writes=True)."
        )


def open_session(factory: sessionmaker[Session], *, write: bool) -> Session:
    """A new session (no I/O until first used); on SQLite a writer begins IMMEDIATE."""
    writer = getattr(factory.kw["bind"], WRITER_ATTR, None)
    if write and writer is not None:
        return factory(bind=writer)
    return factory()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def new_request_session(request: Request) -> AsyncIterator[Session]:
    """A request's own session, closed at the end of the request. Nothing here commits:
    the request's one transaction is ended by ``app.deps.transactional``, which commits
    or rolls back in the same thread trip as the endpoint. Async, because creating a
    session does no I/O."""
    # Opened as a reader: ``app.deps.transactional`` begins a request that writes as a
    # writer (``begin_writing``); a read (GET, HEAD) stays a reader, and what it records
    # is written after its read transaction ends (``after_read``).
    session = open_session(request.app.state.sessionmaker, write=False)
    try:
        yield session
    finally:
        if session.in_transaction():  # only if an endpoint was not @transactional
            await run_in_threadpool(session.rollback)
        session.close()


# Where each request's session comes from (``app.state.request_session``).
RequestSession = Callable[[Request], AbstractAsyncContextManager[Session]]


async def get_session(request: Request) -> AsyncIterator[Session]:
    """FastAPI dependency: the request's session, from ``app.state.request_session``
    (``new_request_session``; the tests lend each request their own session there).
    Not FastAPI's ``dependency_overrides``: while any override is set, FastAPI reads
    every dependency's signature again on every request (fastapi 0.165,
    ``solve_dependencies``): a third or more of a test request's time."""
    provide: RequestSession = request.app.state.request_session
    async with provide(request) as session:
        yield session


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """The same unit of work for the CLI and scripts (which write, so begin as writers)."""
    session = open_session(factory, write=True)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
