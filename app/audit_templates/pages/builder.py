"""The template builder: admins make a template in the browser (details, grading scale,
key areas and questions), preview it as an auditor will see it, and publish it.

Every change goes through the same service functions as the API, so a page can never
change a published version, and each change is in the audit log.
"""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.audit_templates import files, service
from app.audit_templates.models import AnswerType, TemplateStatus, TemplateVersion
from app.audit_templates.schemas import (
    KeyAreaIn,
    KeyAreaPatch,
    QuestionIn,
    ScaleIn,
    TemplateContent,
    VersionPatch,
)
from app.deps import FormData, IdPath, SessionDep, transactional
from app.errors import Conflict, InvalidInput, NotFound, StateError
from app.forms import attempt, errors_from, form_context, validate
from app.pagination import PageParams
from app.templating import render

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

DETAIL_MESSAGES = {
    "name": "Enter the template's name, in 200 characters or fewer",
    "theme": "Enter the theme in 200 characters or fewer",
    "method": "Enter the method in 100 characters or fewer",
    "description": "The description is too long",
    "overall_grade": "Choose whether auditors give an overall grade",
}
KEY_AREA_MESSAGES = {
    "title": "Enter the key area's title, in 200 characters or fewer",
    "description": "The description is too long",
    "graded": "Choose whether auditors grade this key area",
}
QUESTION_MESSAGES = {
    "prompt": "Enter the question, in 2,000 characters or fewer",
    "type": "Choose the kind of answer",
    "required": "Choose whether an answer is required",
    "guidance": "The guidance is too long",
    "options": "Enter each option on its own line, in 200 characters or fewer",
}


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


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def _draft_only(version: TemplateVersion) -> TemplateVersion:
    """Edit forms are only for drafts (the service refuses changes to others anyway)."""
    if version.status != TemplateStatus.DRAFT:
        raise StateError(
            f"{version.label} is {version.status.value} and cannot be changed. "
            "Start a new version from its page to make changes."
        )
    return version


def _version_url(version_id: int, flag: str = "") -> str:
    return f"/admin/template-versions/{version_id}" + (f"?done={flag}" if flag else "")


# --- the list and a new template ------------------------------------------------------


@router.get("/admin/templates", name="audit_templates.list")
@transactional
def templates_list(session: SessionDep, request: Request) -> Response:
    families, _total = service.list_families(session, params=PageParams(1, 200))
    return render(request, "template_builder/list.html", {"families": families})


def _new_page(request, values: dict, errors: dict, status_code: int = 200) -> Response:
    return render(
        request,
        "template_builder/new.html",
        {**form_context(values, errors), "scales": shipped_scales()},
        status_code=status_code,
    )


@router.get("/admin/templates/new", name="audit_templates.new")
@transactional
def new_template(session: SessionDep, request: Request) -> Response:
    return _new_page(
        request, {"overall_grade": "yes", "scale": next(iter(shipped_scales()), "")}, {}
    )


@router.post("/admin/templates/new", name="audit_templates.create")
@transactional
def create_template(session: SessionDep, request: Request, form: FormData) -> Response:
    scales = shipped_scales()
    content, errors = validate(
        TemplateContent,
        {
            "name": form.get("name", ""),
            "theme": form.get("theme", ""),
            "description": form.get("description", ""),
            "method": form.get("method", ""),
            "overall_grade": _yes_no(form.get("overall_grade")),
        },
        DETAIL_MESSAGES,
    )
    if form.get("scale") not in (*scales, OWN_SCALE):
        errors["scale"] = "Choose a grading scale, or that you will set up your own"
    if content is None or errors:
        return _new_page(request, form, errors, 422)
    if form["scale"] != OWN_SCALE:
        content.scale = scales[form["scale"]]
    try:
        with attempt(session):
            version = service.create_draft(session, content=content)
    except Conflict as exc:
        return _new_page(request, form, errors_from(exc.fields, {}), 409)
    return RedirectResponse(_version_url(version.id, "created"), status_code=303)


# --- the builder ---------------------------------------------------------------------

DONE = {
    "created": "The template has been created as a draft. Add its key areas and questions.",
    "details": "The details have been saved.",
    "scale": "The grading scale has been saved.",
    "key_area": "The key area has been saved.",
    "key_area_deleted": "The key area has been deleted.",
    "question": "The question has been saved.",
    "question_deleted": "The question has been deleted.",
    "published": "The template has been published. It can now be used for audits.",
    "retired": "The template has been retired. Audits already using it keep it.",
    "new_version": "This is a new draft version, copied from the published one.",
}


def _builder(
    request, version: TemplateVersion, *, done: str = "", errors: dict | None = None, status=200
) -> Response:
    errors = errors or {}
    anchors = {"key_areas": "key-areas", "scale": "scale"}
    for i, key_area in enumerate(version.key_areas):
        anchors[f"key_areas[{i}].questions"] = f"key-area-{key_area.id}"
    return render(
        request,
        "template_builder/version.html",
        {
            "version": version,
            "draft": version.status == TemplateStatus.DRAFT,
            "answer_types": ANSWER_TYPES,
            "done": DONE.get(done, ""),
            **form_context({}, errors, anchors),
        },
        status_code=status,
    )


@router.get("/admin/template-versions/{version_id}", name="audit_templates.version")
@transactional
def builder(session: SessionDep, request: Request, version_id: IdPath, done: str = "") -> Response:
    version = service.get_version(session, version_id=version_id)
    return _builder(request, version, done=done)


@router.post("/admin/template-versions/{version_id}/publish", name="audit_templates.publish")
@transactional
def publish(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    version = service.get_version(session, version_id=version_id)
    try:
        with attempt(session):
            service.publish(session, version=version)
    except InvalidInput as exc:
        # Nothing was changed: show the builder with what stops publication.
        errors = errors_from(exc.fields, {})
        version = service.get_version(session, version_id=version_id)
        return _builder(request, version, errors=errors, status=422)
    return RedirectResponse(_version_url(version.id, "published"), status_code=303)


@router.post("/admin/template-versions/{version_id}/retire", name="audit_templates.retire")
@transactional
def retire(session: SessionDep, version_id: IdPath) -> Response:
    version = service.get_version(session, version_id=version_id)
    service.retire(session, version=version)
    return RedirectResponse(_version_url(version.id, "retired"), status_code=303)


@router.post(
    "/admin/template-versions/{version_id}/new-version", name="audit_templates.new_version"
)
@transactional
def new_version(session: SessionDep, version_id: IdPath) -> Response:
    version = service.get_version(session, version_id=version_id)
    draft = service.start_new_version(session, version=version)
    return RedirectResponse(_version_url(draft.id, "new_version"), status_code=303)


# --- details -------------------------------------------------------------------------


def _details_page(request, version, values, errors, status_code=200) -> Response:
    return render(
        request,
        "template_builder/details.html",
        {"version": version, **form_context(values, errors)},
        status_code=status_code,
    )


@router.get("/admin/template-versions/{version_id}/details", name="audit_templates.details")
@transactional
def details(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    version = _draft_only(service.get_version(session, version_id=version_id))
    values = {
        "theme": version.theme,
        "description": version.description,
        "method": version.method,
        "overall_grade": "yes" if version.has_overall_grade else "no",
    }
    return _details_page(request, version, values, {})


@router.post("/admin/template-versions/{version_id}/details", name="audit_templates.details_save")
@transactional
def save_details(
    session: SessionDep, request: Request, version_id: IdPath, form: FormData
) -> Response:
    version = service.get_version(session, version_id=version_id)
    patch, errors = validate(
        VersionPatch,
        {
            "theme": form.get("theme", ""),
            "description": form.get("description", ""),
            "method": form.get("method", ""),
            "overall_grade": _yes_no(form.get("overall_grade")),
        },
        DETAIL_MESSAGES,
    )
    if patch is None:
        return _details_page(request, version, form, errors, 422)
    service.update_version(session, version=version, changes=patch.model_dump())
    return RedirectResponse(_version_url(version.id, "details"), status_code=303)


# --- grading scale -------------------------------------------------------------------


def _scale_rows(count: int) -> range:
    return range(min(MAX_LEVELS, max(count + 2, 4)))


def _scale_page(request, version, values, errors, rows: range, status_code=200) -> Response:
    return render(
        request,
        "template_builder/scale.html",
        {"version": version, "rows": rows, **form_context(values, errors)},
        status_code=status_code,
    )


@router.get("/admin/template-versions/{version_id}/scale", name="audit_templates.scale")
@transactional
def scale(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    version = _draft_only(service.get_version(session, version_id=version_id))
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
    return _scale_page(request, version, values, {}, _scale_rows(len(levels)))


@router.post("/admin/template-versions/{version_id}/scale", name="audit_templates.scale_save")
@transactional
def save_scale(
    session: SessionDep, request: Request, version_id: IdPath, form: FormData
) -> Response:
    version = service.get_version(session, version_id=version_id)
    rows = [
        i
        for i in range(MAX_LEVELS)
        if any(
            form.get(f"level-{i}-{part}", "").strip() for part in ("code", "label", "description")
        )
    ]
    levels = [
        {
            "code": form.get(f"level-{i}-code", ""),
            "label": form.get(f"level-{i}-label", ""),
            "description": form.get(f"level-{i}-description", ""),
        }
        for i in rows
    ]
    parsed, found = validate(ScaleIn, {"name": form.get("name", ""), "levels": levels}, {})
    errors: dict[str, str] = {}
    for where in found:
        if where == "name":
            errors["name"] = "Enter the scale's name, in 200 characters or fewer"
        elif where == "levels":
            errors["level-0-code"] = "Enter at least two levels, the best first"
        elif where.startswith("levels["):
            index, part = where.removeprefix("levels[").split("].")
            row = rows[int(index)]
            errors[f"level-{row}-{part}"] = {
                "code": f"Enter a short code for level {row + 1}, up to 8 letters, no spaces",
                "label": f"Enter a label for level {row + 1}, in 100 characters or fewer",
            }.get(part, f"The description of level {row + 1} is too long")
    # The schema checks codes are different only once every level is valid; say it now.
    seen: set[str] = set()
    for row, level in zip(rows, levels, strict=True):
        code = level["code"].strip()
        if code and code in seen:
            errors.setdefault(f"level-{row}-code", "Each level needs a different code")
        seen.add(code)
    if parsed is None:
        return _scale_page(request, version, form, errors, _scale_rows(max(rows, default=0)), 422)
    service.set_scale(session, version=version, scale=parsed)
    return RedirectResponse(_version_url(version.id, "scale"), status_code=303)


# --- key areas -----------------------------------------------------------------------


def _key_area_page(request, version, key_area, values, errors, status_code=200) -> Response:
    return render(
        request,
        "template_builder/key_area.html",
        {"version": version, "key_area": key_area, **form_context(values, errors)},
        status_code=status_code,
    )


def _key_area_fields(form: dict) -> dict:
    return {
        "title": form.get("title", ""),
        "description": form.get("description", ""),
        "graded": _yes_no(form.get("graded")),
    }


def _position(form: dict, count: int) -> int | None:
    """The 0-based position chosen in a form's "Position" select (1..count), if valid."""
    try:
        position = int(form.get("position", "")) - 1
    except ValueError:
        return None
    return position if 0 <= position < count else None


@router.get(
    "/admin/template-versions/{version_id}/key-areas/new", name="audit_templates.key_area_new"
)
@transactional
def new_key_area(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    version = _draft_only(service.get_version(session, version_id=version_id))
    return _key_area_page(request, version, None, {"graded": "yes"}, {})


@router.post(
    "/admin/template-versions/{version_id}/key-areas/new", name="audit_templates.key_area_create"
)
@transactional
def create_key_area(
    session: SessionDep, request: Request, version_id: IdPath, form: FormData
) -> Response:
    version = service.get_version(session, version_id=version_id)
    data, errors = validate(KeyAreaIn, _key_area_fields(form), KEY_AREA_MESSAGES)
    if data is None:
        return _key_area_page(request, version, None, form, errors, 422)
    try:
        with attempt(session):
            version = service.add_key_area(session, version=version, data=data, position=None)
    except (Conflict, InvalidInput) as exc:
        version = service.get_version(session, version_id=version_id)
        return _key_area_page(request, version, None, form, errors_from(exc.fields, {}), 409)
    added = version.key_areas[-1]
    return RedirectResponse(f"/admin/key-areas/{added.id}/questions/new", status_code=303)


@router.get("/admin/key-areas/{key_area_id}", name="audit_templates.key_area_edit")
@transactional
def edit_key_area(session: SessionDep, request: Request, key_area_id: IdPath) -> Response:
    version, key_area = service.get_key_area(session, key_area_id=key_area_id)
    _draft_only(version)
    values = {
        "title": key_area.title,
        "description": key_area.description,
        "graded": "yes" if key_area.graded else "no",
        "position": str(key_area.position + 1),
    }
    return _key_area_page(request, version, key_area, values, {})


@router.post("/admin/key-areas/{key_area_id}", name="audit_templates.key_area_save")
@transactional
def save_key_area(
    session: SessionDep, request: Request, key_area_id: IdPath, form: FormData
) -> Response:
    version, key_area = service.get_key_area(session, key_area_id=key_area_id)
    changes = {**_key_area_fields(form), "position": _position(form, len(version.key_areas))}
    patch, errors = validate(
        KeyAreaPatch, {k: v for k, v in changes.items() if v is not None}, KEY_AREA_MESSAGES
    )
    if changes["graded"] is None:
        errors["graded"] = KEY_AREA_MESSAGES["graded"]
    if patch is None or errors:
        return _key_area_page(request, version, key_area, form, errors, 422)
    try:
        with attempt(session):
            service.update_key_area(
                session,
                version=version,
                key_area=key_area,
                changes=patch.model_dump(exclude_unset=True),
            )
    except Conflict as exc:
        version, key_area = service.get_key_area(session, key_area_id=key_area_id)
        return _key_area_page(request, version, key_area, form, errors_from(exc.fields, {}), 409)
    return RedirectResponse(_version_url(version.id, "key_area"), status_code=303)


@router.post("/admin/key-areas/{key_area_id}/delete", name="audit_templates.key_area_delete")
@transactional
def delete_key_area(session: SessionDep, key_area_id: IdPath) -> Response:
    version, key_area = service.get_key_area(session, key_area_id=key_area_id)
    service.delete_key_area(session, version=version, key_area=key_area)
    return RedirectResponse(_version_url(version.id, "key_area_deleted"), status_code=303)


# --- questions -----------------------------------------------------------------------


def _question_page(request, version, key_area, question, values, errors, status_code=200):
    return render(
        request,
        "template_builder/question.html",
        {
            "version": version,
            "key_area": key_area,
            "question": question,
            "answer_types": ANSWER_TYPES,
            **form_context(values, errors),
        },
        status_code=status_code,
    )


def _question_in(form: dict) -> tuple[QuestionIn | None, dict]:
    kind = form.get("type", "")
    options = [line.strip() for line in form.get("options", "").splitlines() if line.strip()]
    data, errors = validate(
        QuestionIn,
        {
            "prompt": form.get("prompt", ""),
            "type": kind or None,
            "required": _yes_no(form.get("required")),
            "guidance": form.get("guidance", ""),
            # Options typed and then left behind by choosing another type are dropped.
            "options": options if kind == AnswerType.SINGLE_CHOICE else [],
        },
        QUESTION_MESSAGES,
    )
    if "body" in errors:  # the model's own check: a choice needs two different options
        errors.pop("body")
        errors["options"] = "Enter at least two different options, each on its own line"
    for key in [k for k in errors if k.startswith("options[")]:
        errors.pop(key)
        errors["options"] = QUESTION_MESSAGES["options"]
    return data, errors


@router.get("/admin/key-areas/{key_area_id}/questions/new", name="audit_templates.question_new")
@transactional
def new_question(session: SessionDep, request: Request, key_area_id: IdPath) -> Response:
    version, key_area = service.get_key_area(session, key_area_id=key_area_id)
    _draft_only(version)
    return _question_page(request, version, key_area, None, {"required": "yes"}, {})


@router.post("/admin/key-areas/{key_area_id}/questions/new", name="audit_templates.question_create")
@transactional
def create_question(
    session: SessionDep, request: Request, key_area_id: IdPath, form: FormData
) -> Response:
    version, key_area = service.get_key_area(session, key_area_id=key_area_id)
    data, errors = _question_in(form)
    if data is None:
        return _question_page(request, version, key_area, None, form, errors, 422)
    try:
        with attempt(session):
            service.add_question(
                session, version=version, key_area=key_area, data=data, position=None
            )
    except InvalidInput as exc:
        version, key_area = service.get_key_area(session, key_area_id=key_area_id)
        errors = errors_from(
            exc.fields, {"questions": "This key area has the most questions allowed"}
        )
        return _question_page(request, version, key_area, None, form, errors, 422)
    if form.get("then") == "another":
        return RedirectResponse(f"/admin/key-areas/{key_area.id}/questions/new?added=1", 303)
    return RedirectResponse(_version_url(version.id, "question"), status_code=303)


@router.get("/admin/questions/{question_id}", name="audit_templates.question_edit")
@transactional
def edit_question(session: SessionDep, request: Request, question_id: IdPath) -> Response:
    version, key_area, question = service.get_question(session, question_id=question_id)
    _draft_only(version)
    values = {
        "prompt": question.prompt,
        "type": question.answer_type.value,
        "required": "yes" if question.required else "no",
        "guidance": question.guidance,
        "options": "\n".join(question.options),
        "position": str(question.position + 1),
    }
    return _question_page(request, version, key_area, question, values, {})


@router.post("/admin/questions/{question_id}", name="audit_templates.question_save")
@transactional
def save_question(
    session: SessionDep, request: Request, question_id: IdPath, form: FormData
) -> Response:
    version, key_area, question = service.get_question(session, question_id=question_id)
    data, errors = _question_in(form)
    if data is None:
        return _question_page(request, version, key_area, question, form, errors, 422)
    changes = data.model_dump()
    position = _position(form, len(key_area.questions))
    if position is not None:
        changes["position"] = position
    service.update_question(
        session, version=version, key_area=key_area, question=question, changes=changes
    )
    return RedirectResponse(_version_url(version.id, "question"), status_code=303)


@router.post("/admin/questions/{question_id}/delete", name="audit_templates.question_delete")
@transactional
def delete_question(session: SessionDep, question_id: IdPath) -> Response:
    version, key_area, question = service.get_question(session, question_id=question_id)
    service.delete_question(session, version=version, key_area=key_area, question=question)
    return RedirectResponse(_version_url(version.id, "question_deleted"), status_code=303)


# --- preview as an auditor -----------------------------------------------------------


@router.get("/admin/template-versions/{version_id}/preview", name="audit_templates.preview")
@transactional
def preview(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    version = service.get_version(session, version_id=version_id)
    return render(request, "template_builder/preview.html", {"version": version})


@router.get(
    "/admin/template-versions/{version_id}/preview/{key_area_id}",
    name="audit_templates.preview_area",
)
@transactional
def preview_area(
    session: SessionDep, request: Request, version_id: IdPath, key_area_id: IdPath
) -> Response:
    version = service.get_version(session, version_id=version_id)
    key_area = next((k for k in version.key_areas if k.id == key_area_id), None)
    if key_area is None:
        raise NotFound(f"{version.label} has no key area with id {key_area_id}.")
    return render(
        request,
        "template_builder/preview_area.html",
        {"version": version, "key_area": key_area, "values": {}, "errors_by_field": {}},
    )
