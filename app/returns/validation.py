"""Answers checked against the audit's template: each answer against its question's
type (stored as canonical text: ``yes``, ``2024-03-31``, ``12.5``, an option's own
label, which keeps one simple table for five types), each grade against the scale,
and, before submitting, every required question answered and graded key area graded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, DecimalException

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit_templates import service as templates
from app.audit_templates.models import (
    BOX_NAMES,
    NOT_APPLICABLE,
    AnswerType,
    GradeLevel,
    KeyArea,
    Question,
    TemplateVersion,
)
from app.audits.models import Audit
from app.clock import today
from app.db import get_or_404
from app.errors import FieldError
from app.formatting import format_date
from app.returns.models import Answer, Grade, KeyAreaEvidence, Return
from app.returns.schemas import AnswerIn, EvidenceIn, GradeIn
from app.schemas_base import DATE_RANGE, EARLIEST_DATE, LATEST_DATE, check_text

YES_PARTLY_NO = ("yes", "partly", "no")
YES_NO = ("yes", "no")
MAX_TEXT = 20_000


@dataclass
class AuditTemplate:
    """The version an audit pinned, indexed by what a request refers to: questions
    (those about the whole case too) and key areas by id, grade levels by code,
    questions by key; with the period the audit looks at, for date questions."""

    version: TemplateVersion
    questions: dict[int, Question]
    key_areas: dict[int, KeyArea]
    levels: dict[str, GradeLevel]
    by_key: dict[str, Question] = field(default_factory=dict)
    period: tuple[date | None, date | None] = (None, None)

    def asked(self) -> list[Question]:
        """Every question in the order a return asks them: key areas, then the case."""
        version = self.version
        return [q for k in version.key_areas for q in k.questions] + version.case_questions


def template_for(session: Session, audit_id: int) -> tuple[Audit, AuditTemplate]:
    """The audit and its template, loaded once for checking a whole request."""
    audit = get_or_404(session, Audit, audit_id, what="audit")
    version = templates.get_version(session, version_id=audit.template_version_id)
    asked = [q for k in version.key_areas for q in k.questions] + version.case_questions
    questions = {q.id: q for q in asked}
    key_areas = {k.id: k for k in version.key_areas}
    levels = {lv.code: lv for lv in version.scale.levels} if version.scale else {}
    by_key = {q.key: q for q in asked if q.key}
    period = (audit.period_from, audit.period_to)
    return audit, AuditTemplate(version, questions, key_areas, levels, by_key, period)


def normalise_answer(
    question: Question,
    value: str | int | float,
    *,
    period: tuple[date | None, date | None] = (None, None),
) -> str:
    """The canonical text for an answer, or ValueError saying what is expected.
    ``period``: the audit's, for a date that must fall within it."""
    text = str(value).strip()
    check_text(text)  # raises ValueError naming the problem
    if question.not_applicable is not None and text.casefold() in (
        NOT_APPLICABLE,
        question.not_applicable.casefold(),
    ):
        return NOT_APPLICABLE
    not_applicable = f", or {question.not_applicable}" if question.not_applicable else ""
    match question.answer_type:
        case AnswerType.FREE_TEXT:
            if len(text) > MAX_TEXT:
                raise ValueError(f"Must be {MAX_TEXT:,} characters or fewer")
            return text
        case AnswerType.YES_NO:
            if text.lower() not in YES_NO:
                raise ValueError(f"Must be yes or no{not_applicable}")
            return text.lower()
        case AnswerType.YES_PARTLY_NO:
            if text.lower() not in YES_PARTLY_NO:
                raise ValueError(f"Must be yes, partly or no{not_applicable}")
            return text.lower()
        case AnswerType.SINGLE_CHOICE:
            for option in question.options:
                if option.casefold() == text.casefold():
                    return option
            raise ValueError("Must be one of: " + "; ".join(question.options) + not_applicable)
        case AnswerType.DATE:
            try:
                day = date.fromisoformat(text)
            except ValueError:
                raise ValueError("Must be a real date, as YYYY-MM-DD") from None
            if not EARLIEST_DATE <= day <= LATEST_DATE:
                raise ValueError(f"Must be a date {DATE_RANGE}")
            _date_rules(question, day, period)
            return day.isoformat()
        case AnswerType.INTEGER:
            canonical = _number(text)
            if "." in canonical:
                raise ValueError("Must be a whole number")
            _bounds(question, canonical)
            return canonical
        case AnswerType.NUMBER:
            canonical = _number(text)
            _bounds(question, canonical)
            return canonical
    raise ValueError("Unknown answer type")


def _bounds(question: Question, canonical: str) -> None:
    number = Decimal(canonical)
    low = Decimal(question.minimum) if question.minimum is not None else None
    high = Decimal(question.maximum) if question.maximum is not None else None
    if low is not None and high is not None and not low <= number <= high:
        raise ValueError(f"Must be between {question.minimum} and {question.maximum}")
    if low is not None and number < low:
        raise ValueError(f"Must be {question.minimum} or more")
    if high is not None and number > high:
        raise ValueError(f"Must be {question.maximum} or less")


def _date_rules(question: Question, day: date, period: tuple[date | None, date | None]) -> None:
    if question.not_in_future and day > today():
        raise ValueError("Must be today or in the past")
    if question.within_audit_period:
        start, end = period
        if start is not None and day < start:
            raise ValueError(
                f"Must be on or after {format_date(start)}, when the audit period starts"
            )
        if end is not None and day > end:
            raise ValueError(f"Must be on or before {format_date(end)}, when the audit period ends")


MAX_DIGITS = 15  # what a spreadsheet keeps exactly


def _number(text: str) -> str:
    """Canonical text of a number answer: at most 15 significant digits and 6 decimal
    places, so it survives a spreadsheet unchanged; trailing zeros dropped."""
    too_big = f"Must be a number of at most {MAX_DIGITS} digits, with at most 6 decimal places"
    try:
        number = Decimal(text)
        if not number.is_finite():
            raise ValueError("Must be a number")
        if number.adjusted() >= MAX_DIGITS or (number and number.adjusted() < -6):
            raise ValueError(too_big)
        number = number.normalize()
    except (DecimalException, ArithmeticError):
        raise ValueError("Must be a number") from None
    sign, digits, exponent = number.as_tuple()  # finite: the exponent is an int
    if len(digits) > MAX_DIGITS or (isinstance(exponent, int) and -exponent > 6):
        raise ValueError(too_big)
    return "0" if number == 0 else format(number, "f")


def check_inputs(
    tpl: AuditTemplate,
    answers: Iterable[AnswerIn],
    grades: Iterable[GradeIn],
    evidence: Iterable[EvidenceIn],
    overall: tuple[bool, str | None],
) -> tuple[dict[int, str | None], dict[int, GradeLevel | None], list[FieldError]]:
    """Each answer as canonical text and each grade as its level (None: a blank value
    clears it), with a problem for every field of the request that does not fit the
    template, so the caller can refuse the whole request and name each one."""
    problems: list[FieldError] = []
    clean_answers: dict[int, str | None] = {}
    for i, answer in enumerate(answers):
        question = tpl.questions.get(answer.question_id)
        if question is None:
            problems.append(
                FieldError(f"answers[{i}].question_id", "Not a question of this audit's template")
            )
            continue
        if answer.value is None or str(answer.value).strip() == "":
            clean_answers[question.id] = None
            continue
        try:
            clean_answers[question.id] = normalise_answer(question, answer.value, period=tpl.period)
        except ValueError as exc:
            problems.append(FieldError(f"answers[{i}].value", str(exc)))
    clean_grades: dict[int, GradeLevel | None] = {}
    for i, grade in enumerate(grades):
        key_area = tpl.key_areas.get(grade.key_area_id)
        if key_area is None:
            problems.append(
                FieldError(f"grades[{i}].key_area_id", "Not a key area of this audit's template")
            )
        elif not key_area.graded:
            problems.append(
                FieldError(f"grades[{i}].key_area_id", f"'{key_area.title}' is not graded")
            )
        elif grade.level is None or grade.level == "":
            clean_grades[key_area.id] = None
        elif grade.level not in tpl.levels:
            problems.append(
                FieldError(f"grades[{i}].level", "Must be one of: " + ", ".join(tpl.levels))
            )
        else:
            clean_grades[key_area.id] = tpl.levels[grade.level]
    # Only the boxes the template has (none, for a questionnaire about an agency): words
    # in another would be kept where no page shows them and no check reads them.
    has = {b.box for b in tpl.version.evidence_box_list}
    undeclared = [box for box in BOX_NAMES if box not in has]
    for i, item in enumerate(evidence):
        if item.key_area_id not in tpl.key_areas:
            problems.append(
                FieldError(f"evidence[{i}].key_area_id", "Not a key area of this audit's template")
            )
        for box in undeclared:
            if getattr(item, box):
                problems.append(
                    FieldError(f"evidence[{i}].{box}", "This template has no such box of evidence")
                )
    given, code = overall
    if given and code:
        if not tpl.version.has_overall_grade:
            problems.append(FieldError("overall_grade", "This template has no overall grade"))
        elif code not in tpl.levels:
            problems.append(FieldError("overall_grade", "Must be one of: " + ", ".join(tpl.levels)))
    return clean_answers, clean_grades, problems


def asked_now(questions: list[Question], answers: dict[int, str]) -> dict[int, bool]:
    """For each question (all of a template's, in the order a return asks them),
    whether the return asks it given ``answers`` (question id to stored value): a
    question with a condition is asked only while the question it depends on is asked
    and answered with one of the condition's answers."""
    by_key = {q.key: q for q in questions if q.key}
    asked: dict[int, bool] = {}
    for question in questions:
        condition = question.condition
        if condition is None:
            asked[question.id] = True
            continue
        target = by_key.get(condition["question"])
        asked[question.id] = (
            target is not None
            and asked.get(target.id, False)
            and answers.get(target.id) in condition["answers"]
        )
    return asked


def condition_targets(questions: list[Question]) -> set[int]:
    """The questions whose answers decide whether another is asked."""
    keys = {q.condition["question"] for q in questions if q.condition}
    return {q.id for q in questions if q.key in keys}


def asked_after(
    session: Session, *, return_id: int, tpl: AuditTemplate, changes: dict
) -> dict[int, bool] | None:
    """Whether the return asks each question once ``changes`` (question id to its new
    value, None clearing it) are saved; None when the template has no conditions."""
    if not any(q.condition for q in tpl.questions.values()):
        return None
    answers = dict(
        session.execute(
            select(Answer.question_id, Answer.value).where(Answer.return_id == return_id)
        ).all()
    )
    answers.update(changes)
    return asked_now(tpl.asked(), {k: v for k, v in answers.items() if v is not None})


def missing_items(session: Session, *, return_: Return, tpl: AuditTemplate) -> list[FieldError]:
    """Every required question asked and unanswered ("not applicable" is an answer),
    every required box of evidence empty, every graded key area ungraded, in order."""
    answers = dict(
        session.execute(
            select(Answer.question_id, Answer.value).where(Answer.return_id == return_.id)
        ).all()
    )
    asked = asked_now(tpl.asked(), answers)
    graded = set(session.scalars(select(Grade.key_area_id).where(Grade.return_id == return_.id)))
    overall = session.scalar(select(Return.overall_grade_id).where(Return.id == return_.id))
    required_boxes = [b for b in tpl.version.evidence_box_list if b.required]
    evidence = (
        {
            e.key_area_id: e
            for e in session.scalars(
                select(KeyAreaEvidence).where(KeyAreaEvidence.return_id == return_.id)
            )
        }
        if required_boxes
        else {}
    )

    def unanswered(questions: list[Question], title: str) -> list[FieldError]:
        return [
            FieldError(f"question:{q.id}", f"{title}: answer '{q.prompt}'")
            for q in questions
            if q.required and asked[q.id] and q.id not in answers
        ]

    missing: list[FieldError] = []
    for key_area in tpl.version.key_areas:
        missing += unanswered(key_area.questions, key_area.title)
        boxes = evidence.get(key_area.id)
        for box in required_boxes:
            if not (getattr(boxes, box.box) if boxes is not None else "").strip():
                missing.append(
                    FieldError(
                        f"evidence:{key_area.id}:{box.box}",
                        f"{key_area.title}: write '{box.label}'",
                    )
                )
        if key_area.graded and key_area.id not in graded:
            missing.append(FieldError(f"grade:{key_area.id}", f"{key_area.title}: choose a grade"))
    missing += unanswered(tpl.version.case_questions, "The whole case")
    if tpl.version.has_overall_grade and overall is None:
        missing.append(FieldError("overall_grade", "Choose an overall grade"))
    return missing


def written(session: Session, *, return_: Return, tpl: AuditTemplate) -> dict[str, tuple[str, str]]:
    """The return's own words, as the identification guard reads them before it is
    submitted: every free-text answer (``question:ID``) and box of evidence
    (``evidence:KEY_AREA_ID:BOX``) with something in it, in the template's order, each
    as (where it is, in the page's words; the text)."""
    answers = dict(
        session.execute(
            select(Answer.question_id, Answer.value).where(Answer.return_id == return_.id)
        ).all()
    )
    evidence = (
        {
            e.key_area_id: e
            for e in session.scalars(
                select(KeyAreaEvidence).where(KeyAreaEvidence.return_id == return_.id)
            )
        }
        if tpl.version.has_evidence_boxes
        else {}
    )
    found: dict[str, tuple[str, str]] = {}
    labels = {b.box: b.label for b in tpl.version.evidence_box_list}
    for key_area in tpl.version.key_areas:
        for question in key_area.questions:
            text = answers.get(question.id)
            if text and question.answer_type == AnswerType.FREE_TEXT:
                found[f"question:{question.id}"] = (f"{key_area.title}: {question.prompt}", text)
        boxes = evidence.get(key_area.id)
        for box, label in labels.items() if boxes is not None else ():
            if text := getattr(boxes, box):
                found[f"evidence:{key_area.id}:{box}"] = (f"{key_area.title}: {label}", text)
    for question in tpl.version.case_questions:
        text = answers.get(question.id)
        if text and question.answer_type == AnswerType.FREE_TEXT:
            found[f"question:{question.id}"] = (f"The whole case: {question.prompt}", text)
    return found
