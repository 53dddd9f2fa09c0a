"""The respondent's form (app/respond/pages.py): no sign-in and no cookie; a draft saved
with the same link; the error summary; sent once, after which the link cannot be used;
expiry; a newer link; the identification guard; the form's own token; and nothing else
reachable with it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.auditlog.models import AuditEvent
from app.identify.entry import CONFIRM_FIELD
from app.respond import survey
from app.respond.models import RespondentLink
from app.returns import service as returns
from app.returns.models import Answer, Return, ReturnStatus, ReturnSubmission
from app.returns.schemas import AnswerIn
from tests.helpers.factories import make_audit, make_template
from tests.respond.conftest import answered, form_fields, issue

HREF = re.compile(r'href="([^"]*)"')
REFUSED = "This link cannot be used"


@pytest.fixture
def linked(db, admin, family_survey, settings):
    """A link for Child A's family: (its path, the return, the link)."""
    return_ = family_survey.return_for(db)
    link, token = issue(db, family_survey.survey, return_, admin, settings)
    return f"/respond/{token}", return_, link


def _return(db, return_id: int) -> Return:
    return db.get(Return, return_id)


class TestThePage:
    def test_a_gov_uk_form_that_links_nowhere_and_sets_no_cookie(self, web, linked, family_survey):
        path, _return_, _link = linked
        page = web.get(path)
        assert page.status_code == 200, page.text
        text = page.text
        assert "Your experience of the help you were given" in text
        assert "govuk-service-navigation" not in text and "Sign out" not in text
        assert "Child A" not in text  # the pseudonym means nothing to the family
        # Every link is within the page, or the page's own styles and scripts.
        assert [
            h for h in HREF.findall(text) if not h.startswith(("#", "/assets/", "/static/"))
        ] == []
        assert "set-cookie" not in page.headers
        assert 'class="govuk-fieldset__heading">Your experience' in text
        for question in family_survey.version.key_areas[0].questions:
            assert f'name="q-{question.id}"' in text
        # The guidance is for a practitioner asking a family, not for the family.
        assert "Record &#34;partly&#34;" not in text and 'Record "partly"' not in text

    def test_opening_it_is_logged_as_the_links_read(self, web, db, linked):
        path, return_, _link = linked
        assert web.get(path).status_code == 200
        read = db.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "return.read", AuditEvent.object_id == return_.id
            )
        )
        assert read.user_label == "by one-time link" and read.user_id is None

    def test_an_unknown_link(self, web):
        for token in ("x" * 43, "not-a-token", "a" * 300):
            page = web.get(f"/respond/{token}")
            assert page.status_code == 404 and REFUSED in page.text
            assert [
                h
                for h in HREF.findall(page.text)
                if not h.startswith(("#", "/assets/", "/static/"))
            ] == []


class TestSaving:
    def test_save_and_come_back_later(self, web, db, linked, family_survey):
        path, return_, link = linked
        page = web.get(path).text
        first = family_survey.version.key_areas[0].questions[0]
        saved = web.post(
            path, data=form_fields(page, **{f"q-{first.id}": "partly", "then": "save"})
        )
        assert saved.status_code == 200, saved.text
        assert "Your answers have been saved" in saved.text
        again = _return(db, return_.id)
        assert again.status == ReturnStatus.DRAFT
        assert again.auditor_name == "Family member (by link)"
        value = db.scalar(
            select(Answer.value).where(
                Answer.return_id == return_.id, Answer.question_id == first.id
            )
        )
        assert value == "partly"
        # The same link opens it again, with the answer in it.
        reopened = web.get(path).text
        assert (
            f'id="q-{first.id}-2" name="q-{first.id}" type="radio" value="partly" checked'
            in reopened
        )
        assert db.get(RespondentLink, link.id).used_at is None
        changes = db.scalars(
            select(AuditEvent.user_label).where(
                AuditEvent.action == "return.save_draft", AuditEvent.object_id == return_.id
            )
        ).all()
        assert changes == ["by one-time link"]

    def test_sending_with_answers_missing_shows_the_error_summary(
        self, web, db, linked, family_survey
    ):
        path, return_, link = linked
        page = web.get(path).text
        first = family_survey.version.key_areas[0].questions[0]
        sent = web.post(path, data=form_fields(page, **{f"q-{first.id}": "no", "then": "send"}))
        assert sent.status_code == 422
        assert "govuk-error-summary" in sent.text and "There is a problem" in sent.text
        second = family_survey.version.key_areas[0].questions[1]
        assert f'href="#q-{second.id}"' in sent.text
        assert "Select yes, partly or no for" in sent.text
        assert _return(db, return_.id).status == ReturnStatus.DRAFT  # the draft is kept
        assert db.get(RespondentLink, link.id).used_at is None
        # Sent again, complete, from the page shown with the errors.
        done = web.post(
            path, data=form_fields(sent.text, **answered(family_survey.version), then="send")
        )
        assert done.status_code == 200, done.text
        assert "Your answers have been sent" in done.text

    def test_a_date_that_is_not_one_is_the_pages_own_error(self, web, db, admin, settings):
        version = make_template(db)  # about children, with a date question
        source = make_audit(db, children=1, agencies_count=1)
        made = survey.create_survey(
            db,
            audit=source,
            template_version_id=version.id,
            agency_id=source.agencies[0].id,
            returns_due_on=source.returns_due_on,
            today=source.returns_due_on - timedelta(days=1),
        )
        return_ = db.scalar(select(Return).where(Return.audit_id == made.id))
        _link, token = issue(db, made, return_, admin, settings)
        path = f"/respond/{token}"
        page = web.get(path).text
        when = next(q for q in version.key_areas[0].questions if q.answer_type.value == "date")
        r = web.post(
            path,
            data=form_fields(
                page,
                **{
                    f"q-{when.id}-day": "31",
                    f"q-{when.id}-month": "2",
                    f"q-{when.id}-year": "2026",
                    "then": "save",
                },
            ),
        )
        assert r.status_code == 422 and f'href="#q-{when.id}-day"' in r.text
        assert "must be a real date" in r.text


class TestSending:
    def test_sent_once_then_the_link_cannot_be_used(self, web, db, linked, family_survey):
        path, return_, link = linked
        page = web.get(path).text
        fields = form_fields(
            page, **answered(family_survey.version, words="They listened."), then="send"
        )
        done = web.post(path, data=fields)
        assert done.status_code == 200, done.text
        assert "govuk-panel" in done.text and "Your answers have been sent" in done.text
        sent = _return(db, return_.id)
        assert sent.status == ReturnStatus.SUBMITTED
        assert db.get(RespondentLink, link.id).used_at is not None
        version = db.scalar(
            select(ReturnSubmission).where(ReturnSubmission.return_id == return_.id)
        )
        assert version.submitted_by == "Family member (by link)"
        logged = {
            e.action: e.user_label
            for e in db.scalars(
                select(AuditEvent).where(AuditEvent.object_id.in_([return_.id, link.id]))
            )
        }
        assert logged["return.submit"] == "by one-time link"
        assert logged["respondent_link.use"] == "by one-time link"
        # Used up: the same page for opening it and for posting to it again.
        again = web.get(path)
        assert again.status_code == 410 and REFUSED in again.text
        repost = web.post(path, data=fields)
        assert repost.status_code == 410 and REFUSED in repost.text
        assert _return(db, return_.id).version == sent.version

    def test_it_expires(self, web, db, linked, clock, settings):
        path, _return_, _link = linked
        clock.shift(timedelta(days=settings.respondent_link_days, seconds=-1))
        assert web.get(path).status_code == 200
        clock.shift(timedelta(seconds=1))
        page = web.get(path)
        assert page.status_code == 410 and REFUSED in page.text

    def test_a_newer_link_voids_it(self, web, db, linked, admin, family_survey, settings):
        path, return_, _link = linked
        _newer, token = issue(db, family_survey.survey, return_, admin, settings)
        assert web.get(path).status_code == 410
        assert web.get(f"/respond/{token}").status_code == 200

    def test_a_return_sent_by_other_means_closes_the_link(self, web, db, linked, family_survey):
        # The carrying agency's auditor filled it in with the family by telephone.
        path, return_, _link = linked
        returns.save_draft(
            db,
            return_=return_,
            read_version=return_.version,
            answers=[
                AnswerIn(question_id=q.id, value="yes")
                for q in family_survey.version.key_areas[0].questions
                if q.answer_type.value != "free_text"
            ],
            grades=[],
            evidence=[],
        )
        found = _return(db, return_.id)
        returns.submit(db, return_=found, read_version=found.version)
        db.commit()
        assert web.get(path).status_code == 410

    def test_identifying_words_are_flagged_then_changed(self, web, db, linked, family_survey):
        """A family is shown what looks identifying and changes it: they are not offered
        the staff's confirmation (what they write is shown to every agency)."""
        path, return_, _link = linked
        page = web.get(path).text
        words = "Our worker Sarah Jenkins phoned us on 07700 900123 every week."
        fields = form_fields(page, **answered(family_survey.version, words=words), then="send")
        refused = web.post(path, data=fields)
        assert refused.status_code == 422
        assert f'name="{CONFIRM_FIELD}"' not in refused.text and "could identify" in refused.text
        free = next(
            q
            for q in family_survey.version.key_areas[0].questions
            if q.answer_type.value == "free_text"
        )
        assert f'href="#q-{free.id}"' in refused.text
        assert _return(db, return_.id).status == ReturnStatus.DRAFT
        changed = "Our social worker phoned us every week."
        fields = form_fields(
            refused.text, **answered(family_survey.version, words=changed), then="send"
        )
        done = web.post(path, data=fields)
        assert done.status_code == 200, done.text
        assert _return(db, return_.id).status == ReturnStatus.SUBMITTED


class TestTheFormsOwnToken:
    def test_a_post_without_the_pages_token_saves_nothing(self, web, db, linked, family_survey):
        path, return_, _link = linked
        page = web.get(path).text
        fields = form_fields(page, **answered(family_survey.version), then="send")
        r = web.post(path, data={**fields, "csrf_token": "0" * 64})
        assert r.status_code == 400 and "nothing was saved" in r.text
        r = web.post(path, data={k: v for k, v in fields.items() if k != "csrf_token"})
        assert r.status_code == 400
        assert _return(db, return_.id).status == ReturnStatus.NOT_STARTED

    def test_a_post_from_another_site_saves_nothing(self, web, db, linked, family_survey):
        path, return_, _link = linked
        page = web.get(path).text
        fields = form_fields(page, **answered(family_survey.version), then="send")
        r = web.post(path, data=fields, headers={"Origin": "https://attacker.example"})
        assert r.status_code == 400
        assert _return(db, return_.id).status == ReturnStatus.NOT_STARTED

    def test_another_links_token_does_not_fit(
        self, web, db, linked, admin, family_survey, settings
    ):
        path, _return_, _link = linked
        other_return = family_survey.return_for(db, "Child B")
        _other, token = issue(db, family_survey.survey, other_return, admin, settings)
        other_page = web.get(f"/respond/{token}").text
        fields = form_fields(other_page, **answered(family_survey.version), then="save")
        assert web.post(path, data=fields).status_code == 400


class TestNothingElse:
    def test_the_link_reaches_nothing_else(self, web, db, linked, family_survey):
        path, return_, _link = linked
        assert web.get(path).status_code == 200
        assert dict(web.cookies) == {}
        r = web.get("/my-work", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")
        other = family_survey.return_for(db, "Child B")
        for target in (return_.id, other.id):
            r = web.get(f"/returns/{target}", follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")
            assert web.get(f"/api/v1/returns/{target}").status_code == 401
        assert (
            web.get(
                f"/audits/{family_survey.survey.id}/respondent-links", follow_redirects=False
            ).status_code
            == 303
        )
        # No other id in the address reaches anything: the path has the token only.
        assert web.get(f"{path}/{other.id}").status_code == 404


class TestTwoAtOnce:
    def test_a_page_opened_before_another_save_is_refused_not_overwriting(
        self, web, db, linked, family_survey
    ):
        path, return_, _link = linked
        page = web.get(path).text
        other_tab = web.get(path).text
        first, second = family_survey.version.key_areas[0].questions[:2]
        saved = web.post(path, data=form_fields(page, **{f"q-{first.id}": "no", "then": "save"}))
        assert saved.status_code == 200
        stale = web.post(
            path, data=form_fields(other_tab, **{f"q-{second.id}": "yes", "then": "save"})
        )
        assert stale.status_code == 409 and "nothing was saved" in stale.text
        assert 'value="yes" checked' in stale.text  # what they chose is still on the page
        kept = dict(
            db.execute(
                select(Answer.question_id, Answer.value).where(Answer.return_id == return_.id)
            ).all()
        )
        assert kept == {first.id: "no"}
        # Saved again from the page the refusal showed: it has the version now.
        again = web.post(
            path,
            data=form_fields(
                stale.text, **{f"q-{first.id}": "no", f"q-{second.id}": "yes", "then": "save"}
            ),
        )
        assert again.status_code == 200
