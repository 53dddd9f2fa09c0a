"""The families' voice beside an audit's grades: what the family of each child answered
in the audit's family surveys (``Audit.survey_of_audit_id``), matched by the child's
pseudonym, and how many families gave each answer to each question, small counts
suppressed as everywhere else (``identify.suppress``).

Whoever may read the audit's moderation view may read this: someone who may read
returns, the audit in their scope, at the stage the moderation view shows it to them
(``moderation.service.check_visible``). The templates
``respond/_family_child.html`` (one child's answers, for beside that child's grades)
and ``respond/_family_counts.html`` (the counts, for the grid and the reports) draw it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.policy import (
    SUBMITTED_STATUSES,
    Actor,
    Forbidden,
    Permission,
    audit_scope,
)
from app.audit_templates import service as templates
from app.audit_templates.models import AnswerType, Question
from app.audits.models import Audit, AuditStatus, Child
from app.errors import NotFound
from app.identify.suppress import NOT_SHOWN, Line, fewer_than, suppress_line
from app.moderation.service import check_visible
from app.returns.models import Answer, Return
from app.returns.wording import YES_PARTLY_NO, answer_text

# The answers counted, and how a table heads them.
COUNTED = {
    AnswerType.YES_PARTLY_NO: ("yes", "partly", "no"),
    AnswerType.YES_NO: ("yes", "no"),
}


@dataclass(frozen=True)
class FamilyResponse:
    """One family's submitted survey: each question answered, as the template words it."""

    survey_title: str
    submitted_at: datetime | None
    answers: list[tuple[str, str]]  # (question, answer in words)


@dataclass
class ChildVoice:
    """What the family of one child (by pseudonym) said, in each survey they answered."""

    pseudonym: str
    responses: list[FamilyResponse] = field(default_factory=list)


@dataclass(frozen=True)
class QuestionCounts:
    """How many families gave each answer to one question; a count from 1 to the
    threshold less one is shown as "fewer than N", with whatever else would give it
    away (``suppress.suppress_line``)."""

    prompt: str
    answers: tuple[tuple[str, str], ...]  # (stored value, heading), in order
    line: Line
    choice: bool = False  # answered with the template's own options, not yes/partly/no

    @property
    def total(self) -> int:
        return sum(self.line.counts.values())

    def shown(self, value: str) -> str:
        if self.line.withheld:
            return NOT_SHOWN
        return str(self.line.shown(value))

    @property
    def total_shown(self) -> str:
        total = self.total
        return fewer_than(self.line.threshold) if 0 < total < self.line.threshold else str(total)


@dataclass(frozen=True)
class SurveyInfo:
    audit_id: int
    title: str
    status: AuditStatus
    asked: int  # families asked (returns not left out)
    answered: int  # of them, those who sent their answers


@dataclass
class FamilyVoice:
    """The families' answers for one audit: per child, and counted per question."""

    audit_id: int
    threshold: int
    surveys: list[SurveyInfo] = field(default_factory=list)
    children: dict[str, ChildVoice] = field(default_factory=dict)
    questions: list[QuestionCounts] = field(default_factory=list)

    def child(self, pseudonym: str) -> ChildVoice | None:
        """One child's slice (None: their family has not answered)."""
        return self.children.get(pseudonym)

    @property
    def answered(self) -> int:
        return len(self.children)

    @property
    def answered_shown(self) -> str:
        n = self.answered
        return fewer_than(self.threshold) if 0 < n < self.threshold else str(n)


def family_answers(session: Session, *, audit_id: int, actor: Actor, threshold: int) -> FamilyVoice:
    """The families' answers to the surveys of audit ``audit_id`` (the audit asked
    about, not a survey), for ``actor``: Forbidden (403) for a role that reads no
    returns, NotFound (404) for an audit out of their scope or not at their stage."""
    if not actor.may(Permission.RETURN_READ):
        raise Forbidden("Your role does not allow this.")
    audit = session.scalar(select(Audit).where(Audit.id == audit_id, audit_scope(actor)))
    if audit is None:
        raise NotFound(f"There is no audit with id {audit_id}.")
    check_visible(actor, audit)
    voice = FamilyVoice(audit_id=audit.id, threshold=threshold)
    surveys = session.scalars(
        select(Audit)
        .where(Audit.survey_of_audit_id == audit.id)
        .order_by(Audit.created_at, Audit.id)
    ).all()
    counted: dict[str, Counter] = {}
    kinds: dict[str, tuple[tuple[str, str], ...]] = {}
    choice: set[str] = set()
    for survey in surveys:
        version = templates.get_version(session, version_id=survey.template_version_id)
        asked: list[Question] = [
            q for k in version.key_areas for q in k.questions
        ] + version.case_questions
        rows = session.execute(
            select(
                Return.id, Return.status, Return.excluded_at, Return.submitted_at, Child.pseudonym
            )
            .join(Child, Child.id == Return.child_id)
            .where(Return.audit_id == survey.id)
            .order_by(Child.pseudonym, Return.id)
        ).all()
        sent = [r for r in rows if r.status in SUBMITTED_STATUSES and r.excluded_at is None]
        voice.surveys.append(
            SurveyInfo(
                audit_id=survey.id,
                title=survey.title,
                status=survey.status,
                asked=sum(r.excluded_at is None for r in rows),
                answered=len(sent),
            )
        )
        values: dict[int, dict[int, str]] = {r.id: {} for r in sent}
        for return_id, question_id, value in session.execute(
            select(Answer.return_id, Answer.question_id, Answer.value).where(
                Answer.return_id.in_(list(values))
            )
        ):
            values[return_id][question_id] = value
        for question in asked:
            heads = _heads(question)
            if heads and question.prompt not in kinds:
                kinds[question.prompt] = heads
                counted[question.prompt] = Counter()
                if question.answer_type == AnswerType.SINGLE_CHOICE:
                    choice.add(question.prompt)
        for r in sent:
            given = values[r.id]
            said = [(q.prompt, answer_text(q, given[q.id])) for q in asked if given.get(q.id)]
            voice.children.setdefault(r.pseudonym, ChildVoice(r.pseudonym)).responses.append(
                FamilyResponse(survey.title, r.submitted_at, said)
            )
            for q in asked:
                if q.prompt in counted and given.get(q.id):
                    counted[q.prompt][given[q.id]] += 1
    for prompt, heads in kinds.items():
        counts = {value: counted[prompt].get(value, 0) for value, _head in heads}
        voice.questions.append(
            QuestionCounts(
                prompt,
                heads,
                suppress_line(counts, threshold=threshold),
                choice=prompt in choice,
            )
        )
    return voice


def voice_for(
    session: Session, *, audit: Audit, actor: Actor, threshold: int
) -> FamilyVoice | None:
    """What the moderation pages and reports show beside an audit's grades: its
    families' answers, or None for an audit about agencies (it has no families) or one
    this reader may not see them for (the page itself says why)."""
    if audit.about_agencies:
        return None
    try:
        return family_answers(session, audit_id=audit.id, actor=actor, threshold=threshold)
    except (Forbidden, NotFound):
        return None


def _heads(question: Question) -> tuple[tuple[str, str], ...]:
    """The answers counted for a question (none for one answered in words, a date or a
    number), each with its heading."""
    if question.answer_type in COUNTED:
        heads = tuple((v, YES_PARTLY_NO[v]) for v in COUNTED[question.answer_type])
    elif question.answer_type == AnswerType.SINGLE_CHOICE:
        heads = tuple((option, option) for option in question.options)
    else:
        return ()
    if question.not_applicable is not None:
        heads += (("not_applicable", question.not_applicable),)
    return heads
