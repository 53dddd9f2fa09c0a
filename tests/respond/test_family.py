"""The families' voice beside an audit's grades (app/respond/family.py): each child's
family's answers by pseudonym, and each question's answers counted across families,
small counts suppressed; read by whoever may read the audit's moderation view; and the
two partial templates that draw it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from markupsafe import escape
from sqlalchemy import select

from app.access.models import Role
from app.access.policy import SYSTEM, Actor, Forbidden
from app.audits.models import AuditStatus, Child
from app.errors import NotFound
from app.respond import survey
from app.respond.family import family_answers
from app.returns import service as returns
from app.returns.models import Return
from app.returns.schemas import AnswerIn
from app.templating import environment
from tests.helpers.audits import set_status
from tests.helpers.factories import make_agency, make_audit
from tests.helpers.links import NOON
from tests.respond.conftest import shipped

THRESHOLD = 5


def _answer(db, return_: Return, values: dict[int, str], *, send: bool = True) -> None:
    returns.save_draft(
        db,
        return_=return_,
        read_version=return_.version,
        answers=[AnswerIn(question_id=q, value=v) for q, v in values.items()],
        grades=[],
        evidence=[],
    )
    if send:
        found = db.get(Return, return_.id)
        returns.submit(db, return_=found, read_version=found.version, confirmed=True)


@pytest.fixture
def surveyed(db):
    """An open audit of eight children whose family survey seven families have sent:
    every family said yes to the first question but Child G's (no); to the third, three
    said partly and four no; the eighth family has only a draft. (source, survey, the
    survey's questions)."""
    version = shipped(db, "family-feedback-survey")
    source = make_audit(db, children=8, agencies_count=2)
    made = survey.create_survey(
        db,
        audit=source,
        template_version_id=version.id,
        agency_id=source.agencies[0].id,
        returns_due_on=NOON.date() + timedelta(days=7),
        today=NOON.date(),
    )
    questions = version.key_areas[0].questions
    by_child = {
        pseudonym: r
        for r, pseudonym in db.execute(
            select(Return, Child.pseudonym)
            .join(Child, Child.id == Return.child_id)
            .where(Return.audit_id == made.id)
        )
    }
    for n, pseudonym in enumerate(sorted(by_child)):
        values = {q.id: "yes" for q in questions if q.answer_type.value != "free_text"}
        values[questions[0].id] = "no" if pseudonym == "Child G" else "yes"
        values[questions[2].id] = "partly" if n < 3 else "no"
        if pseudonym == "Child A":
            values[questions[5].id] = "They listened to us and explained the plan."
        _answer(db, by_child[pseudonym], values, send=pseudonym != "Child H")
    db.commit()
    return source, made, questions


def _moderator() -> Actor:
    return Actor(user_id=None, label="chair", roles=frozenset({Role.MODERATOR}))


class TestTheAnswers:
    def test_each_childs_family_by_pseudonym(self, db, surveyed):
        source, made, questions = surveyed
        voice = family_answers(db, audit_id=source.id, actor=_moderator(), threshold=THRESHOLD)
        assert sorted(voice.children) == [f"Child {c}" for c in "ABCDEFG"]  # H: a draft only
        [said] = voice.child("Child A").responses
        assert said.survey_title == made.title
        assert (questions[5].prompt, "They listened to us and explained the plan.") in said.answers
        assert (questions[0].prompt, "Yes") in said.answers
        assert voice.child("Child H") is None
        [info] = voice.surveys
        assert (info.asked, info.answered) == (8, 7)
        assert voice.answered == 7 and voice.answered_shown == "7"

    def test_counts_with_small_ones_suppressed(self, db, surveyed):
        source, _made, questions = surveyed
        voice = family_answers(db, audit_id=source.id, actor=_moderator(), threshold=THRESHOLD)
        counted = {q.prompt: q for q in voice.questions}
        assert questions[5].prompt not in counted  # answered in words: not counted
        first = counted[questions[0].prompt]
        assert first.line.counts == {"yes": 6, "partly": 0, "no": 1}
        # "no" is 1, so fewer than 5; "yes" would give it away (7 answered), so not shown.
        assert [first.shown(v) for v in ("yes", "partly", "no")] == [
            "not shown",
            "0",
            "fewer than 5",
        ]
        assert first.total_shown == "7"
        third = counted[questions[2].prompt]
        assert [third.shown(v) for v in ("yes", "partly", "no")] == [
            "0",
            "fewer than 5",
            "fewer than 5",
        ]
        second = counted[questions[1].prompt]
        assert [second.shown(v) for v in ("yes", "partly", "no")] == ["7", "0", "0"]

    def test_a_threshold_of_one_hides_nothing(self, db, surveyed):
        source, _made, questions = surveyed
        voice = family_answers(db, audit_id=source.id, actor=_moderator(), threshold=1)
        first = next(q for q in voice.questions if q.prompt == questions[0].prompt)
        assert [first.shown(v) for v in ("yes", "partly", "no")] == ["6", "0", "1"]

    def test_an_audit_with_no_survey(self, db):
        audit = make_audit(db, children=1, agencies_count=1)
        voice = family_answers(db, audit_id=audit.id, actor=SYSTEM, threshold=THRESHOLD)
        assert voice.surveys == [] and voice.children == {} and voice.questions == []
        assert (
            environment.get_template("respond/_family_counts.html").render(family=voice).strip()
            == ""
        )


class TestWhoMayRead:
    def test_as_the_moderation_view(self, db, surveyed):
        source, _made, _questions = surveyed
        carrier = source.agencies[0].id
        auditor = Actor(
            user_id=None, label="auditor", roles=frozenset({Role.AUDITOR}), agency_id=carrier
        )
        admin = Actor(user_id=None, label="admin", roles=frozenset({Role.ADMIN}))
        scrutineer = Actor(user_id=None, label="scrutineer", roles=frozenset({Role.SCRUTINEER}))
        outsider = Actor(
            user_id=None,
            label="outsider",
            roles=frozenset({Role.AUDITOR}),
            agency_id=make_agency(db).id,
        )
        family_answers(db, audit_id=source.id, actor=scrutineer, threshold=THRESHOLD)
        with pytest.raises(Forbidden):  # the business unit reads no returns
            family_answers(db, audit_id=source.id, actor=admin, threshold=THRESHOLD)
        with pytest.raises(NotFound):  # agencies only while in moderation
            family_answers(db, audit_id=source.id, actor=auditor, threshold=THRESHOLD)
        set_status(db, source.id, AuditStatus.MODERATION)
        db.expire_all()
        assert (
            family_answers(db, audit_id=source.id, actor=auditor, threshold=THRESHOLD).answered == 7
        )
        with pytest.raises(NotFound):  # an agency not in the audit
            family_answers(db, audit_id=source.id, actor=outsider, threshold=THRESHOLD)


class TestThePartials:
    def test_the_counts_table_and_one_childs_answers(self, db, surveyed):
        source, made, questions = surveyed
        voice = family_answers(db, audit_id=source.id, actor=_moderator(), threshold=THRESHOLD)
        counts = environment.get_template("respond/_family_counts.html").render(family=voice)
        assert "What families said" in counts and made.title in counts
        assert "fewer than 5" in counts and "not shown" in counts
        assert str(escape(questions[0].prompt)) in counts
        assert str(escape(questions[5].prompt)) not in counts
        child = environment.get_template("respond/_family_child.html")
        shown = child.render(family=voice, family_child=voice.child("Child A"))
        assert "What the family said" in shown
        assert "They listened to us and explained the plan." in shown
        none = child.render(family=voice, family_child=voice.child("Child H"))
        assert "The family has not sent answers to the survey." in none
        assert (
            child.render(family_child=voice.child("Child A"), family_heading_level=4).count("<h4")
            == 1
        )


class TestBesideTheGrades:
    """The moderation pages show the families' answers: each child's beside that child's
    grades in the meeting (and its printed pack), the counts on the grid."""

    def test_the_meeting_shows_the_childs_family_and_the_grid_the_counts(
        self, client, db, surveyed
    ):
        source, _made, questions = surveyed
        set_status(db, source.id, AuditStatus.MODERATION)
        db.commit()
        child_a = db.scalar(
            select(Child).where(Child.audit_id == source.id, Child.pseudonym == "Child A")
        )
        meeting = client.get(f"/audits/{source.id}/moderation/meeting?child={child_a.id}")
        assert meeting.status_code == 200
        assert "What the family said" in meeting.text
        assert "They listened to us and explained the plan." in meeting.text
        pack = client.get(f"/audits/{source.id}/moderation/meeting/pack?child={child_a.id}")
        assert "They listened to us and explained the plan." in pack.text
        child_h = db.scalar(
            select(Child).where(Child.audit_id == source.id, Child.pseudonym == "Child H")
        )
        draft_only = client.get(f"/audits/{source.id}/moderation/meeting?child={child_h.id}")
        assert "The family has not sent answers to the survey." in draft_only.text
        grid = client.get(f"/audits/{source.id}/moderation").text
        assert "What families said" in grid
        assert str(escape(questions[2].prompt)) in grid
        # Three families said partly to the third question: fewer than five.
        assert "fewer than 5" in grid

    def test_an_audit_without_a_survey_shows_nothing_of_families(self, client, db):
        audit = make_audit(db, children=1, agencies_count=1)
        set_status(db, audit.id, AuditStatus.MODERATION)
        db.commit()
        assert "What families said" not in client.get(f"/audits/{audit.id}/moderation").text
        child = db.scalar(select(Child).where(Child.audit_id == audit.id))
        page = client.get(f"/audits/{audit.id}/moderation/meeting?child={child.id}").text
        assert "What the family said" not in page

    def test_the_subgroup_report_counts_what_families_said(self, db, surveyed, settings):
        from app.briefings import content, render

        source, _made, questions = surveyed
        set_status(db, source.id, AuditStatus.MODERATION)
        db.flush()
        context = content.subgroup_report_context(
            db,
            audits=[db.get(type(source), source.id)],
            subgroup_name="QAPP",
            marking="OFFICIAL-SENSITIVE",
            version_label="Version 1",
            dated=NOON.date(),
            today=NOON.date(),
            settings=settings,
        )
        html = render.html_for("subgroup-report", context)
        assert "What families said" in html
        assert str(escape(questions[2].prompt)) in html
        assert "fewer than 5" in html  # three families said partly
        # The report counts; it never quotes a family's own words.
        assert "They listened to us" not in html
