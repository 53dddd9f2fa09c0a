"""Asking the families of an audit's children (app/respond/survey.py and its page): a
new audit on a survey about children, carried by one of the audit's agencies, with the
same children under the same pseudonyms and age bands, opened; linked to the audit."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.auditlog.models import AuditEvent
from app.audits import cohort
from app.audits.models import AgeBand, Audit, AuditStatus, Child, Involvement
from app.errors import InvalidInput, StateError
from app.respond import survey
from tests.helpers.access import browse_as
from tests.helpers.factories import make_audit
from tests.helpers.links import NOON
from tests.respond.conftest import shipped

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
TODAY = NOON.date()


def test_the_survey_has_the_same_children_and_is_open(db, family_survey):
    source, made = family_survey.source, family_survey.survey
    assert made.survey_of_audit_id == source.id and made.status == AuditStatus.OPEN
    assert made.title == f"Family survey: {source.title}"
    assert made.template_version_id == family_survey.version.id
    carried_by = source.agencies[0].id
    assert [a.id for a in made.agencies] == [carried_by]
    before = [(c.pseudonym, c.age_band) for c in cohort.list_children(db, audit=source)]
    after = cohort.list_children(db, audit=made)
    assert [(c.pseudonym, c.age_band) for c in after] == before
    assert {i.agency_id for c in after for i in c.involvements} == {carried_by}
    logged = db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "audit.survey_of", AuditEvent.object_id == made.id
        )
    )
    assert logged.after == {"survey_of_audit_id": source.id}
    actions = set(
        db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_id == made.id, AuditEvent.object_type == "audit"
            )
        )
    )
    assert {"audit.create", "audit.survey_of", "audit.open"} <= actions


def test_age_bands_come_too(db):
    version = shipped(db, "family-feedback-survey")
    source = make_audit(db, children=0, agencies_count=1, open_=False)
    cohort.add_child(
        db,
        audit=source,
        pseudonym="Child C",
        age_band=AgeBand.AGE_5_9,
        agency_ids=[source.agencies[0].id],
    )
    from app.audits import lifecycle

    lifecycle.open_audit(db, audit=source, confirm=True)
    made = survey.create_survey(
        db,
        audit=source,
        template_version_id=version.id,
        agency_id=source.agencies[0].id,
        returns_due_on=TODAY + timedelta(days=7),
        today=TODAY,
    )
    child = db.scalar(select(Child).where(Child.audit_id == made.id))
    assert (child.pseudonym, child.age_band) == ("Child C", AgeBand.AGE_5_9)
    assert (
        db.scalar(select(Involvement.agency_id).where(Involvement.child_id == child.id))
        == source.agencies[0].id
    )


class TestRefused:
    def _make(self, db, audit, **changes):
        version = shipped(db, "family-feedback-survey")
        given = {
            "template_version_id": version.id,
            "agency_id": audit.agencies[0].id,
            "returns_due_on": TODAY + timedelta(days=7),
            **changes,
        }
        return survey.create_survey(db, audit=audit, today=TODAY, **given)

    def test_an_agency_not_in_the_audit_a_past_date_or_a_template_about_agencies(self, db):
        source = make_audit(db, children=1, agencies_count=1)
        other = make_audit(db, children=1, agencies_count=1)
        agencies_template = shipped(db, "section-11-self-assessment")
        with pytest.raises(InvalidInput) as refused:
            self._make(
                db,
                source,
                agency_id=other.agencies[0].id,
                returns_due_on=TODAY,
                template_version_id=agencies_template.id,
            )
        assert {f.field for f in refused.value.fields} == {
            "template_version_id",
            "agency_id",
            "returns_due_on",
        }

    def test_a_survey_of_a_survey_or_a_planned_audit(self, db, family_survey):
        with pytest.raises(StateError):
            self._make(db, family_survey.survey)
        planned = make_audit(db, children=1, agencies_count=1, open_=False)
        with pytest.raises(StateError):
            self._make(db, planned)


class TestThePage:
    def test_an_administrator_asks_the_families(self, web, db, admin):
        version = shipped(db, "family-feedback-survey")
        shipped(db, "voice-of-the-child-send")  # another survey about children to choose
        source = make_audit(db, children=2, agencies_count=2)
        carrier = source.agencies[1].id
        db.commit()
        browse_as(web, db, admin)
        overview = web.get(f"/audits/{source.id}").text
        assert f'href="/audits/{source.id}/family-survey"' in overview
        page = web.get(f"/audits/{source.id}/family-survey")
        assert page.status_code == 200, page.text
        assert f'value="{version.id}" checked' in page.text  # the shipped survey, preselected
        assert "Section 11" not in page.text
        empty = web.post(
            f"/audits/{source.id}/family-survey",
            data={"csrf_token": CSRF.search(page.text)[1], "template_version_id": str(version.id)},
        )
        assert empty.status_code == 422
        assert 'href="#agency_id"' in empty.text and 'href="#returns_due_on-day"' in empty.text
        due = TODAY + timedelta(days=14)
        made = web.post(
            f"/audits/{source.id}/family-survey",
            data={
                "csrf_token": CSRF.search(page.text)[1],
                "template_version_id": str(version.id),
                "agency_id": str(carrier),
                "returns_due_on-day": str(due.day),
                "returns_due_on-month": str(due.month),
                "returns_due_on-year": str(due.year),
            },
            follow_redirects=False,
        )
        assert made.status_code == 303, made.text
        survey_audit = db.scalar(select(Audit).where(Audit.survey_of_audit_id == source.id))
        assert made.headers["location"] == f"/audits/{survey_audit.id}/respondent-links"
        listed = web.get(made.headers["location"]).text
        assert "The family survey has been made and opened." in listed
        assert listed.count(">Make a link<span") == 2
        # The survey's own page leads to its links and back to the audit it asks about.
        survey_page = web.get(f"/audits/{survey_audit.id}").text
        assert f'href="/audits/{survey_audit.id}/respondent-links"' in survey_page
        assert f'href="/audits/{source.id}"' in survey_page
        assert "family-survey" not in survey_page  # no survey of a survey
        # The audit asked about leads to its survey and the survey's links.
        asked_about = web.get(f"/audits/{source.id}").text
        assert f'href="/audits/{survey_audit.id}">{survey_audit.title}</a>' in asked_about
        assert f'href="/audits/{survey_audit.id}/respondent-links"' in asked_about
        assert "Ask the families again" in asked_about

    def test_not_for_an_audit_about_agencies(self, web, db, admin):
        from app.audits import service as audits

        version = shipped(db, "section-11-self-assessment")
        audit = audits.create_audit(
            db, template_version_id=version.id, title="Section 11", agency_ids=[]
        )
        db.commit()
        browse_as(web, db, admin)
        page = web.get(f"/audits/{audit.id}/family-survey")
        assert page.status_code == 200 and "it has no children&#39;s families to ask" in page.text
        assert 'name="agency_id"' not in page.text
