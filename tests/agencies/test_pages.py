"""Admin: the partnership's agencies."""

from __future__ import annotations

import re

import pytest

from app.access import service as access
from app.access.models import Role
from tests.helpers.access import browse_as
from tests.helpers.factories import make_agency

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture
def admin(anonymous_client, db):
    user = access.create_user(db, email="a@example.org", display_name="A", roles={Role.ADMIN})
    browse_as(anonymous_client, db, user)
    return anonymous_client


def test_add_an_agency_with_the_error_summary_on_the_way(admin, db):
    token = CSRF.search(admin.get("/admin/agencies/new").text).group(1)
    missing = admin.post("/admin/agencies/new", data={"csrf_token": token})
    assert missing.status_code == 422
    assert 'href="#name"' in missing.text and 'href="#kind"' in missing.text
    assert "Choose what kind of agency it is" in missing.text
    done = admin.post(
        "/admin/agencies/new",
        data={"csrf_token": token, "name": "Westshire Ambulance Service", "kind": "other"},
    )
    assert done.status_code == 200 and "Westshire Ambulance Service has been added." in done.text
    again = admin.post(
        "/admin/agencies/new",
        data={"csrf_token": token, "name": "Westshire Ambulance Service", "kind": "other"},
    )
    assert again.status_code == 409 and "already exists" in again.text


def test_the_banner_is_kept_on_the_server_not_carried_in_the_address(admin, db):
    token = CSRF.search(admin.get("/admin/agencies/new").text).group(1)
    done = admin.post(
        "/admin/agencies/new",
        data={"csrf_token": token, "name": "Police & Crime Commissioner", "kind": "other"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/admin/agencies"
    page = admin.get("/admin/agencies").text
    assert "Police &amp; Crime Commissioner has been added." in page
    # Shown once: the next page has no banner.
    assert "has been added" not in admin.get("/admin/agencies").text
    # A crafted address cannot make the page say anything.
    assert "Crafted words" not in admin.get("/admin/agencies?added=Crafted%20words").text


def test_deactivate_an_agency(admin, db):
    agency = make_agency(db, name="Closing agency")
    db.commit()
    token = CSRF.search(admin.get("/admin/agencies").text).group(1)
    r = admin.post(f"/admin/agencies/{agency.id}/deactivate", data={"csrf_token": token})
    assert r.status_code == 200 and "Closing agency has been deactivated." in r.text
    db.expire_all()
    assert not agency.active


def test_only_admins(anonymous_client, db):
    user = access.create_user(db, email="m@example.org", display_name="M", roles={Role.MODERATOR})
    browse_as(anonymous_client, db, user)
    assert anonymous_client.get("/admin/agencies").status_code == 403


def test_choose_a_subgroups_chair_from_those_with_the_role(admin, db):
    from app.agencies import service as agencies

    subgroup = agencies.create_subgroup(db, name="QAPP", description="Case audits.")
    chair = access.create_user(
        db, email="chair@example.org", display_name="Casey Chair", roles={Role.SUBGROUP_CHAIR}
    )
    lead_agency = make_agency(db, name="Agency L")
    not_a_chair = access.create_user(
        db,
        email="lead@example.org",
        display_name="Lee Lead",
        roles={Role.AGENCY_LEAD},
        agency_id=lead_agency.id,
    )
    db.commit()
    listed = admin.get("/admin/subgroups")
    assert listed.status_code == 200 and "QAPP" in listed.text and "No chair" in listed.text
    page = admin.get(f"/admin/subgroups/{subgroup.id}/chair")
    assert "Casey Chair" in page.text and "Lee Lead" not in page.text  # only chairs offered
    token = CSRF.search(page.text).group(1)
    path = f"/admin/subgroups/{subgroup.id}/chair"
    refused = admin.post(path, data={"csrf_token": token, "chair_user_id": str(not_a_chair.id)})
    assert refused.status_code == 422
    assert "govuk-error-summary" in refused.text
    assert "Choose someone with the subgroup chair role" in refused.text
    done = admin.post(path, data={"csrf_token": token, "chair_user_id": str(chair.id)})
    assert done.status_code == 200 and "Casey Chair chairs the QAPP." in done.text
    db.expire_all()
    assert agencies.get_subgroup(db, subgroup_id=subgroup.id).chair_user_id == chair.id
    cleared = admin.post(path, data={"csrf_token": token, "chair_user_id": ""})
    assert "The QAPP has no chair." in cleared.text
    db.expire_all()
    assert agencies.get_subgroup(db, subgroup_id=subgroup.id).chair_user_id is None
