"""An agency lead gives each of the agency's returns to one of its auditors; an assigned
return comes first on that auditor's My work, and says whose it is to colleagues."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.auditlog.models import AuditEvent
from app.returns.models import Return, ReturnStatus
from tests.helpers.access import browse_as
from tests.helpers.factories import make_audit

API = "/api/v1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def audit(db):
    return make_audit(db, children=3, agencies_count=2)


def person(db, role: Role, agency_id: int, name: str):
    return access.create_user(
        db,
        email=f"{name.lower().replace(' ', '.')}@example.org",
        display_name=name,
        roles={role},
        agency_id=agency_id,
    )


@pytest.fixture
def team(db, audit):
    """The first agency's lead and two auditors, and another agency's auditor."""
    own, other = audit.agencies[0].id, audit.agencies[1].id
    made = {
        "lead": person(db, Role.AGENCY_LEAD, own, "Lee Lead"),
        "sam": person(db, Role.AUDITOR, own, "Sam Patel"),
        "ash": person(db, Role.AUDITOR, own, "Ash Khan"),
        "elsewhere": person(db, Role.AUDITOR, other, "Jo Other"),
    }
    db.commit()
    return made


def as_(client, db, user):
    browse_as(client, db, user)
    return client


def api_as(client, db, user):
    """The API with the user's Bearer token (a script's way in)."""
    client.cookies.clear()
    _row, plain = access.create_token(db, user=user, name="tests", days=1)
    db.commit()
    client.headers["Authorization"] = f"Bearer {plain}"
    return client


def returns_of(db, audit, agency_id) -> list[Return]:
    return list(
        db.scalars(
            select(Return)
            .where(Return.audit_id == audit.id, Return.agency_id == agency_id)
            .order_by(Return.id)
        )
    )


def test_a_lead_assigns_on_the_page_and_the_auditor_finds_it_first(
    anonymous_client, db, audit, team
):
    client = anonymous_client
    client.event_hooks["request"].append(lambda _request: db.expire_all())
    own = returns_of(db, audit, audit.agencies[0].id)
    last = own[-1]  # Child C: last by name, first once assigned
    as_(client, db, team["lead"])
    overview = client.get(f"/audits/{audit.id}").text
    assert f'href="/audits/{audit.id}/assign"' in overview
    page = client.get(f"/audits/{audit.id}/assign").text
    assert "Sam Patel" in page and "Ash Khan" in page and "Jo Other" not in page
    saved = client.post(
        f"/audits/{audit.id}/assign",
        data={"csrf_token": CSRF.search(page).group(1), f"assign-{last.id}": str(team["sam"].id)},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert db.get(Return, last.id).assigned_to_id == team["sam"].id
    logged = db.scalar(select(AuditEvent).where(AuditEvent.action == "return.assign"))
    assert logged.object_id == last.id

    as_(client, db, team["sam"])
    mine = client.get("/my-work").text
    links = re.findall(r'href="/returns/(\d+)"', mine)
    assert links[0] == str(last.id)  # assigned to me: first
    assert "Assigned to you" in mine
    work = client.get(f"{API}/me/work").json()
    first = work["to_do"][0]["returns"][0]
    assert (first["id"], first["mine"], first["assigned_to"]) == (last.id, True, "Sam Patel")

    as_(client, db, team["ash"])
    theirs = client.get("/my-work").text
    assert "Assigned to Sam Patel" in theirs and "Assigned to you" not in theirs


def test_only_the_agencys_lead_assigns_and_only_to_its_own_auditors(
    anonymous_client, db, audit, team
):
    client = anonymous_client
    own = returns_of(db, audit, audit.agencies[0].id)[0]
    other = returns_of(db, audit, audit.agencies[1].id)[0]
    url = f"{API}/returns/{own.id}/assignment"
    api_as(client, db, team["sam"])
    assert client.put(url, json={"auditor_id": team["sam"].id}).status_code == 403
    api_as(client, db, team["lead"])
    wrong = client.put(url, json={"auditor_id": team["elsewhere"].id})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "auditor_id"
    # Another agency's return is not the lead's to see, let alone assign.
    assert (
        client.put(f"{API}/returns/{other.id}/assignment", json={"auditor_id": None}).status_code
        == 404
    )
    done = client.put(url, json={"auditor_id": team["ash"].id})
    assert done.status_code == 200 and done.json()["assigned_to_id"] == team["ash"].id
    cleared = client.put(url, json={"auditor_id": None})
    assert cleared.status_code == 200 and cleared.json()["assigned_to_id"] is None


def test_a_submitted_return_is_no_longer_anyones_to_do(anonymous_client, db, audit, team):
    client = anonymous_client
    own = returns_of(db, audit, audit.agencies[0].id)[0]
    own.status = ReturnStatus.SUBMITTED
    db.commit()
    api_as(client, db, team["lead"])
    refused = client.put(f"{API}/returns/{own.id}/assignment", json={"auditor_id": team["sam"].id})
    assert refused.status_code == 409
    client.headers.pop("Authorization")
    as_(client, db, team["lead"])
    page = client.get(f"/audits/{audit.id}/assign").text
    assert f'name="assign-{own.id}"' not in page and "no longer anyone" in page
