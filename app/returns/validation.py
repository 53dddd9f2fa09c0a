"""Answers checked against the audit's template: each answer against its question's
type (stored as canonical text: ``yes``, ``2024-03-31``, ``12.5``, an option's own
label, which keeps one simple table for five types), each grade against the scale,
and, before submitting, every required question answered and graded key area graded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, DecimalException

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit_templates import service as templates
from app.audit_templates.models import AnswerType, GradeLevel, KeyArea, Question, TemplateVersion
from app.audits.models import Audit
from app.db import get_or_404
from app.errors import FieldError
from app.returns.models import Answer, Grade, KeyAreaEvidence, Return
from app.returns.schemas import AnswerIn, EvidenceIn, GradeIn
from app.returns.wording import BOX_LABELS
from app.schemas_base import DATE_RANGE, EARLIEST_DATE, LATEST_DATE, check_text

YES_PARTLY_NO = ("yes", "partly", "no")
MAX_TEXT = 20_000


@dataclass
class AuditTemplate:
    """The version an audit pinned, indexed by what a request refers to: questions and
    key areas by id, grade levels by code."""

    version: TemplateVersion
    questions: dict[int, Question]
    key_areas: dict[int, KeyArea]
    levels: dict[str, GradeLevel]


def template_for(session: Session, audit_id: int) -> tuple[Audit, AuditTemplate]:
    """The audit and its template, loaded once for checking a whole request."""
    audit = get_or_404(session, Audit, audit_id, what="audit")
    version = templates.get_version(session, version_id=audit.template_version_id)
    questions = {q.id: q for k in version.key_areas for q in k.questions}
    key_areas = {k.id: k for k in version.key_areas}
    levels = {lv.code: lv for lv in version.scale.levels} if version.scale else {}
    return audit, AuditTemplate(version, questions, key_areas, levels)


def normalise_answer(question: Question, value: str | int | float) -> str:
    """The canonical text for an answer, or ValueError saying what is expected."""
    text = str(value).strip()
    check_text(text)  # raises ValueError naming the problem
    match question.answer_type:
        case AnswerType.FREE_TEXT:
            if len(text) > MAX_TEXT:
                raise ValueError(f"Must be {MAX_TEXT:,} characters or fewer")
            return text
        case AnswerType.YES_PARTLY_NO:
            if text.lower() not in YES_PARTLY_NO:
                raise ValueError("Must be yes, partly or no")
            return text.lower()
        case AnswerType.SINGLE_CHOICE:
            for option in question.options:
                if option.casefold() == text.casefold():
                    return option
            raise ValueError("Must be one of: " + "; ".join(question.options))
        case AnswerType.DATE:
            try:
                day = date.fromisoformat(text)
            except ValueError:
                raise ValueError("Must be a real date, as YYYY-MM-DD") from None
            if not EARLIEST_DATE <= day <= LATEST_DATE:
                raise ValueError(f"Must be a date {DATE_RANGE}")
            return day.isoformat()
        case AnswerType.NUMBER:
            return _number(text)
    raise ValueError("Unknown answer type")


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
            clean_answers[question.id] = normalise_answer(question, answer.value)
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
    for i, item in enumerate(evidence):
        if item.key_area_id not in tpl.key_areas:
            problems.append(
                FieldError(f"evidence[{i}].key_area_id", "Not a key area of this audit's template")
            )
    given, code = overall
    if given and code:
        if not tpl.version.has_overall_grade:
            problems.append(FieldError("overall_grade", "This template has no overall grade"))
        elif code not in tpl.levels:
            problems.append(FieldError("overall_grade", "Must be one of: " + ", ".join(tpl.levels)))
    return clean_answers, clean_grades, problems


def missing_items(session: Session, *, return_: Return, tpl: AuditTemplate) -> list[FieldError]:
    """Every required question unanswered and every graded key area ungraded, in order."""
    answered = set(
        session.scalars(select(Answer.question_id).where(Answer.return_id == return_.id))
    )
    graded = set(session.scalars(select(Grade.key_area_id).where(Grade.return_id == return_.id)))
    overall = session.scalar(select(Return.overall_grade_id).where(Return.id == return_.id))
    missing: list[FieldError] = []
    for key_area in tpl.version.key_areas:
        for question in key_area.questions:
            if question.required and question.id not in answered:
                missing.append(
                    FieldError(
                        f"question:{question.id}",
                        f"{key_area.title}: answer '{question.prompt}'",
                    )
                )
        if key_area.graded and key_area.id not in graded:
            missing.append(FieldError(f"grade:{key_area.id}", f"{key_area.title}: choose a grade"))
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
    for key_area in tpl.version.key_areas:
        for question in key_area.questions:
            text = answers.get(question.id)
            if text and question.answer_type == AnswerType.FREE_TEXT:
                found[f"question:{question.id}"] = (f"{key_area.title}: {question.prompt}", text)
        boxes = evidence.get(key_area.id)
        for box, label in BOX_LABELS.items() if boxes is not None else ():
            if text := getattr(boxes, box):
                found[f"evidence:{key_area.id}:{box}"] = (f"{key_area.title}: {label}", text)
    return found
