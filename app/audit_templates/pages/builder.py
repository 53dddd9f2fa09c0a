"""The template builder: the templates, starting a new one, a version's page (publish,
retire, start a new version), its details and its grading scale. Key areas and
questions are in ``structure``; the preview in ``preview``.

Every change goes through the same service functions as the API, so a page can never
change a published version, and each change is in the audit log.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.audit_templates import editing, files, service
from app.audit_templates.models import AnswerType, TemplateStatus, TemplateVersion
from app.audit_templates.schemas import ScaleIn, TemplateContent, VersionPatch
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.errors import InvalidInput, StateError
from app.forms import Form, FormInvalid, FormState, Messages, Posted, undone_if_refused
from app.pagination import PageParams
from app.templating import flash, redirect, render, sort_heads

router = APIRouter(include_in_schema=False)

ANSWER_TYPES = {
    AnswerType.FREE_TEXT: ("Free text", "A box for a written answer"),
    AnswerType.YES_PARTLY_NO: ("Yes, partly or no", "Three choices"),
    AnswerType.SINGLE_CHOICE: ("One choice from a list", "You write the options"),
    AnswerType.DATE: ("A date", "Day, month and year"),
    AnswerType.NUMBER: ("A number", "For example, how many days"),
}
MAX_LEVELS = 10
OWN_SCALE = "own"

DETAIL_MESSAGES: Messages = {
    "name": "Enter the template's name, in 200 characters or fewer",
    "theme": "Enter the theme in 200 characters or fewer",
    "method": "Enter the method in 100 characters or fewer",
    "description": "The description is too long",
    "overall_grade": "Choose whether auditors give an overall grade",
    "evidence_boxes": "Choose whether each key area has the three boxes of evidence",
}
NEW_TEMPLATE = Form(
    TemplateContent,
    fields=("name", "theme", "description", "method", "overall_grade", "evidence_boxes", "scale"),
    blank_is_none=frozenset({"overall_grade", "evidence_boxes"}),
    messages=DETAIL_MESSAGES,
)
DETAILS = Form(
    VersionPatch,
    fields=("theme", "description", "method", "overall_grade", "evidence_boxes"),
    blank_is_none=frozenset({"overall_grade", "evidence_boxes"}),
    messages=DETAIL_MESSAGES,
)


@cache
def shipped_scales() -> dict[str, ScaleIn]:
    """The grading scales of the shipped template library, by name: a new template can
    start from one of them instead of typing a scale in."""
    scales: dict[str, ScaleIn] = {}
    for path in files.library_files():
        scale = files.parse(path.read_text(encoding="utf-8")).scale
        if scale is not None:
            scales.setdefault(scale.name, scale)
    return scales


def draft_only(version: TemplateVersion) -> TemplateVersion:
    """Edit forms are only for drafts (the service refuses changes to others anyway)."""
    if version.status != TemplateStatus.DRAFT:
        raise StateError(
            f"{version.label} is {version.status.value} and cannot be changed. "
            "Start a new version from its page to make changes."
        )
    return version


def to_version(request: Request, version_id: int, done: str) -> Response:
    flash(done)
    return redirect(request, "audit_templates.version", version_id=version_id)


# --- the list and a new template ------------------------------------------------------


LIST_COLUMNS = (("Template", "name"), ("Versions", None), ("Created", "created"))
STATUS_LABELS = {
    TemplateStatus.DRAFT: "With a draft version",
    TemplateStatus.PUBLISHED: "With a published version",
    TemplateStatus.RETIRED: "With a retired version",
}
Word = Annotated[str, Query(max_length=40)]


@router.get("/admin/templates", name="audit_templates.list")
@transactional
def templates_list(
    session: SessionDep,
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    status: Word = "",
    sort: Word = "",
) -> Response:
    """The templates, searched by name or theme, filtered by their versions' status and
    sorted by a column (a GET form and links: the address keeps the choices); a choice
    not offered is a 422 with the error summary."""
    statuses = {s.value: s for s in TemplateStatus}
    errors: dict[str, str] = {}
    if status and status not in statuses:
        errors["status"] = "Choose a status from the list"
    if sort and sort.removeprefix("-") not in service.FAMILY_SORTS:
        errors["sort"] = "Sort by one of the table's columns"
    families: list = []
    if not errors:
        families, _total = service.list_families(
            session,
            params=PageParams(1, 200),
            status=statuses.get(status),
            q=q.strip() or None,
            sort=sort or None,
        )
    filters = {"q": q, "status": status}
    return render(
        request,
        "audit_templates/list.html",
        {
            "families": families,
            "statuses": [(s.value, label) for s, label in STATUS_LABELS.items()],
            "filtered": any(filters.values()),
            "sort": "" if "sort" in errors else sort,
            "head": sort_heads(
                request, "audit_templates.list", columns=LIST_COLUMNS, sort=sort, query=filters
            ),
            "form": FormState(values=filters, errors=errors, anchors={"sort": "#templates"}),
        },
        status_code=422 if errors else 200,
    )


def _new_page(request: Request, form: FormState, status_code: int = 200) -> Response:
    scales = [
        {"value": name, "text": name, "hint": ", ".join(level.label for level in scale.levels)}
        for name, scale in shipped_scales().items()
    ]
    return render(
        request,
        "audit_templates/new.html",
        {"form": form, "scales": scales, "own_scale": OWN_SCALE},
        status_code=status_code,
    )


@router.get("/admin/templates/new", name="audit_templates.new")
@transactional
def new_template(session: SessionDep, request: Request) -> Response:
    chosen = {
        "overall_grade": "yes",
        "evidence_boxes": "yes",
        "scale": next(iter(shipped_scales()), ""),
    }
    return _new_page(request, NEW_TEMPLATE.state(chosen))


def _read_new(posted: Posted) -> TemplateContent:
    scales = shipped_scales()
    chosen = posted.one("scale")
    try:
        content = NEW_TEMPLATE.read(posted, scale=None)
    except FormInvalid as invalid:
        if chosen not in (*scales, OWN_SCALE):
            invalid.errors["scale"] = "Choose a grading scale, or that you will set up your own"
        raise
    if chosen not in (*scales, OWN_SCALE):
        raise NEW_TEMPLATE.invalid(
            {"scale": "Choose a grading scale, or that you will set up your own"}, posted=posted
        )
    if chosen != OWN_SCALE:
        content.scale = scales[chosen]
    return content


@router.post("/admin/templates/new", name="audit_templates.create")
@transactional
def create_template(session: SessionDep, request: Request, posted: PostedForm) -> Response:
    try:
        content = _read_new(posted)
        with NEW_TEMPLATE.submitting(session, posted):
            version = service.create_draft(session, content=content)
    except FormInvalid as invalid:
        return _new_page(request, invalid.state(), invalid.status_code)
    return to_version(
        request,
        version.id,
        "The template has been created as a draft. Add its key areas and questions.",
    )


# --- a version's page ----------------------------------------------------------------


def _builder(
    request: Request, version: TemplateVersion, *, form: FormState | None = None, status=200
) -> Response:
    return render(
        request,
        "audit_templates/version.html",
        {
            "version": version,
            "draft": version.status == TemplateStatus.DRAFT,
            "answer_types": ANSWER_TYPES,
            "form": form,
        },
        status_code=status,
    )


@router.get("/admin/template-versions/{version_id}", name="audit_templates.version")
@transactional
def builder(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    version = service.get_version(session, version_id=version_id)
    return _builder(request, version)


@router.post("/admin/template-versions/{version_id}/publish", name="audit_templates.publish")
@transactional
def publish(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    version = service.get_version(session, version_id=version_id)
    try:
        with undone_if_refused(session):
            service.publish(session, version=version)
    except InvalidInput as exc:
        # Nothing was changed: show the builder with what stops publication, each
        # message linking to the part of the page it is about.
        version = service.get_version(session, version_id=version_id)
        anchors = {"key_areas": "#key-areas", "scale": "#scale"}
        for i, key_area in enumerate(version.key_areas):
            anchors[f"key_areas[{i}].questions"] = f"#key-area-{key_area.id}"
        errors: dict[str, str] = {}
        for problem in exc.fields:
            errors.setdefault(problem.field, problem.message)
        form = FormState(errors=errors, anchors=anchors)
        return _builder(request, version, form=form, status=422)
    return to_version(
        request, version.id, "The template has been published. It can now be used for audits."
    )


@router.post("/admin/template-versions/{version_id}/retire", name="audit_templates.retire")
@transactional
def retire(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    version = service.get_version(session, version_id=version_id)
    service.retire(session, version=version)
    return to_version(
        request, version.id, "The template has been retired. Audits already using it keep it."
    )


@router.post(
    "/admin/template-versions/{version_id}/new-version", name="audit_templates.new_version"
)
@transactional
def new_version(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    version = service.get_version(session, version_id=version_id)
    draft = service.start_new_version(session, version=version)
    return to_version(
        request, draft.id, "This is a new draft version, copied from the published one."
    )


# --- details -------------------------------------------------------------------------


def _details_page(request, version, form: FormState, status_code=200) -> Response:
    return render(
        request,
        "audit_templates/details.html",
        {"version": version, "form": form},
        status_code=status_code,
    )


@router.get("/admin/template-versions/{version_id}/details", name="audit_templates.details")
@transactional
def details(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    version = draft_only(service.get_version(session, version_id=version_id))
    values = {
        "theme": version.theme,
        "description": version.description,
        "method": version.method,
        "overall_grade": "yes" if version.has_overall_grade else "no",
        "evidence_boxes": "yes" if version.has_evidence_boxes else "no",
    }
    return _details_page(request, version, DETAILS.state(values))


@router.post("/admin/template-versions/{version_id}/details", name="audit_templates.details_save")
@transactional
def save_details(
    session: SessionDep, request: Request, version_id: IdPath, posted: PostedForm
) -> Response:
    version = service.get_version(session, version_id=version_id)
    try:
        patch = DETAILS.read(posted)
        with DETAILS.submitting(session, posted):
            service.update_version(session, version=version, changes=patch.model_dump())
    except FormInvalid as invalid:
        return _details_page(request, version, invalid.state(), invalid.status_code)
    return to_version(request, version.id, "The details have been saved.")


# --- grading scale -------------------------------------------------------------------


def _scale_rows(count: int) -> range:
    return range(min(MAX_LEVELS, max(count + 2, 4)))


def _scale_page(request, version, form: FormState, rows: range, status_code=200) -> Response:
    return render(
        request,
        "audit_templates/scale.html",
        {"version": version, "rows": rows, "form": form},
        status_code=status_code,
    )


@router.get("/admin/template-versions/{version_id}/scale", name="audit_templates.scale")
@transactional
def scale(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    version = draft_only(service.get_version(session, version_id=version_id))
    values: dict[str, str] = {}
    levels = version.scale.levels if version.scale else []
    if version.scale:
        values["name"] = version.scale.name
    for i, level in enumerate(levels):
        values |= {
            f"level-{i}-code": level.code,
            f"level-{i}-label": level.label,
            f"level-{i}-description": level.description,
        }
    return _scale_page(request, version, FormState(values=values), _scale_rows(len(levels)))


def _read_scale(posted: Posted) -> tuple[ScaleIn | None, dict[str, str], list[int]]:
    """The scale's rows as the model, or the errors by row field. The form has a row
    per level, so its fields are not fixed: ``level-<row>-code``, ``-label`` and
    ``-description``; a row left empty is no level."""
    rows = [
        i
        for i in range(MAX_LEVELS)
        if any(posted.one(f"level-{i}-{part}").strip() for part in ("code", "label", "description"))
    ]
    levels = [
        {part: posted.one(f"level-{i}-{part}") for part in ("code", "label", "description")}
        for i in rows
    ]
    errors: dict[str, str] = {}
    parsed = None
    try:
        parsed = ScaleIn.model_validate({"name": posted.one("name"), "levels": levels})
    except ValidationError as exc:
        for problem in exc.errors():
            loc = problem.get("loc") or ()
            if not loc:
                continue  # codes not different: said below, on the row
            if loc[0] == "name":
                errors.setdefault("name", "Enter the scale's name, in 200 characters or fewer")
            elif len(loc) == 1:
                errors.setdefault("level-0-code", "Enter at least two levels, the best first")
            else:
                row, part = rows[int(loc[1])], str(loc[2])
                errors.setdefault(
                    f"level-{row}-{part}",
                    {
                        "code": f"Enter a short code for level {row + 1}, up to 8 letters, no "
                        "spaces",
                        "label": f"Enter a label for level {row + 1}, in 100 characters or fewer",
                    }.get(part, f"The description of level {row + 1} is too long"),
                )
    # The schema checks codes are different only once every level is valid; say it now.
    seen: set[str] = set()
    for row, level in zip(rows, levels, strict=True):
        code = level["code"].strip()
        if code and code in seen:
            errors.setdefault(f"level-{row}-code", "Each level needs a different code")
        seen.add(code)
    return (None if errors else parsed), errors, rows


@router.post("/admin/template-versions/{version_id}/scale", name="audit_templates.scale_save")
@transactional
def save_scale(
    session: SessionDep, request: Request, version_id: IdPath, posted: PostedForm
) -> Response:
    version = service.get_version(session, version_id=version_id)
    parsed, errors, rows = _read_scale(posted)
    if parsed is None:
        form = FormState(values=posted.shown(), errors=errors)
        return _scale_page(request, version, form, _scale_rows(max(rows, default=0)), 422)
    editing.set_scale(session, version=version, scale=parsed)
    return to_version(request, version.id, "The grading scale has been saved.")
