"""Fixtures for the audit-log tests."""

from __future__ import annotations

import pytest

from app.access import service as access
from app.access.models import Role
from tests.helpers.auditlog import LogWatch
from tests.helpers.factories import make_agency


@pytest.fixture
def api(client, db):
    """The API as the system, seeing the database as a new request would.

    In production every request has a new session; here the test and every request
    share one, so expire it before each request."""
    client.event_hooks["request"].append(lambda _request: db.expire_all())
    return client


@pytest.fixture
def log(db) -> LogWatch:
    return LogWatch(db)


@pytest.fixture
def people(db) -> dict[str, dict]:
    """An admin, a scrutineer, a moderator and an auditor: each one's user id and the
    Authorization header of a personal access token."""
    agency = make_agency(db, name="Auditor's agency")
    made = {}
    for role in (Role.ADMIN, Role.SCRUTINEER, Role.MODERATOR, Role.AUDITOR):
        user = access.create_user(
            db,
            email=f"{role.value}@example.org",
            display_name=role.value.title(),
            roles={role},
            agency_id=agency.id if role == Role.AUDITOR else None,
        )
        _row, plain = access.create_token(db, user=user, name="audit-log tests", days=1)
        made[role.value] = {"id": user.id, "headers": {"Authorization": f"Bearer {plain}"}}
    db.flush()
    return made
