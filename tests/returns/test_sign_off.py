"""An audit may ask each agency's lead to sign off its returns: the auditor's submission
sends the return to the lead, the lead's sign-off submits it, and any change in
between withdraws the request."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.access.models import Role
from app.returns.models import Return
from tests.helpers.access import bearer, token_holder
from tests.helpers.factories import make_audit
from tests.moderation.test_moderation import complete

API = "/api/v1"


@pytest.fixture
def audit(db):
    audit = make_audit(db, children=1, agencies_count=2)
    audit.lead_sign_off = True
    db.commit()
    return audit


def token_for(db, role: Role, agency_id: int, name: str) -> dict:
    return bearer(token_holder(db, role, name, agency_id=agency_id)[1])


def first_return(db, audit) -> int:
    return db.scalar(
        select(Return.id).where(
            Return.audit_id == audit.id, Return.agency_id == audit.agencies[0].id
        )
    )


@pytest.fixture
def people(db, audit):
    own, other = audit.agencies[0].id, audit.agencies[1].id
    return {
        "auditor": token_for(db, Role.AUDITOR, own, "Sam Patel"),
        "lead": token_for(db, Role.AGENCY_LEAD, own, "Lee Lead"),
        "other_lead": token_for(db, Role.AGENCY_LEAD, other, "Jo Other"),
    }


@pytest.fixture
def sent(anonymous_client, db, audit, people):
    """The first agency's return, completed and sent for sign-off by its auditor."""
    client = anonymous_client
    client.event_hooks["request"].append(lambda _request: db.expire_all())
    return_id = first_return(db, audit)
    template = client.get(
        f"{API}/template-versions/{audit.template_version_id}", headers=people["lead"]
    ).json()
    auditor = people["auditor"]
    saved = client.put(
        f"{API}/returns/{return_id}/draft", json=complete(template, 1), headers=auditor
    )
    assert saved.status_code == 200, saved.text
    done = client.post(f"{API}/returns/{return_id}/submit", json={"version": 2}, headers=auditor)
    assert done.status_code == 200, done.text
    return return_id, template, done.json()


def test_the_auditors_submission_waits_for_the_leads_sign_off(anonymous_client, db, people, sent):
    client = anonymous_client
    return_id, _template, out = sent
    # Not submitted yet: sent to the lead.
    assert out["status"] == "draft" and out["awaiting_sign_off"] is True
    # The audit's page tells the lead; the lead reads it, with a button to sign it off.
    client.cookies.clear()
    audit_id = db.get(Return, return_id).audit_id
    overview = client.get(f"/audits/{audit_id}", headers=people["lead"]).text
    assert "1 return is waiting for your sign-off" in overview
    assert f"/returns/{return_id}?from=/audits/{audit_id}" in overview
    page = client.get(f"/returns/{return_id}", headers=people["lead"]).text
    assert "Sam Patel sent this return for sign-off" in page
    assert "Sign off and submit to the partnership" in page
    version = int(re.search(r'name="version" value="(\d+)"', page).group(1))
    # Another agency's lead may not; the auditor may not sign off their own.
    body = {"version": version}
    url = f"{API}/returns/{return_id}/sign-off"
    assert client.post(url, json=body, headers=people["other_lead"]).status_code == 404
    assert client.post(url, json=body, headers=people["auditor"]).status_code == 403
    signed = client.post(url, json=body, headers=people["lead"])
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "submitted" and signed.json()["awaiting_sign_off"] is False
    versions = client.get(f"{API}/returns/{return_id}/versions", headers=people["lead"]).json()
    assert [v["submitted_by"] for v in versions] == ["Lee Lead"]


def test_a_change_after_sending_withdraws_the_request(anonymous_client, db, people, sent):
    client = anonymous_client
    return_id, template, out = sent
    version = db.get(Return, return_id).version
    changed = client.put(
        f"{API}/returns/{return_id}/draft",
        json=complete(template, version, grade="RI"),
        headers=people["auditor"],
    )
    assert changed.status_code == 200 and changed.json()["awaiting_sign_off"] is False
    refused = client.post(
        f"{API}/returns/{return_id}/sign-off",
        json={"version": changed.json()["version"]},
        headers=people["lead"],
    )
    assert refused.status_code == 409
    assert "not been sent" in refused.json()["detail"]


def test_the_check_page_says_where_the_return_goes(anonymous_client, db, audit, people):
    client = anonymous_client
    return_id = first_return(db, audit)
    page = client.get(f"/returns/{return_id}/check", headers=people["auditor"]).text
    assert "Send to your agency&#39;s lead for sign-off" not in page  # not complete yet
    assert "Finish these sections before you submit" in page
