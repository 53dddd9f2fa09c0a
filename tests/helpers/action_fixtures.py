"""Fixtures for the findings and actions tests (tests/findings, tests/actions; each
conftest.py imports them): an open audit with a lead subgroup, two agencies and two
children, people with a role, and a fixed clock."""

from __future__ import annotations

import pytest

from app.access.models import Role
from app.agencies import service as agencies
from app.audits import service as audits
from tests.helpers.access import bearer, browse_as, token_holder
from tests.helpers.actions import EXECUTIVE_AFTER, TODAY
from tests.helpers.factories import make_audit


@pytest.fixture(autouse=True)
def fixed_clock(app, monkeypatch):
    """Every request reads TODAY, whatever the real date (the service's one calendar,
    app/clock.py, pinned; the escalation threshold is the settings' own)."""
    assert app.state.settings.escalate_to_executive_after_days == EXECUTIVE_AFTER
    monkeypatch.setattr("app.clock.today", lambda: TODAY)


@pytest.fixture
def fresh_reads(db):
    """Expire the shared session before each request, as a new session would be."""

    def install(client):
        client.event_hooks["request"].append(lambda _request: db.expire_all())
        return client

    return install


@pytest.fixture
def api(client, fresh_reads):
    """The API as the system itself (every permission)."""
    return fresh_reads(client)


@pytest.fixture
def qapp(db):
    return agencies.create_subgroup(db, name="QAPP")


@pytest.fixture
def audit(db, qapp):
    """An open audit led by QAPP: two agencies, each involved with Child A and Child B."""
    made = make_audit(db, children=2, agencies_count=2)
    made = audits.update_audit(db, audit=made, changes={"lead_subgroup_id": qapp.id})
    db.commit()
    return made


@pytest.fixture
def first(audit):
    return audit.agencies[0]


@pytest.fixture
def second(audit):
    return audit.agencies[1]


@pytest.fixture
def person(db):
    """A new person with ``role`` and a Bearer token: (user, request headers)."""
    count = iter(range(1, 1000))

    def make(role: Role, agency_id: int | None = None):
        name = f"{role.value.replace('_', ' ').title()} {next(count)}"
        user, plain = token_holder(db, role, name, agency_id=agency_id)
        return user, bearer(plain)

    return make


@pytest.fixture
def browser(anonymous_client, db, person, fresh_reads):
    """The pages, signed in for real (a session cookie) as a new person with ``role``."""

    def as_role(role: Role, agency_id: int | None = None):
        user, _headers = person(role, agency_id)
        browse_as(anonymous_client, db, user)
        return fresh_reads(anonymous_client)

    return as_role


@pytest.fixture
def moderator(browser):
    """The pages, signed in as a new moderator."""
    return browser(Role.MODERATOR)
