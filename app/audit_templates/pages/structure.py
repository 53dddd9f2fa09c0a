"""The template builder's key areas and questions: adding, changing, moving, deleting.
A draft version only; each change redirects to the version's page with a flash."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.audit_templates import editing, service
from app.audit_templates.models import AnswerType
from app.audit_templates.pages.builder import ANSWER_TYPES, draft_only, to_version
from app.audit_templates.schemas import KeyAreaIn, QuestionIn
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.forms import Form, FormInvalid, FormState, Posted
from app.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)

KEY_AREA = Form(
    KeyAreaIn,
    fields=("title", "description", "graded", "position"),
    blank_is_none=frozenset({"graded"}),
    messages={
        "title": "Enter the key area's title, in 200 characters or fewer",
        "description": "The description is too long",
        "graded": "Choose whether auditors grade this key area",
    },
)
QUESTION = Form(
    QuestionIn,
    fields=("prompt", "type", "required", "guidance", "options", "position"),
    blank_is_none=frozenset({"required"}),
    whole="options",
    messages={
        "prompt": "Enter the question, in 2,000 characters or fewer",
        "type": "Choose the kind of answer",
        "required": "Choose whether an answer is required",
        "guidance": "The guidance is too long",
        "options": "Enter each option on its own line, in 200 characters or fewer",
        ("options", "whole"): "Enter at least two different options, each on its own line",
    },
    refusals={"questions": "This key area has the most questions allowed"},
)


def _position(posted: Posted, count: int) -> int | None:
    """The 0-based position chosen in a form's "Position" select (1..count), if valid."""
    try:
        position = int(posted.one("position")) - 1
    except ValueError:
        return None
    return position if 0 <= position < count else None


# --- key areas -----------------------------------------------------------------------


def _key_area_page(request, version, key_area, form: FormState, status_code=200) -> Response:
    return render(
        request,
        "audit_templates/key_area.html",
        {"version": version, "key_area": key_area, "form": form},
        status_code=status_code,
    )


@router.get(
    "/admin/template-versions/{version_id}/key-areas/new", name="audit_templates.key_area_new"
)
@transactional
def new_key_area(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    version = draft_only(service.get_version(session, version_id=version_id))
    return _key_area_page(request, version, None, KEY_AREA.state({"graded": "yes"}))


@router.post(
    "/admin/template-versions/{version_id}/key-areas/new", name="audit_templates.key_area_create"
)
@transactional
def create_key_area(
    session: SessionDep, request: Request, version_id: IdPath, posted: PostedForm
) -> Response:
    version = service.get_version(session, version_id=version_id)
    try:
        data = KEY_AREA.read(posted)
        with KEY_AREA.submitting(session, posted):
            version = editing.add_key_area(session, version=version, data=data, position=None)
    except FormInvalid as invalid:
        version = service.get_version(session, version_id=version_id)
        return _key_area_page(request, version, None, invalid.state(), invalid.status_code)
    added = version.key_areas[-1]
    flash("The key area has been saved. Add its questions.")
    return redirect(request, "audit_templates.question_new", key_area_id=added.id)


@router.get("/admin/key-areas/{key_area_id}", name="audit_templates.key_area_edit")
@transactional
def edit_key_area(session: SessionDep, request: Request, key_area_id: IdPath) -> Response:
    version, key_area = editing.get_key_area(session, key_area_id=key_area_id)
    draft_only(version)
    values = {
        "title": key_area.title,
        "description": key_area.description,
        "graded": "yes" if key_area.graded else "no",
        "position": str(key_area.position + 1),
    }
    return _key_area_page(request, version, key_area, KEY_AREA.state(values))


@router.post("/admin/key-areas/{key_area_id}", name="audit_templates.key_area_save")
@transactional
def save_key_area(
    session: SessionDep, request: Request, key_area_id: IdPath, posted: PostedForm
) -> Response:
    version, key_area = editing.get_key_area(session, key_area_id=key_area_id)
    try:
        data = KEY_AREA.read(posted)
        changes = data.model_dump(include={"title", "description", "graded"})
        position = _position(posted, len(version.key_areas))
        if position is not None:
            changes["position"] = position
        with KEY_AREA.submitting(session, posted):
            editing.update_key_area(session, version=version, key_area=key_area, changes=changes)
    except FormInvalid as invalid:
        version, key_area = editing.get_key_area(session, key_area_id=key_area_id)
        return _key_area_page(request, version, key_area, invalid.state(), invalid.status_code)
    return to_version(request, version.id, "The key area has been saved.")


@router.post("/admin/key-areas/{key_area_id}/delete", name="audit_templates.key_area_delete")
@transactional
def delete_key_area(session: SessionDep, request: Request, key_area_id: IdPath) -> Response:
    version, key_area = editing.get_key_area(session, key_area_id=key_area_id)
    editing.delete_key_area(session, version=version, key_area=key_area)
    return to_version(request, version.id, "The key area has been deleted.")


# --- questions -----------------------------------------------------------------------


def _question_page(request, version, key_area, question, form: FormState, status_code=200):
    return render(
        request,
        "audit_templates/question.html",
        {
            "version": version,
            "key_area": key_area,
            "question": question,
            "answer_types": [
                {"value": kind.value, "text": text, "hint": hint}
                for kind, (text, hint) in ANSWER_TYPES.items()
            ],
            "form": form,
        },
        status_code=status_code,
    )


def _read_question(posted: Posted) -> QuestionIn:
    kind = posted.one("type")
    options = [line.strip() for line in posted.one("options").splitlines() if line.strip()]
    # Options typed and then left behind by choosing another type are dropped.
    return QUESTION.read(posted, options=options if kind == AnswerType.SINGLE_CHOICE else [])


@router.get("/admin/key-areas/{key_area_id}/questions/new", name="audit_templates.question_new")
@transactional
def new_question(session: SessionDep, request: Request, key_area_id: IdPath) -> Response:
    version, key_area = editing.get_key_area(session, key_area_id=key_area_id)
    draft_only(version)
    return _question_page(request, version, key_area, None, QUESTION.state({"required": "yes"}))


@router.post("/admin/key-areas/{key_area_id}/questions/new", name="audit_templates.question_create")
@transactional
def create_question(
    session: SessionDep, request: Request, key_area_id: IdPath, posted: PostedForm
) -> Response:
    version, key_area = editing.get_key_area(session, key_area_id=key_area_id)
    try:
        data = _read_question(posted)
        with QUESTION.submitting(session, posted):
            editing.add_question(
                session, version=version, key_area=key_area, data=data, position=None
            )
    except FormInvalid as invalid:
        version, key_area = editing.get_key_area(session, key_area_id=key_area_id)
        return _question_page(
            request, version, key_area, None, invalid.state(), invalid.status_code
        )
    if posted.one("then") == "another":
        flash("The question has been added. Add another.")
        return redirect(request, "audit_templates.question_new", key_area_id=key_area.id)
    return to_version(request, version.id, "The question has been saved.")


@router.get("/admin/questions/{question_id}", name="audit_templates.question_edit")
@transactional
def edit_question(session: SessionDep, request: Request, question_id: IdPath) -> Response:
    version, key_area, question = editing.get_question(session, question_id=question_id)
    draft_only(version)
    values = {
        "prompt": question.prompt,
        "type": question.answer_type.value,
        "required": "yes" if question.required else "no",
        "guidance": question.guidance,
        "options": "\n".join(question.options),
        "position": str(question.position + 1),
    }
    return _question_page(request, version, key_area, question, QUESTION.state(values))


@router.post("/admin/questions/{question_id}", name="audit_templates.question_save")
@transactional
def save_question(
    session: SessionDep, request: Request, question_id: IdPath, posted: PostedForm
) -> Response:
    version, key_area, question = editing.get_question(session, question_id=question_id)
    try:
        changes = _read_question(posted).model_dump()
        position = _position(posted, len(key_area.questions))
        if position is not None:
            changes["position"] = position
        with QUESTION.submitting(session, posted):
            editing.update_question(
                session, version=version, key_area=key_area, question=question, changes=changes
            )
    except FormInvalid as invalid:
        version, key_area, question = editing.get_question(session, question_id=question_id)
        return _question_page(
            request, version, key_area, question, invalid.state(), invalid.status_code
        )
    return to_version(request, version.id, "The question has been saved.")


@router.post("/admin/questions/{question_id}/delete", name="audit_templates.question_delete")
@transactional
def delete_question(session: SessionDep, request: Request, question_id: IdPath) -> Response:
    version, key_area, question = editing.get_question(session, question_id=question_id)
    editing.delete_question(session, version=version, key_area=key_area, question=question)
    return to_version(request, version.id, "The question has been deleted.")
