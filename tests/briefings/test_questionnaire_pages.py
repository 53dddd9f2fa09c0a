"""An agency's lead answers their agency's learning assurance questionnaire on the same
pages an auditor answers a return with (the start page links them there): the forms
are theirs, the submission is their own sign-off; a lead still writes in no ordinary
return of their agency."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app.access.models import User
from app.audit_templates import service as templates
from app.audit_templates.models import AnswerType
from app.audits.models import Audit
from app.returns.models import Return, ReturnStatus
from tests.briefings.test_briefings_api import (  # noqa: F401 - fixtures
    TODAY,
    launch,
    pinned_clock,
    world,
)
from tests.helpers.access import browse_as

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


def _form(page: str, **fields) -> dict:
    return {
        "csrf_token": CSRF.search(page).group(1),
        "version": VERSION.search(page).group(1),
        **fields,
    }


def _answers(key_area) -> dict[str, str]:
    found: dict[str, str] = {}
    for q in key_area.questions:
        name = f"q-{q.id}"
        if q.answer_type == AnswerType.DATE:
            found |= {f"{name}-day": "30", f"{name}-month": "6", f"{name}-year": "2027"}
        elif q.answer_type == AnswerType.NUMBER:
            found[name] = "40"
        elif q.answer_type == AnswerType.YES_PARTLY_NO:
            found[name] = "partly"
        else:
            found[name] = "Shared at team meetings and in supervision."
    return found


def test_a_lead_answers_their_agencys_questionnaire_on_the_pages(
    anonymous_client,
    db,
    world,  # noqa: F811 - the briefings API tests' world, imported above
):
    launched = launch(anonymous_client, world, due_on=TODAY + timedelta(days=14))
    assert launched.status_code == 201, launched.text
    questionnaire = db.get(Audit, launched.json()["audit_id"])
    a = world["agencies"][0]
    return_id = db.scalar(
        select(Return.id).where(Return.audit_id == questionnaire.id, Return.agency_id == a.id)
    )
    version = templates.get_version(db, version_id=questionnaire.template_version_id)
    lead = db.scalar(select(User).where(User.display_name == "Lead A"))
    anonymous_client.cookies.clear()
    browse_as(anonymous_client, db, lead)
    browser = anonymous_client
    browser.event_hooks["request"].append(lambda _request: db.expire_all())

    tasks = browser.get(f"/returns/{return_id}")
    assert tasks.status_code == 200
    first = version.key_areas[0]
    assert f'href="/returns/{return_id}/areas/{first.id}"' in tasks.text  # a form to fill in
    for key_area in version.key_areas:
        page = browser.get(f"/returns/{return_id}/areas/{key_area.id}").text
        assert "<form" in page
        saved = browser.post(
            f"/returns/{return_id}/areas/{key_area.id}",
            data=_form(page, **_answers(key_area)),
            follow_redirects=False,
        )
        assert saved.status_code == 303, saved.text
    check = browser.get(f"/returns/{return_id}/check").text
    done = browser.post(f"/returns/{return_id}/submit", data=_form(check), follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("/submitted")
    db.expire_all()
    answered = db.get(Return, return_id)
    assert answered.status == ReturnStatus.SUBMITTED

    # The audit's own returns stay the auditors': the lead's forms there are refused.
    ordinary = db.scalar(
        select(Return).where(Return.audit_id == world["audit"].id, Return.agency_id == a.id)
    )
    area = templates.get_version(db, version_id=world["audit"].template_version_id).key_areas[0]
    refused = browser.post(
        f"/returns/{ordinary.id}/areas/{area.id}",
        data={"csrf_token": CSRF.search(check).group(1), "version": str(ordinary.version)},
    )
    assert refused.status_code == 404
