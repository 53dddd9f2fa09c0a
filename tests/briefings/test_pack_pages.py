"""The inspection-readiness pack's page: drafted by the business unit from the
briefings page, refused with the GOV.UK error summary when the period cannot be, and
opened in the briefing editor; out of reach of a practitioner."""

from __future__ import annotations

import re

import pytest

from app.access import service as access
from app.access.models import Role
from tests.helpers.access import browse_as

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
NEW = "/briefings/inspection-pack/new"


@pytest.fixture
def browse(anonymous_client, db):
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())

    def as_role(role: Role):
        user = access.create_user(
            db, email=f"{role.value}@example.org", display_name=role.value, roles={role}
        )
        browse_as(anonymous_client, db, user)
        return anonymous_client

    return as_role


def form(csrf: str, **changes) -> dict:
    return {
        "csrf_token": csrf,
        "title": "Inspection readiness: how we know",
        "period_from-day": "1",
        "period_from-month": "4",
        "period_from-year": "2025",
        "period_to-day": "31",
        "period_to-month": "3",
        "period_to-year": "2026",
        "theme": "",
        "marking": "OFFICIAL-SENSITIVE",
        **changes,
    }


def test_the_business_unit_drafts_a_pack_and_edits_it(browse):
    admin = browse(Role.ADMIN)
    listed = admin.get("/briefings")
    assert f'href="{NEW}"' in listed.text
    page = admin.get(NEW)
    assert page.status_code == 200 and "Draft an inspection readiness pack" in page.text
    made = admin.post(NEW, data=form(CSRF.search(page.text).group(1)), follow_redirects=False)
    assert made.status_code == 303, made.text
    editor = admin.get(made.headers["location"])
    assert editor.status_code == 200
    assert "Inspection readiness pack: 1 April 2025 to 31 March 2026" in editor.text
    for heading in ("What do we know about", "How do we know it?", "What are we doing about it?"):
        assert heading in editor.text


def test_a_period_that_ends_before_it_starts_is_shown_in_the_error_summary(browse):
    admin = browse(Role.ADMIN)
    csrf = CSRF.search(admin.get(NEW).text).group(1)
    refused = admin.post(NEW, data=form(csrf, **{"period_to-year": "2024"}))
    assert refused.status_code == 422
    assert "govuk-error-summary" in refused.text
    assert "The last day must be on or after the first" in refused.text
    missing = admin.post(NEW, data=form(csrf, **{"period_from-day": ""}))
    assert missing.status_code == 422 and "govuk-error-summary" in missing.text


def test_a_practitioner_cannot(browse):
    assert browse(Role.PRACTITIONER).get(NEW).status_code == 403
