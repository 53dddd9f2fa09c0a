"""The template builder's key areas and questions (in a key area, or about the whole
case): adding, changing, moving, deleting. A draft version only; each change redirects
to the version's page with a flash. The question form itself is ``question_form``."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.audit_templates import editing, service
from app.audit_templates.models import KeyArea, TemplateVersion
from app.audit_templates.pages import question_form
from app.audit_templates.pages.builder import draft_only, to_version
from app.audit_templates.pages.question_form import QUESTION
from app.audit_templates.schemas import KeyAreaIn
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.errors import AppError, InvalidInput
from app.forms import Form, FormInvalid, FormState, Posted, undone_if_refused
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
        if "key_areas" in invalid.errors:  # moving it would break a condition
            invalid.errors.pop("key_areas")
            invalid.errors["position"] = MOVE_BREAKS_CONDITION
        version, key_area = editing.get_key_area(session, key_area_id=key_area_id)
        return _key_area_page(request, version, key_area, invalid.state(), invalid.status_code)
    return to_version(request, version.id, "The key area has been saved.")


MOVE_BREAKS_CONDITION = (
    "A question is asked only when an earlier question has certain answers: choose a "
    "position where that earlier question still comes first"
)
DELETE_BREAKS_CONDITION = (
    "A question elsewhere is asked only when a question here has certain answers: "
    "change or delete that question first"
)


@router.post("/admin/key-areas/{key_area_id}/delete", name="audit_templates.key_area_delete")
@transactional
def delete_key_area(session: SessionDep, request: Request, key_area_id: IdPath) -> Response:
    version, key_area = editing.get_key_area(session, key_area_id=key_area_id)
    values = {
        "title": key_area.title,
        "description": key_area.description,
        "graded": "yes" if key_area.graded else "no",
        "position": str(key_area.position + 1),
    }
    try:
        with undone_if_refused(session):
            editing.delete_key_area(session, version=version, key_area=key_area)
    except InvalidInput:
        # A condition on a question in it: the key area's page, saying what to do first.
        version, key_area = editing.get_key_area(session, key_area_id=key_area_id)
        form = FormState(values=values, errors={"delete": DELETE_BREAKS_CONDITION})
        return _key_area_page(request, version, key_area, form, 422)
    return to_version(request, version.id, "The key area has been deleted.")


# --- questions -----------------------------------------------------------------------


def _question_page(request, version, key_area, question, form: FormState, status_code=200):
    """The question form: ``key_area`` None for a new question about the whole case
    (its section is made only when the first is saved)."""
    context = question_form.page_context(version, key_area, question, form)
    return render(
        request,
        "audit_templates/question.html",
        {"version": version, "key_area": key_area, "question": question, **context},
        status_code=status_code,
    )


def _add(
    session, request, version_id: int, key_area_id: int | None, posted: Posted
) -> Response | None:
    """Add the question posted to a key area, or (``key_area_id`` None) to the
    questions about the whole case; None once added, else the form again."""

    def fetch() -> tuple[TemplateVersion, KeyArea | None]:
        if key_area_id is None:
            found = service.get_version(session, version_id=version_id)
            return found, found.case_section
        return editing.get_key_area(session, key_area_id=key_area_id)

    version, key_area = fetch()
    try:
        data = question_form.read(posted)
        section = key_area
        place = (
            question_form.place_of(version, key_area, len(key_area.questions))
            if key_area is not None
            else f"case_questions[{len(version.case_questions)}]"
        )
        change = question_form.Change(place=place, old=None, data=data)
        try:
            with undone_if_refused(session):
                if section is None:
                    editing.case_section(session, version=version)
                    # Read again: the new section's questions are then loaded (empty).
                    version = service.get_version(session, version_id=version.id, fresh=True)
                    section = version.case_section
                    assert section is not None
                editing.add_question(
                    session, version=version, key_area=section, data=data, position=None
                )
        except AppError as exc:
            version, key_area = fetch()
            raise question_form.refused(exc, change, version, posted) from exc
    except FormInvalid as invalid:
        version, key_area = fetch()
        shown = question_form.shown(posted)
        return _question_page(
            request, version, key_area, None, invalid.state(shown), invalid.status_code
        )
    return None


@router.get("/admin/key-areas/{key_area_id}/questions/new", name="audit_templates.question_new")
@transactional
def new_question(session: SessionDep, request: Request, key_area_id: IdPath) -> Response:
    version, key_area = editing.get_key_area(session, key_area_id=key_area_id)
    draft_only(version)
    form = QUESTION.state(question_form.new_values())
    return _question_page(request, version, key_area, None, form)


@router.post("/admin/key-areas/{key_area_id}/questions/new", name="audit_templates.question_create")
@transactional
def create_question(
    session: SessionDep, request: Request, key_area_id: IdPath, posted: PostedForm
) -> Response:
    version, _key_area = editing.get_key_area(session, key_area_id=key_area_id)
    page = _add(session, request, version.id, key_area_id, posted)
    if page is not None:
        return page
    if posted.one("then") == "another":
        flash("The question has been added. Add another.")
        return redirect(request, "audit_templates.question_new", key_area_id=key_area_id)
    return to_version(request, version.id, "The question has been saved.")


@router.get(
    "/admin/template-versions/{version_id}/case-questions/new",
    name="audit_templates.case_question_new",
)
@transactional
def new_case_question(session: SessionDep, request: Request, version_id: IdPath) -> Response:
    version = draft_only(service.get_version(session, version_id=version_id))
    form = QUESTION.state(question_form.new_values())
    return _question_page(request, version, version.case_section, None, form)


@router.post(
    "/admin/template-versions/{version_id}/case-questions/new",
    name="audit_templates.case_question_create",
)
@transactional
def create_case_question(
    session: SessionDep, request: Request, version_id: IdPath, posted: PostedForm
) -> Response:
    """A question about the whole case, answered once per return beside the overall
    grade (the same service call as the API's)."""
    page = _add(session, request, version_id, None, posted)
    if page is not None:
        return page
    if posted.one("then") == "another":
        flash("The question has been added. Add another.")
        return redirect(request, "audit_templates.case_question_new", version_id=version_id)
    return to_version(request, version_id, "The question has been saved.")


@router.get("/admin/questions/{question_id}", name="audit_templates.question_edit")
@transactional
def edit_question(session: SessionDep, request: Request, question_id: IdPath) -> Response:
    version, key_area, question = editing.get_question(session, question_id=question_id)
    draft_only(version)
    form = QUESTION.state(question_form.values_of(question))
    return _question_page(request, version, key_area, question, form)


@router.post("/admin/questions/{question_id}", name="audit_templates.question_save")
@transactional
def save_question(
    session: SessionDep, request: Request, question_id: IdPath, posted: PostedForm
) -> Response:
    version, key_area, question = editing.get_question(session, question_id=question_id)
    try:
        data = question_form.read(posted)
        changes = data.model_dump()
        position = _position(posted, len(key_area.questions))
        if position is not None:
            changes["position"] = position
        change = question_form.Change(
            place=question_form.place_of(
                version, key_area, question.position if position is None else position
            ),
            old=question,
            data=data,
        )
        try:
            with undone_if_refused(session):
                editing.update_question(
                    session, version=version, key_area=key_area, question=question, changes=changes
                )
        except AppError as exc:
            version, key_area, question = editing.get_question(session, question_id=question_id)
            change = dataclasses.replace(change, old=question)
            raise question_form.refused(exc, change, version, posted) from exc
    except FormInvalid as invalid:
        version, key_area, question = editing.get_question(session, question_id=question_id)
        shown = question_form.shown(posted)
        return _question_page(
            request, version, key_area, question, invalid.state(shown), invalid.status_code
        )
    return to_version(request, version.id, "The question has been saved.")


@router.get("/admin/questions/{question_id}/delete", name="audit_templates.question_remove")
@transactional
def remove_question(session: SessionDep, request: Request, question_id: IdPath) -> Response:
    """Are you sure? The question, and the button that deletes it."""
    version, key_area, question = editing.get_question(session, question_id=question_id)
    draft_only(version)
    return render(
        request,
        "audit_templates/question_remove.html",
        {
            "version": version,
            "question": question,
            "caption": question_form.caption(key_area),
        },
    )


@router.post("/admin/questions/{question_id}/delete", name="audit_templates.question_delete")
@transactional
def delete_question(session: SessionDep, request: Request, question_id: IdPath) -> Response:
    version, key_area, question = editing.get_question(session, question_id=question_id)
    try:
        with undone_if_refused(session):
            editing.delete_question(session, version=version, key_area=key_area, question=question)
    except InvalidInput:
        # Another question's condition depends on it: its page, saying what to do first.
        version, key_area, question = editing.get_question(session, question_id=question_id)
        dependent = next(
            (
                q
                for q in question_form.asked_in_order(version)
                if question.key and q.condition and q.condition["question"] == question.key
            ),
            None,
        )
        who = f"‘{dependent.prompt}’" if dependent is not None else "Another question"
        form = FormState(
            values=question_form.values_of(question),
            errors={
                "delete": f"{who} is asked only when this question has certain answers: "
                "change or delete that question first"
            },
        )
        return _question_page(request, version, key_area, question, form, 422)
    return to_version(request, version.id, "The question has been deleted.")
