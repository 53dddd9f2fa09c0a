"""The template builder: the templates, starting a new one, a version's page (publish,
retire, start a new version), its details and its grading scale. Key areas and
questions are in ``structure``; the preview in ``preview``.

Every change goes through the same service functions as the API, so a page can never
change a published version, and each change is in the audit log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.audit_templates import editing, files, service
from app.audit_templates.models import (
    BOX_NAMES,
    DEFAULT_BOXES,
    EvidenceBox,
    GradeLevel,
    GradingScale,
    TemplateStatus,
    TemplateVersion,
)
from app.audit_templates.pages import question_form
from app.audit_templates.pages.question_form import ANSWER_TYPES
from app.audit_templates.scales import starting_scales
from app.audit_templates.schemas import (
    EvidenceBoxIn,
    LevelIn,
    ScaleIn,
    TemplateContent,
    VersionPatch,
)
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.errors import InvalidInput, StateError
from app.forms import Form, FormInvalid, FormState, M, Messages, Posted, undone_if_refused
from app.pagination import PageParams
from app.templating import flash, redirect, render, sort_heads

router = APIRouter(include_in_schema=False)

MAX_LEVELS = 10
OWN_SCALE = "own"

DETAIL_MESSAGES: Messages = {
    "name": "Enter the template's name, in 200 characters or fewer",
    "theme": "Enter the theme in 200 characters or fewer",
    "method": "Enter the method in 100 characters or fewer",
    "description": "The description is too long",
    "subject": "Choose whether audits on this template look at children or agencies",
    "overall_grade": "Choose whether auditors give an overall grade",
    "evidence_boxes": "Choose whether each key area has boxes of evidence",
}
NEW_TEMPLATE = Form(
    TemplateContent,
    fields=(
        "name",
        "theme",
        "description",
        "method",
        "subject",
        "overall_grade",
        "evidence_boxes",
        "scale",
    ),
    blank_is_none=frozenset({"overall_grade", "evidence_boxes"}),
    messages=DETAIL_MESSAGES,
)
DETAILS = Form(
    VersionPatch,
    fields=("theme", "description", "method", "subject", "overall_grade", "evidence_boxes"),
    blank_is_none=frozenset({"overall_grade", "evidence_boxes"}),
    messages=DETAIL_MESSAGES,
)


@cache
def shipped_scales() -> dict[str, ScaleIn]:
    """The grading scales of the shipped template library, by name."""
    scales: dict[str, ScaleIn] = {}
    for path in files.library_files():
        scale = files.parse(path.read_text(encoding="utf-8")).scale
        if scale is not None:
            scales.setdefault(scale.name, scale)
    return scales


@cache
def scale_choices() -> dict[str, ScaleIn]:
    """The scales a template can start from instead of typing one in, by the value the
    forms send: the starting scales (Ofsted four-point, red/amber/green, yes/partly/no),
    then any other scale of the shipped library, each once."""
    choices = dict(starting_scales())
    for name, scale in shipped_scales().items():
        if all(name != s.name and scale != s for s in choices.values()):
            choices[name] = scale
    return choices


def scale_items() -> list[dict[str, str]]:
    """The scale choices as radios or a select: the scale's name, its levels as hint."""
    return [
        {"value": value, "text": scale.name, "hint": ", ".join(lv.label for lv in scale.levels)}
        for value, scale in scale_choices().items()
    ]


# --- boxes of evidence ----------------------------------------------------------------


def box_values(boxes: list[EvidenceBox]) -> dict[str, Any]:
    """The boxes-of-evidence fields for a template's boxes (none: the usual three
    ticked, ready if the answer changes to yes)."""
    chosen = {b.box: b for b in boxes}
    values: dict[str, Any] = {"boxes": list(chosen or BOX_NAMES)}
    for default in DEFAULT_BOXES:
        box = chosen.get(default.box, default)
        values[f"box-{default.box}-label"] = box.label
        values[f"box-{default.box}-required"] = "yes" if box.required else ""
    return values


def read_boxes(posted: Posted) -> tuple[bool | list[EvidenceBoxIn] | None, dict[str, str]]:
    """The boxes of evidence posted: False for none; True for the usual three as they
    are (or when the form did not show which boxes); else the boxes ticked, each with
    its heading (blank: the usual wording) and whether it must be filled in. None when
    the yes or no is not answered (the form says so). With what is wrong, by field."""
    answer = posted.one("evidence_boxes")
    if answer == "no":
        return False, {}
    if answer != "yes":
        return None, {}
    if "boxes_shown" not in posted:
        return True, {}
    ticked = set(posted.all("boxes"))
    boxes: list[EvidenceBoxIn] = []
    errors: dict[str, str] = {}
    for default in DEFAULT_BOXES:
        if default.box not in ticked:
            continue
        label = posted.one(f"box-{default.box}-label").strip() or default.label
        required = posted.one(f"box-{default.box}-required") == "yes"
        try:
            boxes.append(
                EvidenceBoxIn.model_validate(
                    {"box": default.box, "label": label, "required": required}
                )
            )
        except ValidationError:
            errors[f"box-{default.box}-label"] = (
                f"Enter the heading of the box ‘{default.label}’ on one line, in 100 "
                "characters or fewer"
            )
    if not boxes and not errors:
        errors["boxes"] = "Choose at least one box of evidence, or answer no"
    if [(b.box, b.wording, b.required) for b in boxes] == [
        (d.box, d.label, d.required) for d in DEFAULT_BOXES
    ]:
        return True, errors
    return boxes, errors


def read_with_boxes(form: Form[M], posted: Posted, **extra: Any) -> M:
    """A details form (new template, or a version's details) with its boxes of
    evidence; FormInvalid with every problem, in the page's order."""
    boxes, problems = read_boxes(posted)
    if boxes is not None:
        extra["evidence_boxes"] = boxes
    try:
        content = form.read(posted, **extra)
    except FormInvalid as invalid:
        raise _invalid(form, invalid.errors | problems, posted) from None
    if problems:
        raise _invalid(form, problems, posted)
    return content


def _invalid(form: Form, errors: dict[str, str], posted: Posted) -> FormInvalid:
    # The boxes' problems straight after the yes or no they belong to.
    order = list(form.fields)
    at = order.index("evidence_boxes") + 1
    order[at:at] = ["boxes", *(f"box-{b}-label" for b in BOX_NAMES)]
    invalid = form.invalid(errors)
    invalid.errors = {f: errors[f] for f in order if f in errors} | errors
    invalid.values = posted.shown(["boxes"])
    return invalid


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
    return render(
        request,
        "audit_templates/new.html",
        {
            "form": form,
            "scales": scale_items(),
            "own_scale": OWN_SCALE,
            "default_boxes": DEFAULT_BOXES,
        },
        status_code=status_code,
    )


@router.get("/admin/templates/new", name="audit_templates.new")
@transactional
def new_template(session: SessionDep, request: Request) -> Response:
    chosen = {
        "subject": "child",
        "overall_grade": "yes",
        "evidence_boxes": "yes",
        **box_values(list(DEFAULT_BOXES)),
        "scale": next(iter(scale_choices()), ""),
    }
    return _new_page(request, NEW_TEMPLATE.state(chosen))


def _read_new(posted: Posted) -> TemplateContent:
    scales = scale_choices()
    chosen = posted.one("scale")
    try:
        content = read_with_boxes(NEW_TEMPLATE, posted, scale=None)
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
        return _new_page(request, invalid.state(posted.shown(["boxes"])), invalid.status_code)
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
            "rules": question_form.rules_by_question(version),
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
        errors: dict[str, str] = {}
        for problem in exc.fields:
            errors.setdefault(problem.field, problem.message)
            anchors[problem.field] = _part_anchor(version, problem.field)
        form = FormState(errors=errors, anchors=anchors)
        return _builder(request, version, form=form, status=422)
    return to_version(
        request, version.id, "The template has been published. It can now be used for audits."
    )


def _part_anchor(version: TemplateVersion, field: str) -> str:
    """Where on the version's page a problem named by the service's field is: the key
    area or the questions about the whole case it is in."""
    if field.startswith("case_questions"):
        return "#case-questions"
    found = re.match(r"key_areas\[(\d+)\]", field)
    if found and int(found.group(1)) < len(version.key_areas):
        return f"#key-area-{version.key_areas[int(found.group(1))].id}"
    return {"scale": "#scale"}.get(field, "#key-areas")


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
        {"version": version, "form": form, "default_boxes": DEFAULT_BOXES},
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
        "subject": version.subject.value,
        "overall_grade": "yes" if version.has_overall_grade else "no",
        "evidence_boxes": "yes" if version.has_evidence_boxes else "no",
        **box_values(version.evidence_box_list),
    }
    return _details_page(request, version, DETAILS.state(values))


@router.post("/admin/template-versions/{version_id}/details", name="audit_templates.details_save")
@transactional
def save_details(
    session: SessionDep, request: Request, version_id: IdPath, posted: PostedForm
) -> Response:
    version = service.get_version(session, version_id=version_id)
    try:
        patch = read_with_boxes(DETAILS, posted)
        # A patch holds no nulls (VersionPatch refuses them): None is a field not sent,
        # left as it is. The boxes as the models the service reads (model_dump would
        # make them dicts).
        changes = patch.model_dump(exclude_none=True) | {"evidence_boxes": patch.evidence_boxes}
        with DETAILS.submitting(session, posted):
            service.update_version(session, version=version, changes=changes)
    except FormInvalid as invalid:
        shown = posted.shown(["boxes"])
        return _details_page(request, version, invalid.state(shown), invalid.status_code)
    return to_version(request, version.id, "The details have been saved.")


# --- grading scale -------------------------------------------------------------------


def _scale_rows(count: int) -> range:
    return range(min(MAX_LEVELS, max(count + 2, 4)))


def _scale_page(
    request, version, form: FormState, rows: range, status_code=200, started: str = ""
) -> Response:
    return render(
        request,
        "audit_templates/scale.html",
        {
            "version": version,
            "rows": rows,
            "form": form,
            "scales": scale_items(),
            "started": started,
        },
        status_code=status_code,
    )


def _scale_values(scale: ScaleIn | GradingScale | None) -> dict[str, str]:
    """A scale (saved, or a starting scale) as the scale form's values."""
    if scale is None:
        return {}
    values = {"name": scale.name}
    levels: Sequence[LevelIn | GradeLevel] = scale.levels
    for i, level in enumerate(levels):
        values |= {
            f"level-{i}-code": level.code,
            f"level-{i}-label": level.label,
            f"level-{i}-description": level.description,
        }
    return values


@router.get("/admin/template-versions/{version_id}/scale", name="audit_templates.scale")
@transactional
def scale(session: SessionDep, request: Request, version_id: IdPath, start: Word = "") -> Response:
    """The draft's scale in its form; with ``start`` (the page's GET form "Start from a
    shipped scale"), the form filled in with that scale instead, to change and save:
    nothing is saved until then."""
    version = draft_only(service.get_version(session, version_id=version_id))
    shown: ScaleIn | GradingScale | None = version.scale
    errors: dict[str, str] = {}
    started = ""
    if start in scale_choices():
        shown = scale_choices()[start]
        started = shown.name
    elif start:
        errors["start"] = "Choose a scale to start from"
    values = _scale_values(shown) | {"start": start}
    rows = _scale_rows(len(shown.levels) if shown else 0)
    form = FormState(values=values, errors=errors)
    return _scale_page(request, version, form, rows, 422 if errors else 200, started)


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
