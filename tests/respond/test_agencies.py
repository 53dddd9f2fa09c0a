"""An agency with no one signed up answers its Section 11 self-assessment by link: the
standards' questions, the boxes of evidence and a grade for each, the overall grade;
and a template whose questions depend on others, all shown with a hint when to answer
(without JavaScript nothing hides them)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit_templates import service as templates
from app.audit_templates.schemas import TemplateContent
from app.audits import lifecycle
from app.audits import service as audits
from app.returns.models import Answer, Grade, KeyAreaEvidence, Return, ReturnStatus
from tests.helpers.factories import make_agency
from tests.helpers.links import NOON
from tests.respond.conftest import form_fields, issue, shipped


@pytest.fixture
def self_assessment(db, admin, settings):
    """An open Section 11 audit of two agencies, a link for the first agency's return:
    (its path, the return, the template version)."""
    version = shipped(db, "section-11-self-assessment")
    first, second = make_agency(db, name="Westshire Scouts"), make_agency(db)
    audit = audits.create_audit(
        db,
        template_version_id=version.id,
        title="Section 11 self-assessment 2026",
        returns_due_on=NOON.date() + timedelta(days=30),
        agency_ids=[first.id, second.id],
    )
    lifecycle.open_audit(db, audit=audit, confirm=True)
    return_ = db.scalar(
        select(Return).where(Return.audit_id == audit.id, Return.agency_id == first.id)
    )
    _link, token = issue(db, audit, return_, admin, settings)
    return f"/respond/{token}", return_, version


def _complete(version) -> dict:
    fields = {}
    for key_area in version.key_areas:
        for question in key_area.questions:
            fields[f"q-{question.id}"] = "95" if question.answer_type.value == "integer" else "yes"
        fields[f"ev-{key_area.id}-went_well"] = "The policy was reviewed by the board in May."
        fields[f"ev-{key_area.id}-could_be_better"] = ""
        fields[f"grade-{key_area.id}"] = "M"
    fields["overall"] = "P"
    return fields


def test_an_agency_answers_its_self_assessment(web, db, self_assessment):
    path, return_, version = self_assessment
    page = web.get(path)
    assert page.status_code == 200
    assert "Section 11 self-assessment 2026" in page.text and "Westshire Scouts" in page.text
    first = version.key_areas[0]
    assert (
        f'name="grade-{first.id}"' in page.text and f'name="ev-{first.id}-went_well"' in page.text
    )
    assert 'name="overall"' in page.text
    # Missing grades and evidence are named in the error summary.
    missing = web.post(path, data=form_fields(page.text, then="send"))
    assert missing.status_code == 422
    assert (
        f'href="#grade-{first.id}"' in missing.text
        and f'href="#ev-{first.id}-went_well"' in missing.text
    )
    assert 'href="#overall"' in missing.text
    done = web.post(path, data=form_fields(missing.text, **_complete(version), then="send"))
    assert done.status_code == 200, done.text
    sent = db.get(Return, return_.id)
    assert sent.status == ReturnStatus.SUBMITTED
    assert sent.auditor_name == "Westshire Scouts (by link)"
    assert len(db.scalars(select(Grade).where(Grade.return_id == return_.id)).all()) == len(
        version.key_areas
    )
    assert (
        db.scalar(
            select(KeyAreaEvidence.went_well).where(
                KeyAreaEvidence.return_id == return_.id, KeyAreaEvidence.key_area_id == first.id
            )
        )
        == "The policy was reviewed by the board in May."
    )
    assert (
        db.scalar(
            select(Answer.value).where(
                Answer.return_id == return_.id,
                Answer.question_id == version.key_areas[2].questions[0].id,
            )
        )
        == "95"
    )


def test_a_number_out_of_range_is_shown_on_its_field(web, db, self_assessment):
    path, _return_, version = self_assessment
    page = web.get(path).text
    percentage = version.key_areas[2].questions[0]
    r = web.post(path, data=form_fields(page, **{f"q-{percentage.id}": "120", "then": "save"}))
    assert r.status_code == 422
    assert f'href="#q-{percentage.id}"' in r.text and "Must be between 0 and 100" in r.text


def test_a_question_asked_on_another_answer_is_shown_with_when(web, db, admin, settings):
    from app.audit_templates.models import AuditSubject

    content = TemplateContent.model_validate(
        {
            "name": "Learning shared",
            "subject": AuditSubject.AGENCY,
            "overall_grade": False,
            "evidence_boxes": False,
            "key_areas": [
                {
                    "title": "Sharing the learning",
                    "graded": False,
                    "questions": [
                        {
                            "prompt": "Did you share the briefing?",
                            "type": "yes_no",
                            "key": "shared",
                        },
                        {
                            "prompt": "How did you share it?",
                            "type": "free_text",
                            "condition": {"question": "shared", "answers": ["yes"]},
                        },
                    ],
                }
            ],
        }
    )
    draft = templates.create_draft(db, content=content)
    version = templates.get_version(db, version_id=templates.publish(db, version=draft).id)
    agency = make_agency(db)
    audit = audits.create_audit(
        db,
        template_version_id=version.id,
        title="Did the learning land?",
        returns_due_on=NOON.date() + timedelta(days=10),
        agency_ids=[agency.id],
    )
    lifecycle.open_audit(db, audit=audit, confirm=True)
    return_ = db.scalar(select(Return).where(Return.audit_id == audit.id))
    _link, token = issue(db, audit, return_, admin, settings)
    page = web.get(f"/respond/{token}").text
    shared, how = version.key_areas[0].questions
    assert f'data-asked-when="q-{shared.id}"' in page
    assert "Answer this if your answer to ‘Did you share the briefing?’ is Yes." in page
    # Answered "no" with words in the other box (no JavaScript to hide it): the words go.
    r = web.post(
        f"/respond/{token}",
        data=form_fields(
            page, **{f"q-{shared.id}": "no", f"q-{how.id}": "By email", "then": "send"}
        ),
    )
    assert r.status_code == 200, r.text
    kept = dict(
        db.execute(
            select(Answer.question_id, Answer.value).where(Answer.return_id == return_.id)
        ).all()
    )
    assert kept == {shared.id: "no"}


def test_an_agency_confirms_what_was_flagged_as_staff_do(web, db, self_assessment):
    """An agency answering by link is staff answering for its organisation: what looks
    identifying is shown back, and it may confirm it is not (recorded as by the link)."""
    from app.auditlog.models import AuditEvent
    from app.identify.entry import CONFIRM_FIELD

    path, return_, version = self_assessment
    page = web.get(path)
    fields = _complete(version)
    first = version.key_areas[0]
    fields[f"ev-{first.id}-went_well"] = "Reviewed by Sarah Jenkins, 07700 900123, in May."
    refused = web.post(path, data=form_fields(page.text, **fields, then="send"))
    assert refused.status_code == 422 and f'name="{CONFIRM_FIELD}"' in refused.text
    done = web.post(
        path, data=form_fields(refused.text, **fields, then="send", **{CONFIRM_FIELD: "yes"})
    )
    assert done.status_code == 200, done.text
    assert (
        db.scalar(
            select(AuditEvent.user_label).where(
                AuditEvent.action == "identify.confirmed", AuditEvent.object_id == return_.id
            )
        )
        == "by one-time link"
    )
