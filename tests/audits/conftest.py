"""Fixtures shared by the audit API tests."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.helpers.audits import add_child, create_audit, open_audit
from tests.helpers.factories import make_agency, make_template


@pytest.fixture
def client(client, db):
    """The API as the system, expiring the shared session before each request.

    In production every request has a new session; here the test and every request
    share one, so without this a request could be answered from objects an earlier
    request (or a factory) left loaded instead of from the database. (Not an autouse
    fixture: the page tests here sign in for real and must not get the system's client.)
    """
    client.event_hooks["request"].append(lambda _request: db.expire_all())
    return client


@pytest.fixture
def version(db):
    return make_template(db)


@pytest.fixture
def police(db):
    return make_agency(db, name="Police")


@pytest.fixture
def school(db):
    return make_agency(db, name="School")


@pytest.fixture
def health(db):
    return make_agency(db, name="Health")


@pytest.fixture
def planned(client, version, police, school) -> dict:
    """A planned audit with two agencies, due in a fortnight, and no children yet."""
    return create_audit(
        client,
        version.id,
        title="Neglect audit",
        returns_due_on=str(date.today() + timedelta(days=14)),
        agency_ids=[police.id, school.id],
    )


@pytest.fixture
def opened(client, planned, police, school) -> dict:
    """``planned`` with Child A (police, school) and Child B (police), then opened."""
    add_child(client, planned["id"], "Child A", [police.id, school.id])
    add_child(client, planned["id"], "Child B", [police.id])
    return open_audit(client, planned["id"])
