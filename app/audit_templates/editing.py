"""Editing a draft version's parts: its key areas, their questions, and its grading
scale. Every change checks ``require_draft`` first, under the version's row lock, so
an edit can never land in a published version.
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit_templates.models import AnswerType, KeyArea, Question, SectionKind, TemplateVersion
from app.audit_templates.parts import (
    CASE_SECTION_TITLE,
    build_key_area,
    build_question,
    build_scale,
    fill_question,
    key_area_log,
    question_in,
    question_log,
    scale_log,
    stored_conditions,
    version_condition_problems,
)
from app.audit_templates.schemas import KeyAreaIn, QuestionIn, ScaleIn
from app.audit_templates.service import get_version, require_draft
from app.auditlog import service as auditlog
from app.errors import Conflict, FieldError, InvalidInput, NotFound, validation_fields


def set_scale(session: Session, *, version: TemplateVersion, scale: ScaleIn) -> TemplateVersion:
    """Replace the draft's grading scale."""
    require_draft(session, version)
    with auditlog.changing(
        session,
        version,
        action="template.set_scale",
        object_type="template_version",
        view=lambda v: {"scale": scale_log(v.scale)},
    ):
        if version.scale is not None:
            session.delete(version.scale)
            session.flush()
        version.scale = build_scale(scale)
    return get_version(session, version_id=version.id)


def _place(items: list, item, position: int | None) -> None:
    """Move ``item`` to ``position`` (default: last) and renumber from 0."""
    if item in items:
        items.remove(item)
    index = len(items) if position is None else min(position, len(items))
    items.insert(index, item)
    for i, each in enumerate(items):
        each.position = i


MAX_KEY_AREAS = 30
MAX_QUESTIONS = 60  # per key area; the same limits as the file format
MAX_CASE_QUESTIONS = 30


def add_key_area(
    session: Session, *, version: TemplateVersion, data: KeyAreaIn, position: int | None
) -> TemplateVersion:
    require_draft(session, version)
    if len(version.key_areas) >= MAX_KEY_AREAS:
        raise InvalidInput(
            f"A template can have at most {MAX_KEY_AREAS} key areas.",
            fields=[FieldError("key_areas", f"At most {MAX_KEY_AREAS} key areas")],
        )
    if any(k.title.casefold() == data.title.casefold() for k in version.key_areas):
        raise Conflict(
            f"This template already has a key area called '{data.title}'.",
            fields=[FieldError("title", "A key area with this title already exists")],
        )
    key_area = build_key_area(data, 0)
    _place(version.key_areas, key_area, position)
    session.flush()
    auditlog.record(
        session,
        action="key_area.create",
        object_type="key_area",
        object_id=key_area.id,
        after={**key_area_log(key_area), "questions": [q.prompt for q in key_area.questions]},
    )
    return get_version(session, version_id=version.id)


def get_key_area(
    session: Session, *, key_area_id: int, or_case: bool = False
) -> tuple[TemplateVersion, KeyArea]:
    """A key area and its version; ``or_case``: the section of questions about the whole
    case too (which only its questions' routes reach: it is not a key area to change,
    move or delete)."""
    kinds = [SectionKind.KEY_AREA, SectionKind.CASE] if or_case else [SectionKind.KEY_AREA]
    version_id = session.scalar(
        select(KeyArea.template_version_id).where(
            KeyArea.id == key_area_id, KeyArea.kind.in_(kinds)
        )
    )
    if version_id is None:
        raise NotFound(f"There is no key area with id {key_area_id}.")
    version = get_version(session, version_id=version_id)
    sections = [*version.key_areas, *([version.case_section] if version.case_section else [])]
    return version, next(k for k in sections if k.id == key_area_id)


def case_section(session: Session, *, version: TemplateVersion) -> KeyArea:
    """The draft's section of questions about the whole case, made when first needed."""
    require_draft(session, version)
    if version.case_section is None:
        version.case_section = KeyArea(
            position=0,
            title=CASE_SECTION_TITLE,
            graded=False,
            kind=SectionKind.CASE,
            questions=[],
        )
        session.flush()
    return version.case_section


def _conditions_still_fit(session: Session, version_id: int) -> None:
    """After an edit: refuse it (the request's transaction rolls back) if it leaves a
    condition referring to a question that is gone, later, or has other answers."""
    session.flush()
    version = get_version(session, version_id=version_id, fresh=True)
    problems = version_condition_problems(version)
    if problems:
        raise InvalidInput(
            "This change would leave a condition that does not fit the template's "
            "questions: " + problems[0].message + ".",
            fields=problems,
        )
    stored_conditions([q for k in version.key_areas for q in k.questions] + version.case_questions)


def update_key_area(
    session: Session, *, version: TemplateVersion, key_area: KeyArea, changes: dict
) -> TemplateVersion:
    require_draft(session, version)
    title = changes.get("title")
    if title and any(
        k.title.casefold() == title.casefold() and k is not key_area for k in version.key_areas
    ):
        raise Conflict(
            f"This template already has a key area called '{title}'.",
            fields=[FieldError("title", "A key area with this title already exists")],
        )
    position = changes.pop("position", None)
    with auditlog.changing(
        session, key_area, action="key_area.update", object_type="key_area", view=key_area_log
    ):
        for key, value in changes.items():
            setattr(key_area, key, value)
        if position is not None:
            _place(version.key_areas, key_area, position)
            _conditions_still_fit(session, version.id)
    return get_version(session, version_id=version.id)


def delete_key_area(
    session: Session, *, version: TemplateVersion, key_area: KeyArea
) -> TemplateVersion:
    require_draft(session, version)
    with auditlog.changing(
        session,
        key_area,
        action="key_area.delete",
        object_type="key_area",
        view=lambda k: {**key_area_log(k), "questions": [q.prompt for q in k.questions]},
    ):
        version.key_areas.remove(key_area)
        for i, each in enumerate(version.key_areas):
            each.position = i
        _conditions_still_fit(session, version.id)
    return get_version(session, version_id=version.id)


def add_question(
    session: Session,
    *,
    version: TemplateVersion,
    key_area: KeyArea,
    data: QuestionIn,
    position: int | None,
) -> TemplateVersion:
    require_draft(session, version)
    case = key_area.kind == SectionKind.CASE
    most = MAX_CASE_QUESTIONS if case else MAX_QUESTIONS
    if len(key_area.questions) >= most:
        where = "There can be" if case else "A key area can have"
        raise InvalidInput(
            f"{where} at most {most} questions{' about the whole case' if case else ''}.",
            fields=[FieldError("questions", f"At most {most} questions")],
        )
    question = build_question(data, 0)
    _place(key_area.questions, question, position)
    _conditions_still_fit(session, version.id)
    auditlog.record(
        session,
        action="question.create",
        object_type="question",
        object_id=question.id,
        after=question_log(question),
    )
    return get_version(session, version_id=version.id)


def get_question(
    session: Session, *, question_id: int
) -> tuple[TemplateVersion, KeyArea, Question]:
    key_area_id = session.scalar(select(Question.key_area_id).where(Question.id == question_id))
    if key_area_id is None:
        raise NotFound(f"There is no question with id {question_id}.")
    version, key_area = get_key_area(session, key_area_id=key_area_id, or_case=True)
    return version, key_area, next(q for q in key_area.questions if q.id == question_id)


def update_question(
    session: Session,
    *,
    version: TemplateVersion,
    key_area: KeyArea,
    question: Question,
    changes: dict,
) -> TemplateVersion:
    require_draft(session, version)
    position = changes.pop("position", None)
    try:
        merged = _merge_question(question, changes)
    except ValidationError as exc:
        raise InvalidInput(
            "The question is not valid.", fields=validation_fields(exc.errors())
        ) from None
    with auditlog.changing(
        session, question, action="question.update", object_type="question", view=question_log
    ):
        fill_question(question, merged)
        if position is not None:
            _place(key_area.questions, question, position)
        _conditions_still_fit(session, version.id)
    return get_version(session, version_id=version.id)


# What a question keeps only while its type allows it: changing the type drops these
# unless the change gives them again.
_KEPT_FOR = {
    "options": {AnswerType.SINGLE_CHOICE},
    "not_applicable": {AnswerType.YES_NO, AnswerType.YES_PARTLY_NO, AnswerType.SINGLE_CHOICE},
    "minimum": {AnswerType.INTEGER, AnswerType.NUMBER},
    "maximum": {AnswerType.INTEGER, AnswerType.NUMBER},
    "not_in_future": {AnswerType.DATE},
    "within_audit_period": {AnswerType.DATE},
}


def _merge_question(question: Question, changes: dict) -> QuestionIn:
    current = question_in(question).model_dump()
    new_type = changes.get("type", question.answer_type)
    for name, types in _KEPT_FOR.items():
        if new_type not in types:
            current.pop(name)
    return QuestionIn.model_validate({**current, **changes})


def delete_question(
    session: Session, *, version: TemplateVersion, key_area: KeyArea, question: Question
) -> TemplateVersion:
    require_draft(session, version)
    with auditlog.changing(
        session, question, action="question.delete", object_type="question", view=question_log
    ):
        key_area.questions.remove(question)
        for i, each in enumerate(key_area.questions):
            each.position = i
        _conditions_still_fit(session, version.id)
    return get_version(session, version_id=version.id)
