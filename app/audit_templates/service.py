"""Template families and versions: finding them, drafting, publishing, retiring, and
starting a new version. A draft's key areas, questions and scale are edited in
``editing``.

The rule that matters: a published version never changes. Audits pin a version,
and their returns, grades and moderation refer to its key areas and questions, so
changing one in place would silently rewrite what auditors answered. Every edit
checks ``require_draft``; to change a published template, start a new version.
"""

from __future__ import annotations

import re

from sqlalchemy import Select, func, inspect, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.util import identity_key

from app.audit_templates.models import (
    GradingScale,
    KeyArea,
    TemplateFamily,
    TemplateStatus,
    TemplateVersion,
)
from app.audit_templates.parts import (
    asked_questions,
    box_spec,
    build_case_section,
    build_key_area,
    build_scale,
    content_of,
    scale_log,
    stored_conditions,
    version_condition_problems,
    version_log,
)
from app.audit_templates.schemas import TemplateContent, condition_problems
from app.auditlog import service as auditlog
from app.clock import utcnow
from app.db import get_or_404
from app.errors import Conflict, FieldError, InvalidInput, NotFound, StateError
from app.pagination import PageParams, page_of

FULL_VERSION = (
    joinedload(TemplateVersion.family),
    selectinload(TemplateVersion.key_areas).selectinload(KeyArea.questions),
    selectinload(TemplateVersion.scale).selectinload(GradingScale.levels),
    selectinload(TemplateVersion.case_section).selectinload(KeyArea.questions),
)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:120].strip("-") or "template"


# The templates list's sortable columns: the name, and when the template was created.
FAMILY_SORTS = {"name": func.lower(TemplateFamily.name), "created": TemplateFamily.created_at}


def list_families(
    session: Session,
    *,
    params: PageParams,
    status: TemplateStatus | None = None,
    q: str | None = None,
    sort: str | None = None,
) -> tuple[list[TemplateFamily], int]:
    """A page of templates with their versions; ``status``: those with a version in it;
    ``q`` finds words in the name or theme of any version; ``sort`` is a key of
    FAMILY_SORTS, "-" first for descending (by name when None)."""
    stmt: Select = select(TemplateFamily).options(selectinload(TemplateFamily.versions))
    if sort is None:
        stmt = stmt.order_by(TemplateFamily.name)
    else:
        column = FAMILY_SORTS[sort.removeprefix("-")]
        first = column.desc() if sort.startswith("-") else column.asc()
        stmt = stmt.order_by(first, TemplateFamily.id)
    if q:
        words = q.lower()
        named = select(TemplateVersion.id).where(
            TemplateVersion.family_id == TemplateFamily.id,
            func.lower(TemplateVersion.theme).contains(words, autoescape=True),
        )
        stmt = stmt.where(
            func.lower(TemplateFamily.name).contains(words, autoescape=True) | named.exists()
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
    session already holds (after taking a lock, say). A version that is not a draft
    never changes, so one this session has already read whole is not read again (the
    query would find the same rows and keep the objects as they are)."""
    if not fresh:
        held = session.identity_map.get(identity_key(TemplateVersion, version_id))
        if isinstance(held, TemplateVersion) and _read_whole(held):
            return held
    stmt = select(TemplateVersion).where(TemplateVersion.id == version_id).options(*FULL_VERSION)
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    version = session.scalar(stmt)
    if version is None:
        raise NotFound(f"There is no template version with id {version_id}.")
    return version


def _read_whole(version: TemplateVersion) -> bool:
    state = inspect(version)
    if state.expired or {"status", "family", "key_areas", "scale", "case_section"} & state.unloaded:
        return False
    if version.status == TemplateStatus.DRAFT:
        return False
    if version.scale is not None and "levels" in inspect(version.scale).unloaded:
        return False
    areas = [*version.key_areas, *([version.case_section] if version.case_section else [])]
    return all("questions" not in inspect(area).unloaded for area in areas)


def require_draft(session: Session, version: TemplateVersion) -> None:
    """Refuse to change a version that is not a draft.

    The status is read again under a row lock (FOR UPDATE on PostgreSQL; SQLite's
    writers already hold the database lock): an edit and a publish of the same draft
    then run one after the other, so an edit can never land in a published version.
    """
    status = session.scalars(
        select(TemplateVersion.status).where(TemplateVersion.id == version.id).with_for_update()
    ).one()
    if status != TemplateStatus.DRAFT:
        raise StateError(
            f"{version.label} is {status.value} and cannot be changed. "
            "Start a new version to make changes."
        )


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
    require_draft(session, version)
    with auditlog.changing(
        session,
        version,
        action="template.update",
        object_type="template_version",
        view=version_log,
    ):
        for key, value in changes.items():
            if key == "overall_grade":
                version.has_overall_grade = value
            elif key == "evidence_boxes":
                version.has_evidence_boxes, version.evidence_box_spec = box_spec(value)
            else:
                setattr(version, key, value)
    return version


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
    problems += version_condition_problems(version)
    needs_scale = version.has_overall_grade or any(k.graded for k in version.key_areas)
    if needs_scale and (version.scale is None or len(version.scale.levels) < 2):
        problems.append(
            FieldError("scale", "A graded template needs a grading scale with at least two levels")
        )
    return problems


def publish(session: Session, *, version: TemplateVersion) -> TemplateVersion:
    """Freeze a complete draft so audits can use it; 422 lists what is incomplete."""
    require_draft(session, version)
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
        view=version_log,
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
        view=version_log,
    ):
        version.status = TemplateStatus.RETIRED
        version.retired_at = utcnow()
    return version


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
    family = get_or_404(session, TemplateFamily, version.family_id, what="template")
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
    problems = condition_problems(content.all_questions())
    if problems:
        raise InvalidInput("The template's conditions do not fit its questions.", fields=problems)
    number = session.scalar(
        select(func.max(TemplateVersion.number)).where(TemplateVersion.family_id == family.id)
    )
    has_boxes, spec = box_spec(content.evidence_boxes)
    draft = TemplateVersion(
        family_id=family.id,
        number=(number or 0) + 1,
        status=TemplateStatus.DRAFT,
        theme=content.theme,
        description=content.description,
        method=content.method,
        subject=content.subject,
        has_overall_grade=content.overall_grade,
        has_evidence_boxes=has_boxes,
        evidence_box_spec=spec,
        key_areas=[build_key_area(k, i) for i, k in enumerate(content.key_areas)],
        case_section=build_case_section(content.case_questions),
        scale=build_scale(content.scale) if content.scale else None,
    )
    stored_conditions([q for _, q in asked_questions(draft)])
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
            **{k: v for k, v in version_log(created).items() if v is not None},
            "scale": scale_log(created.scale),
            "key_areas": [k.title for k in created.key_areas],
            "questions": sum(len(k.questions) for k in created.key_areas),
            **(
                {"case_questions": [q.prompt for q in created.case_questions]}
                if created.case_questions
                else {}
            ),
        },
    )
    return created
