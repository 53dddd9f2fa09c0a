"""A late return never blocks moderation: moderation opened with three returns not in
ends in learning after one is submitted late, one is left out with a reason (and the
briefing says it was not received) and one is waited for; every other path (sent back
and never resubmitted, left out then included again) can still finish."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.access.models import Role
from app.audit_templates.service import get_version
from app.auditlog.models import AuditEvent
from app.audits.models import Audit, AuditStatus
from app.briefings import content, render
from app.config import Settings
from app.returns.models import Return, ReturnStatus
from tests.helpers.factories import make_audit
from tests.moderation.test_moderation import _token, complete, decide

API = "/api/v1"


@pytest.fixture
def api(client, db):
    """The API as the system itself, reading the database afresh for each request."""
    client.event_hooks["request"].append(lambda _request: db.expire_all())
    return client


@pytest.fixture
def audit(db):
    return make_audit(db, children=3, agencies_count=2)


@pytest.fixture
def template(db, audit):
    """The template's key areas and questions, as the API gives them."""
    version = get_version(db, version_id=audit.template_version_id)
    return {
        "key_areas": [
            {"id": k.id, "questions": [{"id": q.id} for q in k.questions]}
            for k in version.key_areas
        ]
    }


def returns_of(client, audit) -> list[dict]:
    return client.get(f"{API}/audits/{audit.id}/returns?per_page=100").json()["items"]


def submit(client, template, return_id, headers=None):
    version = client.get(f"{API}/returns/{return_id}", headers=headers).json()["version"]
    saved = client.put(
        f"{API}/returns/{return_id}/draft", json=complete(template, version), headers=headers
    )
    assert saved.status_code == 200, saved.text
    done = client.post(
        f"{API}/returns/{return_id}/submit", json={"version": version + 1}, headers=headers
    )
    assert done.status_code == 200, done.text


def agree_all(client, audit, template, return_id):
    for key_area in template["key_areas"]:
        assert decide(client, audit, return_id, key_area["id"], "G").status_code == 201
    assert decide(client, audit, return_id, None, "G").status_code == 201


def finish(client, audit):
    return client.post(f"{API}/audits/{audit.id}/moderation/finish")


def test_three_missing_one_late_one_left_out_one_waited_for(api, db, audit, template):
    rows = returns_of(api, audit)
    assert len(rows) == 6
    *in_time, late, left_out, waited = rows
    for r in in_time:
        submit(api, template, r["id"])
    assert api.post(f"{API}/audits/{audit.id}/moderation/open").status_code == 200
    for r in in_time:
        agree_all(api, audit, template, r["id"])

    # Three returns are not in: finishing says which, and what can be done.
    refused = finish(api, audit)
    assert refused.status_code == 422
    messages = " ".join(f["message"] for f in refused.json()["errors"])
    assert messages.count("return is not in yet: wait for it, or leave it out") == 3

    # The late one is completed by its agency during moderation (as its own auditor:
    # test_the_agency_completes_a_late_return_until_it_is_left_out), then moderated.
    submit(api, template, late["id"])
    agree_all(api, audit, template, late["id"])

    # One is left out, with a reason; the agency can no longer change it.
    no_reason = api.post(f"{API}/returns/{left_out['id']}/exclude", json={"reason": "  "})
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    excluded = api.post(
        f"{API}/returns/{left_out['id']}/exclude",
        json={"reason": "The agency's records were not available in time"},
    )
    assert excluded.status_code == 200, excluded.text
    assert excluded.json()["excluded"] is True
    blocked = api.put(
        f"{API}/returns/{left_out['id']}/draft",
        json=complete(template, excluded_version(db, left_out["id"])),
    )
    assert blocked.status_code == 409
    assert "left out of moderation" in blocked.json()["detail"]

    # The one waited for is still not in: moderation cannot finish yet.
    still = finish(api, audit)
    assert still.status_code == 422
    assert len(still.json()["errors"]) == 1
    submit(api, template, waited["id"])
    agree_all(api, audit, template, waited["id"])

    assert finish(api, audit).status_code == 200
    db.expire_all()
    assert db.get(Audit, audit.id).status == AuditStatus.LEARNING
    assert db.get(Return, left_out["id"]).status != ReturnStatus.MODERATED
    actions = db.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == left_out["id"])
    ).all()
    assert "return.exclude" in actions

    # The briefing's figures say a return was not received, and why; not whose child.
    context = content.briefing_context(
        db,
        audit=db.get(Audit, audit.id),
        sections={},
        title="Learning from the audit",
        marking="OFFICIAL",
        version_label="Version 1",
        dated=date(2026, 12, 1),
        settings=Settings(),
    )
    assert context["audit"]["returns_expected"] == 6
    html = render.html_for("briefing", context)
    assert "5 of 6" in html
    assert "not received (The agency&#39;s records were not available in time)" in html
    assert context["grades"]["total"]["n"] == 5 * len(template["key_areas"])


def excluded_version(db, return_id: int) -> int:
    return db.scalar(select(Return.version).where(Return.id == return_id))


def test_a_return_sent_back_and_never_resubmitted_can_be_left_out(api, db, audit, template):
    rows = returns_of(api, audit)
    for r in rows:
        submit(api, template, r["id"])
    assert api.post(f"{API}/audits/{audit.id}/moderation/open").status_code == 200
    for r in rows:
        agree_all(api, audit, template, r["id"])
    sent = rows[0]["id"]
    version = api.get(f"{API}/returns/{sent}").json()["version"]
    back = api.post(f"{API}/returns/{sent}/reopen", json={"version": version, "note": "Amend"})
    assert back.status_code == 200, back.text
    assert finish(api, audit).status_code == 422
    left = api.post(f"{API}/returns/{sent}/exclude", json={"reason": "Not resubmitted"})
    assert left.status_code == 200
    assert finish(api, audit).status_code == 200


def test_left_out_then_included_again_must_be_moderated(api, db, audit, template):
    rows = returns_of(api, audit)
    for r in rows[1:]:
        submit(api, template, r["id"])
    assert api.post(f"{API}/audits/{audit.id}/moderation/open").status_code == 200
    for r in rows[1:]:
        agree_all(api, audit, template, r["id"])
    missing = rows[0]["id"]
    assert api.post(f"{API}/returns/{missing}/exclude", json={"reason": "Late"}).status_code == 200
    again = api.post(f"{API}/returns/{missing}/exclude", json={"reason": "Late"})
    assert again.status_code == 409
    back = api.post(f"{API}/returns/{missing}/include", json={"reason": "It has arrived"})
    assert back.status_code == 200
    assert back.json() | {"excluded_at": None} == {
        "return_id": missing,
        "status": "not_started",
        "excluded": False,
        "excluded_at": None,
        "reason": "",
    }
    assert finish(api, audit).status_code == 422
    submit(api, template, missing)
    agree_all(api, audit, template, missing)
    assert finish(api, audit).status_code == 200
    include = db.scalars(
        select(AuditEvent).where(
            AuditEvent.object_id == missing, AuditEvent.action == "return.include"
        )
    ).one()
    assert include.after == {"excluded": False, "reason": "It has arrived"}


def test_only_a_return_not_in_and_only_in_moderation(api, db, audit, template):
    rows = returns_of(api, audit)
    submit(api, template, rows[0]["id"])
    while_open = api.post(f"{API}/returns/{rows[1]['id']}/exclude", json={"reason": "Late"})
    assert while_open.status_code == 409
    assert api.post(f"{API}/audits/{audit.id}/moderation/open").status_code == 200
    submitted = api.post(f"{API}/returns/{rows[0]['id']}/exclude", json={"reason": "Late"})
    assert submitted.status_code == 409
    assert "moderated rather than left out" in submitted.json()["detail"]
    not_left_out = api.post(f"{API}/returns/{rows[1]['id']}/include", json={"reason": "x"})
    assert not_left_out.status_code == 409


def test_the_agency_completes_a_late_return_until_it_is_left_out(
    anonymous_client, db, audit, template
):
    """Real sign-in: the auditor of the late return's agency saves and submits it in
    moderation; once the chair leaves another out, its auditor can no longer save it,
    nor find it on My work."""
    rows = db.scalars(select(Return).where(Return.audit_id == audit.id).order_by(Return.id)).all()
    auditors = {a: _token(db, Role.AUDITOR, a) for a in {r.agency_id for r in rows}}
    chair = _token(db, Role.MODERATOR)
    first, late = rows[0], rows[1]
    left = next(r for r in rows[2:] if r.agency_id != late.agency_id)
    other = next(r for r in rows[2:] if r.agency_id == left.agency_id and r.id != left.id)
    submit(anonymous_client, template, first.id, headers=auditors[first.agency_id])
    opened = anonymous_client.post(f"{API}/audits/{audit.id}/moderation/open", headers=chair)
    assert opened.status_code == 200
    submit(anonymous_client, template, late.id, headers=auditors[late.agency_id])
    excluded = anonymous_client.post(
        f"{API}/returns/{left.id}/exclude", json={"reason": "Late"}, headers=chair
    )
    assert excluded.status_code == 200
    refused = anonymous_client.put(
        f"{API}/returns/{left.id}/draft",
        json=complete(template, excluded_version(db, left.id)),
        headers=auditors[left.agency_id],
    )
    assert refused.status_code == 404  # no longer theirs: neither to work on nor to read
    work = anonymous_client.get(f"{API}/me/work", headers=auditors[left.agency_id])
    assert work.status_code == 200
    listed = {
        r["id"] for group in ("to_do", "done") for a in work.json()[group] for r in a["returns"]
    }
    assert left.id not in listed
    assert other.id in listed  # the same agency's other return, still to do


def test_an_auditor_cannot_leave_a_return_out(anonymous_client, db, audit):
    ret = db.scalars(select(Return).where(Return.audit_id == audit.id)).first()
    auditor = _token(db, Role.AUDITOR, ret.agency_id)
    refused = anonymous_client.post(
        f"{API}/returns/{ret.id}/exclude", json={"reason": "Late"}, headers=auditor
    )
    assert refused.status_code == 403, refused.text


def test_a_late_draft_is_not_revealed_to_the_other_agencies(anonymous_client, db, audit, template):
    """Moderation reveals the returns that are in; a draft still to come stays its own
    agency's, and its grades show in no one else's grid."""
    rows = db.scalars(select(Return).where(Return.audit_id == audit.id).order_by(Return.id)).all()
    auditors = {a: _token(db, Role.AUDITOR, a) for a in {r.agency_id for r in rows}}
    chair = _token(db, Role.MODERATOR)
    first, draft = rows[0], next(r for r in rows if r.agency_id != rows[0].agency_id)
    submit(anonymous_client, template, first.id, headers=auditors[first.agency_id])
    version = anonymous_client.get(
        f"{API}/returns/{draft.id}", headers=auditors[draft.agency_id]
    ).json()["version"]
    saved = anonymous_client.put(
        f"{API}/returns/{draft.id}/draft",
        json=complete(template, version),
        headers=auditors[draft.agency_id],
    )
    assert saved.status_code == 200
    opened = anonymous_client.post(f"{API}/audits/{audit.id}/moderation/open", headers=chair)
    assert opened.status_code == 200
    other = auditors[first.agency_id]
    assert anonymous_client.get(f"{API}/returns/{draft.id}", headers=other).status_code == 404
    assert anonymous_client.get(f"{API}/returns/{first.id}", headers=other).status_code == 200
    grid = anonymous_client.get(f"{API}/audits/{audit.id}/moderation", headers=other).json()
    drafts = [c for c in grid["cells"] if c["return_id"] == draft.id]
    assert drafts and all(c["self_grade"] is None for c in drafts)
    # Its own agency still works on it.
    mine = anonymous_client.get(f"{API}/returns/{draft.id}", headers=auditors[draft.agency_id])
    assert mine.status_code == 200


def test_an_audit_with_nothing_graded_can_finish(api, db):
    """A questionnaire-style template grades nothing: its children have nothing to
    moderate, so moderation finishes once the returns are in or left out."""
    from app.audit_templates import service as templates
    from app.audit_templates.schemas import TemplateContent
    from tests.helpers.factories import template_content

    content = template_content()
    content["overall_grade"] = False
    for key_area in content["key_areas"]:
        key_area["graded"] = False
    version = templates.create_draft(db, content=TemplateContent.model_validate(content))
    templates.publish(db, version=version)
    audit = make_audit(db, children=1, agencies_count=2, version=version)
    shape = {
        "key_areas": [
            {"id": k.id, "questions": [{"id": q.id} for q in k.questions]}
            for k in version.key_areas
        ]
    }
    first, second = returns_of(api, audit)
    body = complete(shape, 1)
    body |= {"grades": [], "overall_grade": None}
    assert api.put(f"{API}/returns/{first['id']}/draft", json=body).status_code == 200
    assert api.post(f"{API}/returns/{first['id']}/submit", json={"version": 2}).status_code == 200
    assert api.post(f"{API}/audits/{audit.id}/moderation/open").status_code == 200
    waiting = finish(api, audit)
    assert waiting.status_code == 422  # the second return is neither in nor left out
    assert (
        api.post(f"{API}/returns/{second['id']}/exclude", json={"reason": "Late"}).status_code
        == 200
    )
    assert finish(api, audit).status_code == 200
