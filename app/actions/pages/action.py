"""One learning action: where it stands, its history, and the forms for the status
changes this person may make next and for a progress note. A refusal re-renders the
page with the GOV.UK error summary; success redirects (303) with a flash message."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.access.policy import Actor, Permission, may_update_action
from app.actions import service
from app.actions.lifecycle import FINISHED, LIFECYCLE, STATUS_LABELS, Clock
from app.actions.pages.tracker import LABELS
from app.actions.schemas import NoteIn, StatusChangeIn
from app.deps import ClockDep, IdPath, PostedForm, SessionDep, transactional
from app.errors import InvalidInput
from app.forms import Form, FormInvalid, FormState
from app.identify import entry
from app.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)

STATUS_CHANGE = Form(
    StatusChangeIn,
    # In the order the page shows them (the error summary's order).
    fields=("status", "evidence", "reason", "note", "version", entry.CONFIRM_FIELD),
    messages={
        ("note", "invalid"): "The note must not contain control characters",
        ("evidence", "invalid"): "The evidence must not contain control characters",
        ("reason", "invalid"): "The reason must not contain control characters",
    },
)
NOTE = Form(
    NoteIn,
    fields=("note", entry.CONFIRM_FIELD),
    messages={
        "note": "Enter a progress note",
        ("note", "invalid"): "The progress note must not contain control characters",
    },
)


def _action_page(
    session: Session,
    request: Request,
    actor: Actor,
    clock: Clock,
    action_id: int,
    *,
    form: FormState | None = None,
    confirming: str | None = None,
    status_code: int = 200,
) -> Response:
    """The action's page; ``confirming`` is the form (a status it moves to, or
    "progress-note") whose text the identification guard asks its writer to confirm:
    the page has several forms, and the confirmation belongs in the one posted."""
    action = service.get_action(session, action_id=action_id, actor=actor)
    may_update = may_update_action(actor, action.owning_agency_id)
    steps = [
        step
        for step in LIFECYCLE[action.status]
        if actor.may(step.permission)
        and (step.permission == Permission.ACTION_MANAGE or may_update)
    ]
    return render(
        request,
        "actions/action.html",
        {
            "action": service.view(action, clock),
            "steps": steps,
            "may_note": may_update and action.status not in FINISHED,
            "may_edit": actor.may(Permission.ACTION_MANAGE) and action.status not in FINISHED,
            "form": form or FormState(),
            "confirming": confirming,
            **LABELS,
        },
        status_code=status_code,
    )


@router.get("/actions/{action_id}", name="actions.view")
@transactional
def action_page(
    session: SessionDep, request: Request, actor: Actor, clock: ClockDep, action_id: IdPath
) -> Response:
    """The action, where it stands, its history, and the changes this person may make."""
    return _action_page(session, request, actor, clock, action_id)


@router.post("/actions/{action_id}/status", name="actions.change_status")
@transactional
def change_status(
    session: SessionDep,
    request: Request,
    actor: Actor,
    clock: ClockDep,
    action_id: IdPath,
    posted: PostedForm,
) -> Response:
    """Move the action on: one form per allowed next status, each with its own fields
    (named after the status, so the page can show which form a message is about)."""
    action = service.get_action(session, action_id=action_id, actor=actor)
    prefix = f"{posted.one('status')}-"
    try:
        body = STATUS_CHANGE.read(posted)
        with STATUS_CHANGE.submitting(session, posted):
            service.change_status(
                session,
                actor=actor,
                action=action,
                to=body.status,
                note=body.note,
                evidence=body.evidence,
                reason=body.reason,
                version=body.version,
                confirm_identifying=body.confirm_identifying,
            )
    except FormInvalid as invalid:
        if "status" in invalid.errors:
            raise InvalidInput("Choose what the action should become.") from None
        form = FormState(
            values={prefix + k: posted.one(k) for k in ("note", "evidence", "reason")},
            errors={
                k if k == entry.CONFIRM_FIELD else prefix + k: message
                for k, message in invalid.errors.items()
            },
        )
        return _action_page(
            session,
            request,
            actor,
            clock,
            action_id,
            form=form,
            confirming=prefix.removesuffix("-"),
            status_code=422,
        )
    flash(f"The action is now {STATUS_LABELS[body.status].lower()}.")
    return redirect(request, "actions.view", action_id=action_id)


@router.post("/actions/{action_id}/notes", name="actions.add_note")
@transactional
def add_note(
    session: SessionDep,
    request: Request,
    actor: Actor,
    clock: ClockDep,
    action_id: IdPath,
    posted: PostedForm,
) -> Response:
    """Add a progress note to the action's history."""
    action = service.get_action(session, action_id=action_id, actor=actor)
    try:
        body = NOTE.read(posted)
        with NOTE.submitting(session, posted):
            service.add_note(
                session,
                actor=actor,
                action=action,
                note=body.note,
                confirm_identifying=body.confirm_identifying,
            )
    except FormInvalid as invalid:
        # The note box is "progress-note" on the page: the status forms have notes too.
        form = FormState(
            values={"progress-note": posted.one("note")},
            errors={
                "progress-note" if k == "note" else k: message
                for k, message in invalid.errors.items()
            },
        )
        return _action_page(
            session,
            request,
            actor,
            clock,
            action_id,
            form=form,
            confirming="progress-note",
            status_code=422,
        )
    flash("Your progress note has been added.")
    return redirect(request, "actions.view", action_id=action_id)
