"""Test database set-up: built by the migrations, one rolled-back transaction per test.

``AUDIT_TEST_DB=postgresql`` runs the suite on a throwaway PostgreSQL cluster
(``tests/helpers/pg_cluster.py``), or on ``AUDIT_TEST_DATABASE_URL`` if that is set;
the default is a temporary SQLite file. Under pytest-xdist each worker is a session of
its own: its own SQLite folder, or its own cluster, so workers never share a database.
Tests that need the whole demo partnership get a copy of one loaded once per worker
(``demo_database``).

Also here, for every test: cheap password hashing; ``--clock-ahead=DAYS`` and
``--clock-at=YYYY-MM-DD``, which move the clock (time-machine) for each test and for
the browser tests' live server; and ``--screenshots=DIR``, where the tests that take
the README's screenshots save them (by default a temporary folder: the tests never
write to the checkout).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from unittest import mock

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app import migrate
from app.access.policy import SYSTEM
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker, new_request_session, session_scope
from app.demo import load_demo
from app.main import create_app
from tests.helpers.app_client import AppClient
from tests.helpers.databases import Databases, for_backend
from tests.helpers.sessions import rolled_back, savepoint_session

ROOT = Path(__file__).resolve().parent.parent
BACKEND = os.environ.get("AUDIT_TEST_DB", "sqlite")


def pytest_addoption(parser) -> None:
    group = parser.getgroup("case-audit")
    group.addoption(
        "--clock-ahead",
        type=int,
        default=0,
        metavar="DAYS",
        help="run each test with the clock this many days ahead (proves no test needs today)",
    )
    group.addoption(
        "--clock-at",
        type=date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="run each test with the clock at noon UTC on this day (the screenshots' date)",
    )
    group.addoption(
        "--screenshots",
        type=Path,
        default=None,
        metavar="DIR",
        help="save the README's screenshots here (make screenshots: docs/screenshots)",
    )
    group.addoption(
        "--database-tests-only",
        action="store_true",
        help="leave out the tests that use neither a database nor the browser (they give "
        "the same answer on any database: make test runs them once, on SQLite)",
    )


def pytest_configure(config) -> None:
    # One offset for the whole run, so every test and the live server read one clock.
    offset = timedelta(days=config.getoption("clock_ahead"))
    if config.getoption("clock_at") is not None:
        noon = datetime.combine(config.getoption("clock_at"), time(12), tzinfo=UTC)
        offset = noon - datetime.now(UTC)
    config.stash[CLOCK_OFFSET] = offset


CLOCK_OFFSET = pytest.StashKey[timedelta]()


def clock_offset(config) -> timedelta:
    """How far the tests' clock is moved from the real one (zero unless asked)."""
    return config.stash[CLOCK_OFFSET]


def pytest_collection_modifyitems(config, items) -> None:
    browser = ROOT / "tests" / "browser"
    if config.getoption("database_tests_only"):
        kept, left_out = [], []
        for item in items:
            uses_database = "database_factory" in getattr(item, "fixturenames", ())
            (kept if uses_database or item.path.is_relative_to(browser) else left_out).append(item)
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = kept
    # pytest-xdist (--dist loadfile --no-loadscope-reorder: the Makefile) hands out whole
    # files in this order, each to the next free worker. The longest go first, so that
    # the run ends on short ones with both workers busy to the end: the browser files
    # (in their own order), then the files that build databases of their own (the
    # demo's copies, the command line's), then the rest by how many tests they hold.
    # Each file's tests keep their order.
    tests_in: dict[Path, int] = {}
    builds: set[Path] = set()
    for item in items:
        tests_in[item.path] = tests_in.get(item.path, 0) + 1
        if _builds_a_database(item):
            builds.add(item.path)
    order = {path: n for n, path in enumerate(tests_in)}

    def longest_first(item) -> tuple[int, int, int]:
        if item.path.is_relative_to(browser):
            return (0, 0, order[item.path])
        return (1 if item.path in builds else 2, -tests_in[item.path], order[item.path])

    items.sort(key=longest_first)


# Fixtures that make a database (seconds, where a test's own transaction takes
# milliseconds): a test builds one if it, or a fixture of its own module, asks for one
# of these, or it uses a copy of the demo or the command line's database.
MAKES_DATABASES = {"database_factory", "migrated_database", "migrated_engine", "demo_database"}


def _builds_a_database(item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    if {"demo_database", "cli_db", "cli_migrated_db"} & set(info.names_closure):
        return True
    module = item.nodeid.split("::")[0]
    own = [d for defs in info.name2fixturedefs.values() for d in defs if d.baseid == module]
    return any(
        MAKES_DATABASES & set(names) for names in (info.argnames, *(d.argnames for d in own))
    )


def pytest_report_header(config) -> str:
    moved = clock_offset(config)
    return f"database: {BACKEND}" + (f"; clock moved by {moved}" if moved else "")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    offset = clock_offset(item.config)
    if not offset:
        return (yield)
    import time_machine

    with time_machine.travel(datetime.now(UTC) + offset, tick=True):
        datetime.now(UTC)  # its ticking starts at the first reading (tests/helpers/clocked.py)
        return (yield)


CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def quick_hashing(monkeypatch):
    """Cheap argon2 parameters: no rule under test depends on the cost, and the suite
    creates and signs in many people. (Unknown accounts are checked against a dummy
    hash made by the same hasher: tests/access/test_sign_in.py.)"""
    monkeypatch.setattr("app.access.secrets._hasher", CHEAP_HASHER)


@pytest.fixture(scope="session", autouse=True)
def audit_checkpoints(tmp_path_factory) -> Iterator[Path]:
    """Where the audit log's signed checkpoints go during the run: a temporary file,
    never the checkout's var/ (the default). Every commit that logs appends one, so
    set before any database or app is made; subprocesses (the live server, the
    command line) inherit it. Tests of the checkpoints point their own at tmp_path."""
    path = tmp_path_factory.mktemp("audit-checkpoints") / "audit-checkpoints.log"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUDIT_AUDIT_CHECKPOINT_PATH", str(path))
        # Render workers pause while this worker's own servers answer, not while
        # another worker's do (app/serving.py).
        patch.setenv("AUDIT_RENDER_PAUSE_BOARD", str(path.parent / "serving-board"))
        get_settings.cache_clear()
        yield path
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def screenshots(request, tmp_path_factory) -> Path:
    """Where the screenshot-taking tests save their pictures."""
    folder = request.config.getoption("screenshots") or tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def database_factory() -> Iterator[Databases]:
    """Makes new empty databases on the backend under test (``database_factory()``) and
    copies of one (``database_factory.copy(url)``); removes them at the end."""
    databases = for_backend(BACKEND)
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture(scope="session")
def database_url(migrated_database) -> str:
    return os.environ.get("AUDIT_TEST_DATABASE_URL") or migrated_database()


@pytest.fixture(scope="session")
def migrated_database(database_factory: Databases) -> Callable[[], str]:
    """``migrated_database()``: the URL of a new database at the newest migration. The
    migrations run once per session (per worker) and each call copies that database:
    migrating takes most of a second on PostgreSQL, copying a tenth of one."""
    migrated: list[str] = []

    def copy() -> str:
        if not migrated:
            url = database_factory()
            # A PostgreSQL template must have no connections: the engine goes at once.
            migrate.migrated_engine(url).dispose()
            migrated.append(url)
        return database_factory.copy(migrated[0])

    return copy


@pytest.fixture(scope="session")
def migrated_engine(migrated_database) -> Iterator[Callable[..., Engine]]:
    """The one way the tests get a migrated database: ``migrated_engine()`` makes a new
    one (a copy of the session's migrated database) and ``migrated_engine(url)``
    migrates that one; either returns an engine on it, disposed of at the end of the
    session. (tests/test_migrations.py alone runs the migrations itself, to test them.)"""
    engines: list[Engine] = []

    def make(url: str | None = None) -> Engine:
        engines.append(migrate.migrated_engine(url) if url else make_engine(migrated_database()))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()


def _render_here(html: str, title: str, timeout: float = 120) -> bytes:
    from app.briefings import render

    return render.render_pdf(html, title=title)


@pytest.fixture(scope="session")
def demo_database(database_factory: Databases, migrated_database) -> Callable[[], str]:
    """``demo_database()``: the URL of a new database holding the demo partnership, for
    tests that read or drive the whole demo. The demo is loaded once per session (per
    worker), on the session's clock, and each call copies it: loading takes seconds,
    copying a fraction of one. (tests/audit_tools/test_cli.py still loads it through
    ``audit-tools demo``, which is what it tests.)"""
    loaded: list[str] = []

    def copy() -> str:
        if not loaded:
            url = migrated_database()
            engine = make_engine(url)
            try:
                with (
                    mock.patch("app.access.secrets._hasher", CHEAP_HASHER),
                    # The demo briefing's PDF is rendered here rather than in a new
                    # interpreter (the same render_pdf; the command line's worker is
                    # tested in tests/briefings/test_render.py).
                    mock.patch("app.briefings.render.render_in_worker", _render_here),
                    session_scope(make_sessionmaker(engine)) as session,
                ):
                    load_demo(session)
            finally:
                engine.dispose()  # a PostgreSQL template must have no connections
            loaded.append(url)
        return database_factory.copy(loaded[0])

    return copy


@pytest.fixture(scope="session")
def engine(database_url: str, migrated_engine) -> Engine:
    """The session's shared database, in which each test's transaction is rolled back."""
    return migrated_engine(database_url)


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session whose commits are savepoints inside a transaction rolled back after the test."""
    with rolled_back(engine) as connection:
        session = savepoint_session(connection)
        try:
            yield session
        finally:
            session.close()


@pytest.fixture(scope="session")
def app(database_url: str):
    # The tests' one shared transaction would keep the background renderer waiting.
    return create_app(
        Settings(
            database_url=database_url,
            environment="test",
            render_in_background=False,
            audit_log_seal_seconds=0,
        )
    )


@pytest.fixture
def client(app, db: Session, monkeypatch) -> Iterator[AppClient]:
    """The API as the system itself (every permission, every object): for tests of the
    domain rules. Tests of who may do what use ``tests/access`` fixtures, which sign
    in for real."""
    monkeypatch.setattr("app.deps.authenticate", lambda *_args: SYSTEM)
    yield from _client(app, db)


@pytest.fixture
def anonymous_client(app, db: Session) -> Iterator[AppClient]:
    """The API with real authentication: pass credentials per request."""
    yield from _client(app, db)


def _client(app, db: Session) -> Iterator[AppClient]:
    @asynccontextmanager
    async def lend(_request) -> AsyncIterator[Session]:
        # Each request gets the test's own session, not closed after it:
        # app.deps.transactional commits or rolls back, here its savepoints.
        yield db

    app.state.request_session = lend
    try:
        with AppClient(app, raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        app.state.request_session = new_request_session
