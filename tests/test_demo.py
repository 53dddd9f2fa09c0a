"""The demo partnership, seen through the API as the acceptance describes.

The demo takes seconds to load and these tests only read it, so it is loaded once for
the module, in a transaction of the shared database that is rolled back at the end;
each test's ``db`` is a savepoint inside it.
"""

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from app.demo import load_demo

# One worker takes the module, so the demo is loaded once (pytest-xdist --dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_demo")


def _session(connection: Connection) -> Session:
    return Session(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )


@pytest.fixture(scope="module")
def demo(engine: Engine) -> Iterator[Connection]:
    """A connection whose transaction holds the demo partnership."""
    connection = engine.connect()
    transaction = connection.begin()
    with _session(connection) as session:
        load_demo(session)
        session.commit()
    try:
        yield connection
    finally:
        transaction.rollback()
        connection.close()


@pytest.fixture
def db(demo: Connection) -> Iterator[Session]:
    """The demo, each test's changes rolled back."""
    savepoint = demo.begin_nested()
    session = _session(demo)
    try:
        yield session
    finally:
        session.close()
        savepoint.rollback()


def test_demo_audit_has_7_children_5_agencies_and_mixed_returns(client, db):
    body = client.get("/api/v1/audits", params={"status": "open"}).json()
    # Open: the headline audit, and the assurance questionnaire the published briefing sent.
    assert body["total"] == 2
    titles = sorted(a["title"] for a in body["items"])
    assert titles[0].startswith("Identification of need and risk")
    assert titles[1].startswith("Learning assurance: 7 minute briefing")
    audit = next(a for a in body["items"] if a["title"] == titles[0])
    assert audit["children_count"] == 7
    assert len(audit["agencies"]) == 5
    states = {k for k, v in audit["returns"].items() if v and k != "expected"}
    assert {"not_started", "draft", "submitted", "returned_for_amendment"} <= states
    # Submitted returns are complete: the service accepted them through submit().
    submitted = client.get(
        f"/api/v1/audits/{audit['id']}/returns", params={"status": "submitted", "per_page": 1}
    ).json()["items"][0]
    detail = client.get(f"/api/v1/returns/{submitted['id']}").json()
    assert detail["overall_grade"] in {"O", "G", "RI", "I"}
    assert len(detail["grades"]) == 5
    assert all(e["went_well"] for e in detail["evidence"])


def test_every_pseudonym_in_the_demo_is_a_pseudonym(client, db):
    import re

    from app.audits.schemas import PSEUDONYM_PATTERN

    for audit in client.get("/api/v1/audits").json()["items"]:
        for child in client.get(f"/api/v1/audits/{audit['id']}/children").json()["items"]:
            assert re.fullmatch(PSEUDONYM_PATTERN, child["pseudonym"])
