"""Template versions: drafting, publishing, versioning.

The rule that matters: a published version never changes. Audits pin a version,
and their returns, grades and moderation refer to its key areas and questions, so
changing one in place would silently rewrite what auditors answered. Every edit
checks ``_require_draft``; to change a published template, start a new version.
"""

from __future__ import annotations

import re

from pydantic import ValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.audit_templates.models import (
    AnswerType,
    GradeLevel,
    GradingScale,
    KeyArea,
    Question,
    TemplateFamily,
    TemplateStatus,
    TemplateVersion,
)
from app.audit_templates.schemas import KeyAreaIn, QuestionIn, ScaleIn, TemplateContent
from app.auditlog import service as auditlog
from app.clock import utcnow
from app.errors import Conflict, FieldError, InvalidInput, NotFound, StateError, validation_fields
from app.pagination import PageParams, page_of

FULL_VERSION = (
    joinedload(TemplateVersion.family),
    selectinload(TemplateVersion.key_areas).selectinload(KeyArea.questions),
    selectinload(TemplateVersion.scale).selectinload(GradingScale.levels),
)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:120].strip("-") or "template"


def list_families(
    session: Session, *, params: PageParams, status: TemplateStatus | None = None
) -> tuple[list[TemplateFamily], int]:
    stmt: Select = (
        select(TemplateFamily)
        .options(selectinload(TemplateFamily.versions))
        .order_by(TemplateFamily.name)
    )
    if status is not None:
        has_status = select(TemplateVersion.id).where(
            TemplateVersion.family_id == TemplateFamily.id, TemplateVersion.status == status
        )
        stmt = stmt.where(has_status.exists())
    return page_of(session, stmt, params)


def get_family(session: Session, *, family_id: int) -> TemplateFamily:
    family = session.scalar(
        select(TemplateFamily)
        .where(TemplateFamily.id == family_id)
        .options(selectinload(TemplateFamily.versions))
    )
    if family is None:
        raise NotFound(f"There is no template with id {family_id}.")
    return family


def get_version(session: Session, *, version_id: int, fresh: bool = False) -> TemplateVersion:
    """The version with its key areas, questions and scale; ``fresh`` re-reads rows this
    session already holds (after taking a lock, say)."""
    stmt = select(TemplateVersion).where(TemplateVersion.id == version_id).options(*FULL_VERSION)
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    version = session.scalar(stmt)
    if version is None:
        raise NotFound(f"There is no template version with id {version_id}.")
    return version


def _require_draft(session: Session, version: TemplateVersion) -> None:
    """Refuse to change a version that is not a draft.

    The status is read again under a row lock (FOR UPDATE on PostgreSQL; SQLite's
    writers already hold the database lock): an edit and a publish of the same draft
    then run one after the other, so an edit can never land in a published version.
    """
    status = session.scalar(
        select(TemplateVersion.status).where(TemplateVersion.id == version.id).with_for_update()
    )
    if status != TemplateStatus.DRAFT:
        raise StateError(
            f"{version.label} is {status.value} and cannot be changed. "
            "Start a new version to make changes."
        )


def _build_key_area(data: KeyAreaIn, position: int) -> KeyArea:
    return KeyArea(
        position=position,
        title=data.title,
        description=data.description,
        graded=data.graded,
        questions=[_build_question(q, i) for i, q in enumerate(data.questions)],
    )


def _build_question(data: QuestionIn, position: int) -> Question:
    return Question(
        position=position,
        prompt=data.prompt,
        answer_type=data.type,
        required=data.required,
        guidance=data.guidance,
        options=list(data.options),
    )


def _build_scale(data: ScaleIn) -> GradingScale:
    return GradingScale(
        name=data.name,
        levels=[
            GradeLevel(position=i, code=lv.code, label=lv.label, description=lv.description)
            for i, lv in enumerate(data.levels)
        ],
    )


# --- what the audit log records of each part of a template ---------------------


def _version_log(version: TemplateVersion) -> dict:
    return {
        "status": version.status,
        "theme": version.theme,
        "description": version.description,
        "method": version.method,
        "overall_grade": version.has_overall_grade,
        "published_at": version.published_at,
        "retired_at": version.retired_at,
    }


def _scale_log(scale: GradingScale | None) -> dict | None:
    if scale is None:
        return None
    return {
        "name": scale.name,
        "levels": [
            {"code": lv.code, "label": lv.label, "description": lv.description}
            for lv in scale.levels
        ],
    }


def _key_area_log(key_area: KeyArea) -> dict:
    return {
        "template_version_id": key_area.template_version_id,
        "position": key_area.position,
        "title": key_area.title,
        "description": key_area.description,
        "graded": key_area.graded,
    }


def _question_log(question: Question) -> dict:
    return {
        "key_area_id": question.key_area_id,
        "position": question.position,
        "prompt": question.prompt,
        "type": question.answer_type,
        "required": question.required,
        "guidance": question.guidance,
        "options": list(question.options),
    }


def create_draft(
    session: Session, *, content: TemplateContent, action: str = "template.create_draft"
) -> TemplateVersion:
    """Start a new template family whose version 1 is a draft holding ``content``
    (``action`` names it in the audit log: an import is logged as one)."""
    slug = content.slug or slugify(content.name)
    clash = session.scalar(
        select(TemplateFamily).where(
            (func.lower(TemplateFamily.name) == content.name.lower())
            | (TemplateFamily.slug == slug)
        )
    )
    if clash is not None:
        raise Conflict(
            f"A template called '{clash.name}' already exists (id {clash.id}). "
            "Start a new version of it instead.",
            fields=[
                FieldError("slug", "A template with this slug already exists")
                if clash.slug == slug and clash.name.lower() != content.name.lower()
                else FieldError("name", "A template with this name already exists")
            ],
            template_id=clash.id,
        )
    family = TemplateFamily(name=content.name, slug=slug)
    session.add(family)
    session.flush()
    return create_next_version(session, family=family, content=content, action=action)


def update_version(session: Session, *, version: TemplateVersion, changes: dict) -> TemplateVersion:
    _require_draft(session, version)
    mapping = {"overall_grade": "has_overall_grade"}
    with auditlog.changing(
        session,
        version,
        action="template.update",
        object_type="template_version",
        view=_version_log,
    ):
        for key, value in changes.items():
            setattr(version, mapping.get(key, key), value)
    return version


def set_scale(session: Session, *, version: TemplateVersion, scale: ScaleIn) -> TemplateVersion:
    """Replace the draft's grading scale."""
    _require_draft(session, version)
    with auditlog.changing(
        session,
        version,
        action="template.set_scale",
        object_type="template_version",
        view=lambda v: {"scale": _scale_log(v.scale)},
    ):
        if version.scale is not None:
            session.delete(version.scale)
            session.flush()
        version.scale = _build_scale(scale)
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


def add_key_area(
    session: Session, *, version: TemplateVersion, data: KeyAreaIn, position: int | None
) -> TemplateVersion:
    _require_draft(session, version)
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
    key_area = _build_key_area(data, 0)
    _place(version.key_areas, key_area, position)
    session.flush()
    auditlog.record(
        session,
        action="key_area.create",
        object_type="key_area",
        object_id=key_area.id,
        after={**_key_area_log(key_area), "questions": [q.prompt for q in key_area.questions]},
    )
    return get_version(session, version_id=version.id)


def get_key_area(session: Session, *, key_area_id: int) -> tuple[TemplateVersion, KeyArea]:
    version_id = session.scalar(
        select(KeyArea.template_version_id).where(KeyArea.id == key_area_id)
    )
    if version_id is None:
        raise NotFound(f"There is no key area with id {key_area_id}.")
    version = get_version(session, version_id=version_id)
    return version, next(k for k in version.key_areas if k.id == key_area_id)


def update_key_area(
    session: Session, *, version: TemplateVersion, key_area: KeyArea, changes: dict
) -> TemplateVersion:
    _require_draft(session, version)
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
        session, key_area, action="key_area.update", object_type="key_area", view=_key_area_log
    ):
        for key, value in changes.items():
            setattr(key_area, key, value)
        if position is not None:
            _place(version.key_areas, key_area, position)
    return get_version(session, version_id=version.id)


def delete_key_area(
    session: Session, *, version: TemplateVersion, key_area: KeyArea
) -> TemplateVersion:
    _require_draft(session, version)
    with auditlog.changing(
        session,
        key_area,
        action="key_area.delete",
        object_type="key_area",
        view=lambda k: {**_key_area_log(k), "questions": [q.prompt for q in k.questions]},
    ):
        version.key_areas.remove(key_area)
        for i, each in enumerate(version.key_areas):
            each.position = i
    return get_version(session, version_id=version.id)


def add_question(
    session: Session,
    *,
    version: TemplateVersion,
    key_area: KeyArea,
    data: QuestionIn,
    position: int | None,
) -> TemplateVersion:
    _require_draft(session, version)
    if len(key_area.questions) >= MAX_QUESTIONS:
        raise InvalidInput(
            f"A key area can have at most {MAX_QUESTIONS} questions.",
            fields=[FieldError("questions", f"At most {MAX_QUESTIONS} questions")],
        )
    question = _build_question(data, 0)
    _place(key_area.questions, question, position)
    session.flush()
    auditlog.record(
        session,
        action="question.create",
        object_type="question",
        object_id=question.id,
        after=_question_log(question),
    )
    return get_version(session, version_id=version.id)


def get_question(
    session: Session, *, question_id: int
) -> tuple[TemplateVersion, KeyArea, Question]:
    key_area_id = session.scalar(select(Question.key_area_id).where(Question.id == question_id))
    if key_area_id is None:
        raise NotFound(f"There is no question with id {question_id}.")
    version, key_area = get_key_area(session, key_area_id=key_area_id)
    return version, key_area, next(q for q in key_area.questions if q.id == question_id)


def update_question(
    session: Session,
    *,
    version: TemplateVersion,
    key_area: KeyArea,
    question: Question,
    changes: dict,
) -> TemplateVersion:
    _require_draft(session, version)
    position = changes.pop("position", None)
    try:
        merged = _merge_question(question, changes)
    except ValidationError as exc:
        raise InvalidInput(
            "The question is not valid.", fields=validation_fields(exc.errors())
        ) from None
    with auditlog.changing(
        session, question, action="question.update", object_type="question", view=_question_log
    ):
        question.prompt = merged.prompt
        question.answer_type = merged.type
        question.required = merged.required
        question.guidance = merged.guidance
        question.options = list(merged.options)
        if position is not None:
            _place(key_area.questions, question, position)
    return get_version(session, version_id=version.id)


def _merge_question(question: Question, changes: dict) -> QuestionIn:
    new_type = changes.get("type", question.answer_type)
    kept_options = question.options if new_type == AnswerType.SINGLE_CHOICE else []
    return QuestionIn.model_validate(
        {
            "prompt": changes.get("prompt", question.prompt),
            "type": changes.get("type", question.answer_type),
            "required": changes.get("required", question.required),
            "guidance": changes.get("guidance", question.guidance),
            "options": changes.get("options", kept_options),
        }
    )


def delete_question(
    session: Session, *, version: TemplateVersion, key_area: KeyArea, question: Question
) -> TemplateVersion:
    _require_draft(session, version)
    with auditlog.changing(
        session, question, action="question.delete", object_type="question", view=_question_log
    ):
        key_area.questions.remove(question)
        for i, each in enumerate(key_area.questions):
            each.position = i
    return get_version(session, version_id=version.id)


def publication_problems(version: TemplateVersion) -> list[FieldError]:
    """Everything that stops a draft being used for an audit, each with where it is."""
    problems: list[FieldError] = []
    if not version.key_areas:
        problems.append(FieldError("key_areas", "Add at least one key area"))
    for i, key_area in enumerate(version.key_areas):
        if not key_area.questions:
            problems.append(
                FieldError(f"key_areas[{i}].questions", f"'{key_area.title}' has no questions")
            )
    needs_scale = version.has_overall_grade or any(k.graded for k in version.key_areas)
    if needs_scale and (version.scale is None or len(version.scale.levels) < 2):
        problems.append(
            FieldError("scale", "A graded template needs a grading scale with at least two levels")
        )
    return problems


def publish(session: Session, *, version: TemplateVersion) -> TemplateVersion:
    """Freeze a complete draft so audits can use it; 422 lists what is incomplete."""
    _require_draft(session, version)
    # Check what is in the database now that no edit can run alongside.
    version = get_version(session, version_id=version.id, fresh=True)
    problems = publication_problems(version)
    if problems:
        raise InvalidInput(f"{version.label} is not ready to publish.", fields=problems)
    with auditlog.changing(
        session,
        version,
        action="template.publish",
        object_type="template_version",
        view=_version_log,
    ):
        version.status = TemplateStatus.PUBLISHED
        version.published_at = utcnow()
    return version


def retire(session: Session, *, version: TemplateVersion) -> TemplateVersion:
    """Stop new audits using a published version; audits already using it keep it."""
    if version.status != TemplateStatus.PUBLISHED:
        raise StateError(
            f"Only a published version can be retired; {version.label} is {version.status.value}."
        )
    with auditlog.changing(
        session,
        version,
        action="template.retire",
        object_type="template_version",
        view=_version_log,
    ):
        version.status = TemplateStatus.RETIRED
        version.retired_at = utcnow()
    return version


def content_of(version: TemplateVersion) -> TemplateContent:
    """The version's content as the schema files and drafts are made from."""
    return TemplateContent(
        name=version.name,
        slug=version.slug,
        theme=version.theme,
        description=version.description,
        method=version.method,
        overall_grade=version.has_overall_grade,
        scale=ScaleIn(
            name=version.scale.name,
            levels=[
                {"code": lv.code, "label": lv.label, "description": lv.description}
                for lv in version.scale.levels
            ],
        )
        if version.scale
        else None,
        key_areas=[
            KeyAreaIn(
                title=k.title,
                description=k.description,
                graded=k.graded,
                questions=[
                    QuestionIn(
                        prompt=q.prompt,
                        type=q.answer_type,
                        required=q.required,
                        guidance=q.guidance,
                        options=q.options,
                    )
                    for q in k.questions
                ],
            )
            for k in version.key_areas
        ],
    )


def start_new_version(session: Session, *, version: TemplateVersion) -> TemplateVersion:
    """Copy a published (or retired) version into the family's next draft version."""
    if version.status == TemplateStatus.DRAFT:
        raise StateError(f"{version.label} is still a draft: edit it directly.")
    existing = session.scalar(
        select(TemplateVersion).where(
            TemplateVersion.family_id == version.family_id,
            TemplateVersion.status == TemplateStatus.DRAFT,
        )
    )
    if existing is not None:
        raise Conflict(
            f"{version.name} already has a draft (version {existing.number}); edit that one.",
            template_version_id=existing.id,
        )
    family = session.get(TemplateFamily, version.family_id)
    return create_next_version(
        session,
        family=family,
        content=content_of(version),
        action="template.new_version",
        source=version,
    )


def create_next_version(
    session: Session,
    *,
    family: TemplateFamily,
    content: TemplateContent,
    action: str,
    source: TemplateVersion | None = None,
) -> TemplateVersion:
    """Add the family's next version, as a draft holding ``content``; one audit-log row
    named ``action`` (create_draft, import or new_version) records it."""
    number = session.scalar(
        select(func.max(TemplateVersion.number)).where(TemplateVersion.family_id == family.id)
    )
    draft = TemplateVersion(
        family_id=family.id,
        number=(number or 0) + 1,
        status=TemplateStatus.DRAFT,
        theme=content.theme,
        description=content.description,
        method=content.method,
        has_overall_grade=content.overall_grade,
        key_areas=[_build_key_area(k, i) for i, k in enumerate(content.key_areas)],
        scale=_build_scale(content.scale) if content.scale else None,
    )
    session.add(draft)
    session.flush()
    created = get_version(session, version_id=draft.id)
    auditlog.record(
        session,
        action=action,
        object_type="template_version",
        object_id=created.id,
        after={
            "template_id": family.id,
            "name": family.name,
            "slug": family.slug,
            "number": created.number,
            **({"from_version_id": source.id} if source is not None else {}),
            **{k: v for k, v in _version_log(created).items() if v is not None},
            "scale": _scale_log(created.scale),
            "key_areas": [k.title for k in created.key_areas],
            "questions": sum(len(k.questions) for k in created.key_areas),
        },
    )
    return created
