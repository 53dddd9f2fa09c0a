"""Reads that do not write: a GET runs in a read transaction, and writes only what it
must record (app.db.after_read), after its read and before its response.

The shared-transaction tests cannot show what a read does to the database's locks, so
the tests here that need real connections run the real unit of work against a
database of their own, as tests/test_concurrency.py does.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, func, select, update

from app.access import service as access
from app.access.models import ApiToken, Role
from app.agencies.models import Agency
from app.auditlog.models import AuditEvent, PendingEvent
from app.config import Settings
from app.db import ReadOnlyRequest, after_read, make_sessionmaker, session_scope
from app.deps import one_read
from app.main import create_app
from app.returns.models import Return
from tests.helpers.factories import make_audit

API = "/api/v1"
NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def served(migrated_engine):
    """A database of the test's own with an audit and a moderator's API token, and the
    app serving it with its real unit of work (no shared transaction)."""
    engine = migrated_engine()
    url = engine.url.render_as_string(hide_password=False)
    with session_scope(make_sessionmaker(engine)) as session:
        audit = make_audit(session, children=1, agencies_count=1)
        reader = access.create_user(
            session,
            email="moderator@example.org",
            display_name="Moderator",
            roles={Role.MODERATOR},
        )
        _token, plain = access.create_token(session, user=reader, name="test", days=30)
        return_id = session.scalar(select(Return.id).where(Return.audit_id == audit.id))
    app = create_app(Settings(database_url=url, environment="test", audit_log_seal_seconds=0))
    with TestClient(app, headers={"Authorization": f"Bearer {plain}"}) as client:
        yield client, engine, return_id
    app.state.engine.dispose()


def test_a_read_neither_takes_nor_waits_for_sqlites_write_lock(served):
    client, engine, _return_id = served
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's readers never wait for its writers")
    with time_machine.travel(NINE, tick=False):
        assert client.get(f"{API}/audits").status_code == 200  # the token's use recorded
        writer = create_engine(engine.url, connect_args={"timeout": 30})
        with writer.connect() as other:
            other.exec_driver_sql("BEGIN IMMEDIATE")  # someone else is writing
            started = time.monotonic()
            listed = client.get(f"{API}/audits")
            waited = time.monotonic() - started
            other.exec_driver_sql("ROLLBACK")
        writer.dispose()
    assert listed.status_code == 200
    # A writer's BEGIN IMMEDIATE would have waited 15 s for the lock, then failed.
    assert waited < 5


def test_a_return_read_is_committed_before_its_response_is_sent(served):
    client, engine, return_id = served
    assert client.get(f"{API}/returns/{return_id}").status_code == 200
    # Another connection sees the read's row the moment the response has arrived.
    with engine.connect() as other:
        waiting = other.execute(
            select(PendingEvent.action, PendingEvent.object_id, PendingEvent.user_label)
        ).all()
    assert [tuple(row) for row in waiting] == [("return.read", return_id, "moderator@example.org")]


def test_a_read_on_postgresql_runs_without_a_transaction_and_a_change_in_one(served):
    client, engine, return_id = served
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite's reads run in a deferred read transaction (test above)")
    autocommit: list[bool] = []

    def seen(conn, _cursor, _statement, _parameters, _context, _executemany) -> None:
        autocommit.append(conn.connection.driver_connection.autocommit)

    (token,) = client.get(f"{API}/auth/tokens").json()
    served_engine = client.app.state.engine
    event.listen(served_engine, "before_cursor_execute", seen)
    try:
        # A return read: its reads, then its log row, each without BEGIN or COMMIT.
        assert client.get(f"{API}/returns/{return_id}").status_code == 200
        read = list(autocommit)
        autocommit.clear()
        # A change runs in one transaction, as ever: the token revoking itself.
        revoked = client.delete(f"{API}/auth/tokens/{token['id']}")
    finally:
        event.remove(served_engine, "before_cursor_execute", seen)
    assert len(read) >= 3 and all(read)
    assert revoked.status_code == 204, revoked.text
    assert autocommit and not any(autocommit)


def test_a_credentials_last_use_is_written_at_most_once_a_minute(served):
    client, engine, _return_id = served

    def last_used() -> datetime | None:
        with engine.connect() as other:
            return other.scalar(select(func.max(ApiToken.last_used_at)))

    with time_machine.travel(NINE, tick=False) as traveller:
        client.get(f"{API}/audits")
        assert last_used() == NINE
        traveller.move_to(NINE + timedelta(seconds=59))
        client.get(f"{API}/audits")
        assert last_used() == NINE
        traveller.move_to(NINE + timedelta(seconds=61))
        client.get(f"{API}/audits")
        assert last_used() == NINE + timedelta(seconds=61)


def test_a_read_that_tries_to_change_anything_is_refused_and_writes_nothing(db):
    def adds() -> None:
        db.add(Agency(name="Written by a read", kind="police"))
        db.flush()

    def updates() -> None:
        db.execute(update(Agency).values(name="Renamed by a read"))

    before = db.scalars(select(Agency.name).order_by(Agency.id)).all()
    for work in (adds, updates):
        with pytest.raises(ReadOnlyRequest, match="after_read"):
            one_read(db, work)
    assert db.scalars(select(Agency.name).order_by(Agency.id)).all() == before


def test_what_a_read_records_is_written_even_when_the_read_fails(db):
    # A read that fails part-way after recording (a return read, say) keeps the row:
    # the read may have begun to be answered.
    recorded: list[str] = []

    def fails() -> None:
        after_read(db, lambda s: recorded.append("written"))
        raise LookupError("the read failed")

    with pytest.raises(LookupError):
        one_read(db, fails)
    assert recorded == ["written"]


def test_nothing_is_chained_by_a_read_itself(served):
    client, engine, return_id = served
    with engine.connect() as other:
        chained_before = other.scalar(select(func.count(AuditEvent.id)))
    client.get(f"{API}/returns/{return_id}")
    with engine.connect() as other:
        assert other.scalar(select(func.count(AuditEvent.id))) == chained_before
        assert other.scalar(select(func.count(PendingEvent.id))) == 1


def test_the_rows_a_read_records_are_written_in_one_statement_in_order(db):
    """The meeting view reads a return for each agency: their log rows go in one INSERT
    (one commit on PostgreSQL), in the order they were recorded, each with its MAC; the
    next read starts its own."""
    from app.auditlog import service as auditlog
    from tests.helpers.statements import statements

    def reads_three() -> None:
        for object_id in (11, 12, 13):
            auditlog.record(db, action="return.read", object_type="return", object_id=object_id)

    def waiting() -> list[tuple]:
        return [
            tuple(row)
            for row in db.execute(
                select(PendingEvent.object_id, PendingEvent.mac).order_by(PendingEvent.id)
            )
        ]

    before = waiting()
    with statements(db) as seen:
        one_read(db, reads_three)
    inserts = [s for s in seen if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1 and "audit_event_pending" in inserts[0]
    rows = waiting()[len(before) :]
    assert [object_id for object_id, _mac in rows] == [11, 12, 13]
    assert all(mac for _object_id, mac in rows)
    # A second read writes its own row, not into the first read's (long written) batch.
    one_read(
        db, lambda: auditlog.record(db, action="return.read", object_type="return", object_id=14)
    )
    assert [object_id for object_id, _mac in waiting()[len(before) :]] == [11, 12, 13, 14]
