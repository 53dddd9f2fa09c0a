"""What keeps a family's answers with their own child, and the public form whole: a
surveyed audit's children can no longer be removed or renamed; a field or version no
reader would type ("²") is refused, never a 500; a family changes what looks
identifying rather than confirming it; one family is not given away by "family"; a
family survey is not the agency's auditors' work (no "audit opened" e-mail, no
reminders)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.access.policy import SYSTEM
from app.audits import cohort
from app.audits import service as audits
from app.audits.models import Child
from app.errors import Conflict
from app.forms import whole_number
from app.notifications.models import Notification
from app.respond import family
from app.templating import environment
from tests.respond.conftest import answered, form_fields, issue


@pytest.fixture
def linked(db, admin, family_survey, settings):
    return_ = family_survey.return_for(db)
    _link, token = issue(db, family_survey.survey, return_, admin, settings)
    return f"/respond/{token}"


def test_a_surveyed_audits_children_are_neither_removed_nor_renamed(db, family_survey):
    source = audits.get_audit(db, audit_id=family_survey.source.id, actor=SYSTEM)
    child = db.scalar(
        select(Child).where(Child.audit_id == source.id, Child.pseudonym == "Child C")
    )
    with pytest.raises(Conflict, match="family survey"):
        cohort.remove_child(db, audit=source, child=child)
    with pytest.raises(Conflict, match="family survey"):
        cohort.update_child(db, audit=source, child=child, changes={"pseudonym": "Child Z"})
    # Its age band may still be put right: the pseudonym, which the survey follows, stays.
    cohort.update_child(db, audit=source, child=child, changes={"age_band": "5-9"})


@pytest.mark.parametrize("text", ["²", "٣", "1²", "", "-1", "1" * 10, None])
def test_whole_number_reads_only_ascii_digits(text):
    assert whole_number(text) is None


def test_whole_number_reads_a_number():
    assert whole_number("0") == 0 and whole_number("123456789") == 123_456_789


def test_the_public_form_refuses_a_field_or_version_no_one_would_type(web, linked):
    page = web.get(linked).text
    odd_field = {**form_fields(page, then="save"), "csrf_token": "0" * 64, "q-\u00b2": "x"}
    assert web.post(linked, data=odd_field).status_code < 500
    odd_version = {**form_fields(page, then="save"), "version": "\u00b2"}
    assert web.post(linked, data=odd_version).status_code < 500


def test_a_family_changes_what_looks_identifying_and_is_not_asked_to_confirm_it(
    web, linked, family_survey
):
    page = web.get(linked).text
    words = "Jayden Okafor's teacher at Northfield Primary listened to us."
    fields = form_fields(page, **answered(family_survey.version, words=words), then="send")
    refused = web.post(linked, data=fields)
    assert refused.status_code == 422
    assert 'name="confirm_identifying"' not in refused.text
    # Ticking the staff's confirmation anyway (the page now holds the saved draft).
    ticked = form_fields(
        refused.text,
        **answered(family_survey.version, words=words),
        then="send",
        confirm_identifying="yes",
    )
    again = web.post(linked, data=ticked)
    assert again.status_code == 422, "a family's confirmation is not taken"
    assert "Your answers have been sent" not in again.text


def test_one_family_is_not_given_away_by_the_singular():
    voice = family.FamilyVoice(audit_id=1, threshold=5)
    voice.surveys.append(family.SurveyInfo(2, "Family survey: X", "open", 3, 1))
    voice.children["Child A"] = family.ChildVoice("Child A")
    html = " ".join(
        environment.get_template("respond/_family_counts.html").render(family=voice).split()
    )
    assert "families who sent their answers: fewer than 5." in html
    assert "fewer than 5 family" not in html


def test_a_family_survey_tells_no_auditor_it_is_their_work(db, family_survey):
    told = db.scalars(
        select(Notification).where(
            Notification.kind == "audit_opened",
            Notification.object_id == family_survey.survey.id,
        )
    ).all()
    assert told == []


def test_the_daily_reminders_leave_a_family_survey_out(db, family_survey):
    """The survey's returns are the families' to answer: the carrying agency's auditors
    are not reminded of them, though they are of the audit the families were asked about."""
    from datetime import timedelta

    from app.access import service as access
    from app.access.models import Role
    from app.audits.models import Audit
    from app.reminders import service as reminders
    from app.returns.models import Return
    from tests.helpers.links import NOON

    carrier = db.scalar(
        select(Return.agency_id).where(Return.audit_id == family_survey.survey.id).limit(1)
    )
    access.create_user(
        db,
        email="auditor.carrier@example.org",
        display_name="Casey Carrier",
        roles={Role.AUDITOR},
        agency_id=carrier,
    )
    for audit_id in (family_survey.survey.id, family_survey.source.id):
        db.get(Audit, audit_id).returns_due_on = NOON.date() + timedelta(days=2)
    db.flush()
    found = reminders.digests(db, today=NOON.date(), base_url="https://audit.example.org")
    (digest,) = [d for d in found if d.email == "auditor.carrier@example.org"]
    listed = {item.id for item in digest.returns}
    survey_returns = set(
        db.scalars(select(Return.id).where(Return.audit_id == family_survey.survey.id))
    )
    source_returns = set(
        db.scalars(
            select(Return.id).where(
                Return.audit_id == family_survey.source.id, Return.agency_id == carrier
            )
        )
    )
    assert listed == source_returns and not listed & survey_returns
