"""Audits about agencies (Audit.subject): each agency taking part is one case, involving
only itself, made and removed with the agencies; no child can be added, drawn or
involved; the learning assurance questionnaire is one."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.audit_templates.models import AuditSubject
from app.audit_templates.schemas import TemplateContent
from app.audits import cohort, lifecycle
from app.audits import service as audits
from app.audits.models import Child, Involvement
from app.briefings import assurance
from app.briefings.models import Briefing, BriefingKind
from app.errors import Conflict, InvalidInput, StateError
from app.returns.models import Return, ReturnStatus
from tests.helpers.factories import make_agency, make_audit, template_content

API = "/api/v1"


def agency_template(db):
    from app.audit_templates import service as templates

    content = TemplateContent.model_validate({**template_content(), "subject": "agency"})
    version = templates.create_draft(db, content=content)
    templates.publish(db, version=version)
    return version


def cases(db, audit) -> list[tuple[str, int | None, list[int]]]:
    """Each case's label, agency and the agencies involved with it."""
    found = db.scalars(select(Child).where(Child.audit_id == audit.id).order_by(Child.pseudonym))
    return [
        (
            c.pseudonym,
            c.agency_id,
            list(db.scalars(select(Involvement.agency_id).where(Involvement.child_id == c.id))),
        )
        for c in found
    ]


@pytest.fixture
def planned(db):
    version = agency_template(db)
    police = make_agency(db, name="Northshire Police")
    school = make_agency(db, name="Northshire Academy Trust")
    audit = audits.create_audit(
        db,
        template_version_id=version.id,
        title="Self-assessment",
        returns_due_on=date.today() + timedelta(days=14),
        agency_ids=[police.id, school.id],
    )
    return audit, police, school


def test_each_agency_taking_part_is_its_own_case(db, planned):
    audit, police, school = planned
    assert audit.subject == AuditSubject.AGENCY and audit.words.many == "agencies"
    assert cases(db, audit) == [
        ("Northshire Academy Trust", school.id, [school.id]),
        ("Northshire Police", police.id, [police.id]),
    ]


def test_cases_follow_the_agencies_until_a_return_is_started(db, planned):
    audit, police, school = planned
    health = make_agency(db, name="Northshire Health")
    audit = audits.set_agencies(db, audit=audit, agency_ids=[police.id, health.id])
    assert cases(db, audit) == [
        ("Northshire Health", health.id, [health.id]),
        ("Northshire Police", police.id, [police.id]),
    ]
    started = db.scalar(select(Return).where(Return.agency_id == police.id))
    started.status = ReturnStatus.DRAFT
    db.flush()
    with pytest.raises(Conflict):
        audits.set_agencies(db, audit=audit, agency_ids=[health.id])


def test_no_child_can_be_added_drawn_or_involved(db, planned):
    audit, police, _school = planned
    with pytest.raises(StateError, match="about agencies"):
        cohort.add_child(db, audit=audit, pseudonym="Child A")
    with pytest.raises(StateError, match="about agencies"):
        cohort.draw_cohort(db, audit=audit, eligible=10, count=2, seed="s")
    case = db.scalar(select(Child).where(Child.agency_id == police.id))
    with pytest.raises(StateError, match="about agencies"):
        cohort.add_involvement(db, audit=audit, child=case, agency_id=police.id)
    with pytest.raises(StateError, match="about agencies"):
        cohort.remove_child(db, audit=audit, child=case)


def test_it_opens_without_children_but_not_without_agencies(db):
    version = agency_template(db)
    empty = audits.create_audit(
        db,
        template_version_id=version.id,
        title="No one yet",
        returns_due_on=date.today() + timedelta(days=14),
    )
    with pytest.raises(InvalidInput) as refused:
        lifecycle.open_audit(db, audit=empty, confirm=True)
    assert [f.field for f in refused.value.fields] == ["agency_ids"]
    audits.set_agencies(db, audit=empty, agency_ids=[make_agency(db).id])
    assert lifecycle.open_audit(db, audit=empty, confirm=True).status.value == "open"


def test_the_assurance_questionnaire_asks_each_agency_about_itself(db):
    source = make_audit(db, children=2, agencies_count=3)
    briefing = Briefing(audit_id=source.id, kind=BriefingKind.BRIEFING, title="Seen and heard")
    db.add(briefing)
    db.flush()
    questionnaire = assurance.launch(db, briefing=briefing, due_on=date.today() + timedelta(30))
    assert questionnaire.subject == AuditSubject.AGENCY
    assert cases(db, questionnaire) == sorted((a.name, a.id, [a.id]) for a in source.agencies)


def test_the_api_says_what_an_audit_looks_at(client, db, planned):
    audit, police, school = planned
    db.commit()
    found = client.get(f"{API}/audits/{audit.id}").json()
    assert (found["subject"], found["children_count"]) == ("agency", 2)
    refused = client.post(f"{API}/audits/{audit.id}/cohort/draw", json={"eligible": 5, "count": 1})
    assert refused.status_code == 409
    listed = client.get(f"{API}/audits/{audit.id}/children").json()["items"]
    assert {c["agency_id"] for c in listed} == {police.id, school.id}


def test_an_agency_given_a_renamed_agencys_old_name_is_told_apart(db, planned):
    from app.agencies import service as agencies

    audit, police, school = planned
    agencies.update_agency(db, agency=police, changes={"name": "Northshire Police (old)"})
    newer = make_agency(db, name="Northshire Police")
    audit = audits.set_agencies(db, audit=audit, agency_ids=[police.id, school.id, newer.id])
    labels = {agency_id: label for label, agency_id, _involved in cases(db, audit)}
    # The first case keeps the name it was planned with; the new one is told apart.
    assert labels == {
        police.id: "Northshire Police",
        school.id: "Northshire Academy Trust",
        newer.id: f"Northshire Police ({newer.id})",
    }


def test_an_agency_without_its_own_case_stops_the_audit_opening(db, planned):
    audit, police, _school = planned
    case = db.scalar(select(Child).where(Child.agency_id == police.id))
    db.delete(case)  # as a lost race would have left it
    db.flush()
    with pytest.raises(InvalidInput) as refused:
        lifecycle.open_audit(db, audit=audit, confirm=True)
    assert [(f.field, f.message) for f in refused.value.fields] == [
        ("agency_ids", "Northshire Police has no return of its own: save the agencies again")
    ]


def test_sent_back_its_agency_is_told_of_its_own_return(db, planned):
    from app.access import service as access
    from app.access.models import Role
    from app.notifications import notices
    from app.notifications.models import Notification

    audit, police, _school = planned
    lifecycle.open_audit(db, audit=audit, confirm=True)

    access.create_user(
        db,
        email="auditor.north@example.org",
        display_name="Nia North",
        roles={Role.AUDITOR},
        agency_id=police.id,
    )
    own = db.scalar(select(Return).where(Return.agency_id == police.id))
    notices.return_sent_back(db, return_=own, note="Add the training figures.")
    told = db.scalar(select(Notification).where(Notification.kind == "return_sent_back"))
    subject, body = told.subject, told.body
    assert subject == f"Return sent back for amendment: Northshire Police, {audit.title}"
    assert "Northshire Police's own return in the audit" in body
    assert "for Northshire Police" not in body
