"""The audit overview: progress by agency and by child, links to returns for those
who may read them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.returns.models import Return
from tests.helpers.access import browse_as
from tests.helpers.factories import make_audit


@pytest.fixture
def audit(db):
    return make_audit(db, children=2, agencies_count=2)


def as_role(client, db, role: Role, agency_id=None):
    user = access.create_user(
        db,
        email=f"{role.value}@example.org",
        display_name=role.value,
        roles={role},
        agency_id=agency_id,
    )
    browse_as(client, db, user)
    return client


def test_moderators_see_every_agency_and_a_link_to_each_return(anonymous_client, db, audit):
    client = as_role(anonymous_client, db, Role.MODERATOR)
    listing = client.get("/audits").text
    assert f'href="/audits/{audit.id}"' in listing
    page = client.get(f"/audits/{audit.id}").text
    for agency in audit.agencies:
        assert agency.name in page
    for return_id in db.scalars(select(Return.id).where(Return.audit_id == audit.id)):
        # Each return's page leads back here.
        assert f'href="/returns/{return_id}?from=/audits/{audit.id}"' in page
    assert "0 of 4 submitted" in page


def test_admins_see_progress_but_no_way_into_returns(anonymous_client, db, audit):
    client = as_role(anonymous_client, db, Role.ADMIN)
    page = client.get(f"/audits/{audit.id}").text
    assert "Not started" in page and 'href="/returns/' not in page


def test_an_auditor_sees_only_their_own_agency(anonymous_client, db, audit):
    mine, theirs = audit.agencies
    client = as_role(anonymous_client, db, Role.AUDITOR, agency_id=mine.id)
    page = client.get(f"/audits/{audit.id}").text
    assert mine.name in page and theirs.name not in page
    assert "0 of 2 submitted" in page


def test_home_is_the_moderators_start_page_linking_to_the_audits(anonymous_client, db):
    client = as_role(anonymous_client, db, Role.MODERATOR)
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 200 and "What needs your attention" in r.text
    assert 'href="/audits"' in r.text
