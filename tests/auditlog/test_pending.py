"""Reads logged at once and chained in batches (app/auditlog/pending.py): a read's row
waits, committed, with a keyed MAC; ``seal`` chains what waits in order under one lock;
a row the service did not write is chained as a refusal; nothing waiting is ever
changed; the log's readers and the serving processes' timer chain what waits."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import exc, func, select, update

from app.access import service as access
from app.access.models import Role
from app.auditlog import pending
from app.auditlog.chain import verify
from app.auditlog.models import AuditEvent, PendingEvent
from app.config import Settings
from app.db import make_sessionmaker, session_scope
from app.main import create_app
from app.returns.models import Return
from tests.helpers.auditlog import API
from tests.helpers.factories import make_audit


@pytest.fixture
def return_id(db) -> int:
    audit = make_audit(db, children=2, agencies_count=1)
    return db.scalar(select(Return.id).where(Return.audit_id == audit.id).order_by(Return.id))


def _waiting(db) -> list[tuple[str, int | None]]:
    return [
        (row.action, row.object_id)
        for row in db.scalars(select(PendingEvent).order_by(PendingEvent.id))
    ]


def test_reads_wait_then_are_chained_in_order_and_the_chain_fits(api, db, return_id):
    for _ in range(3):
        assert api.get(f"{API}/returns/{return_id}").status_code == 200
    assert _waiting(db) == [("return.read", return_id)] * 3
    head = db.scalar(select(func.max(AuditEvent.seq))) or 0

    sealed = pending.seal(db)

    assert (sealed.chained, sealed.refused) == (3, 0)
    assert _waiting(db) == []
    rows = db.scalars(select(AuditEvent).where(AuditEvent.seq > head).order_by(AuditEvent.seq))
    assert [(r.action, r.object_id, r.seq) for r in rows] == [
        ("return.read", return_id, head + n) for n in (1, 2, 3)
    ]
    assert verify(db).intact


def test_a_waiting_row_the_service_did_not_write_is_chained_as_a_refusal(db, return_id):
    forged = PendingEvent(
        at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        user_id=None,
        user_label="someone@example.org",
        action="return.read",
        object_type="return",
        object_id=return_id,
        request_id="",
        client_address="",
        mac="0" * 64,  # without the key, nobody can write the MAC that fits
    )
    db.add(forged)
    db.flush()

    sealed = pending.seal(db)

    assert (sealed.chained, sealed.refused) == (1, 1)
    row = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    assert row.action == pending.REFUSED
    assert row.after == {
        "action": "return.read",
        "object_type": "return",
        "object_id": return_id,
        "pending_id": forged.id,
        "user_label": "someone@example.org",
    }
    assert verify(db).intact


def test_a_waiting_row_is_never_changed(api, db, return_id):
    api.get(f"{API}/returns/{return_id}")
    with pytest.raises(exc.DBAPIError, match="never changed"), db.begin_nested():
        db.execute(update(PendingEvent).values(object_id=return_id + 1))


def test_the_log_shows_a_read_at_once(api, db, return_id):
    api.get(f"{API}/returns/{return_id}")
    listed = api.get(f"{API}/audit-log", params={"action": "return.read"}).json()
    assert [(e["action"], e["object_id"]) for e in listed["items"]] == [("return.read", return_id)]
    assert _waiting(db) == []


def test_each_serving_process_chains_what_waits_within_a_second_or_so(migrated_engine):
    engine = migrated_engine()
    url = engine.url.render_as_string(hide_password=False)
    with session_scope(make_sessionmaker(engine)) as session:
        audit = make_audit(session, children=1, agencies_count=1)
        reader = access.create_user(
            session, email="moderator@example.org", display_name="M", roles={Role.MODERATOR}
        )
        _token, plain = access.create_token(session, user=reader, name="test", days=30)
        read = session.scalar(select(Return.id).where(Return.audit_id == audit.id))
    app = create_app(Settings(database_url=url, environment="test", audit_log_seal_seconds=0.2))
    with TestClient(app, headers={"Authorization": f"Bearer {plain}"}) as client:
        assert client.get(f"{API}/returns/{read}").status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with engine.connect() as other:
                chained = other.scalar(
                    select(func.count(AuditEvent.id)).where(AuditEvent.action == "return.read")
                )
                left = other.scalar(select(func.count(PendingEvent.id)))
            if chained:
                break
            time.sleep(0.1)
    app.state.engine.dispose()
    assert (chained, left) == (1, 0)
