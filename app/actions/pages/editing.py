"""Pages to propose a learning action for an audit (directly, or from one of its
findings) and to change one: the API's schema checks the form, the service makes the
change, and a refusal comes back with the GOV.UK error summary."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.access.models import User
from app.access.policy import Actor
from app.actions import service
from app.actions.lifecycle import FINISHED, STATUS_LABELS
from app.actions.schemas import ActionCreate
from app.audits import service as audits
from app.deps import FilterId, IdPath, PostedForm, SessionDep, transactional
from app.errors import StateError
from app.findings import service as findings
from app.findings.models import KIND_LABELS
from app.forms import Form, FormInvalid, FormState, date_values
from app.identify import entry
from app.schemas_base import MAX_ID
from app.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)

ACTION = Form(
    ActionCreate,
    fields=(
        "title",
        "description",
        "finding_ids",
        "owning_agency_id",
        "owner_name",
        "owner_user_id",
        "due_on",
        "success_measure",
        entry.CONFIRM_FIELD,
    ),
    lists=frozenset({"finding_ids"}),
    dates={"due_on": "Due date"},
    messages={
        "title": "Enter a short title saying what will be done",
        "description": "The description must not contain control characters",
        "finding_ids": "Choose findings from the list",
        "owning_agency_id": "Choose the agency that owns the action",
        "owner_name": "Enter the name of the person who owns the action",
        "owner_user_id": "Choose the owner's account from the list",
        "due_on": "Enter the date the action is due",
        "success_measure": "Enter how you will know the action has worked",
    },
    refusals={
        "finding_ids": "Choose findings of this audit",
        "owning_agency_id": "Choose an agency taking part in this audit",
        "owner_user_id": "Choose the account of someone in the owning agency, or none",
    },
)


def _form_page(
    session: Session,
    request: Request,
    actor: Actor,
    *,
    audit_id: int,
    action_id: int | None,
    form: FormState,
    status_code: int = 200,
) -> Response:
    """The action form, read afresh (after a refusal, everything loaded was expired)."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    names = {a.id: a.name for a in audit.agencies}
    people = service.people(session, agency_ids=list(names))
    return render(
        request,
        "actions/form.html",
        {
            "audit": audit,
            "action_id": action_id,
            "findings": [
                (f.id, f"{KIND_LABELS[f.kind]}: {_short(f.statement)}")
                for f in findings.list_findings(session, actor=actor, audit=audit)
            ],
            "agencies": list(names.items()),
            "people": [(p.id, f"{p.display_name} ({_agency_name(names, p)})") for p in people],
            "form": form,
        },
        status_code=status_code,
    )


def _agency_name(names: dict[int, str], person: User) -> str:
    return names.get(person.agency_id, "") if person.agency_id is not None else ""


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


@router.get("/audits/{audit_id}/actions/new", name="actions.new")
@transactional
def new_action(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    finding_id: FilterId = None,
) -> Response:
    """The form to propose an action; from a finding, it starts linked to it (and owned
    by the agency the finding is about, if any)."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    values: dict = {}
    if finding_id:
        finding = findings.get_finding(session, finding_id=finding_id, actor=actor)
        if finding.audit_id == audit.id:
            values = {
                "finding_ids": [str(finding.id)],
                "owning_agency_id": str(finding.agency_id or ""),
            }
    return _form_page(
        session, request, actor, audit_id=audit.id, action_id=None, form=ACTION.state(values)
    )


@router.post("/audits/{audit_id}/actions/new", name="actions.create")
@transactional
def create_action(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    try:
        body = ACTION.read(posted, audit_id=audit.id)
        with ACTION.submitting(session, posted):
            fields = body.model_dump(exclude={"audit_id"})
            action = service.create_action(session, actor=actor, audit=audit, **fields)
    except FormInvalid as invalid:
        return _form_page(
            session,
            request,
            actor,
            audit_id=audit.id,
            action_id=None,
            form=invalid.state(),
            status_code=422,
        )
    flash("The action has been proposed.")
    return redirect(request, "actions.view", action_id=action.id)


@router.get("/actions/{action_id}/edit", name="actions.edit")
@transactional
def edit_action(session: SessionDep, request: Request, actor: Actor, action_id: IdPath) -> Response:
    action = service.get_action(session, action_id=action_id, actor=actor)
    if action.status in FINISHED:
        label = STATUS_LABELS[action.status].lower()
        raise StateError(f"This action is {label}: it can no longer change.")
    values = {
        "title": action.title,
        "description": action.description,
        "finding_ids": [str(f.id) for f in action.findings],
        "owning_agency_id": str(action.owning_agency_id),
        "owner_name": action.owner_name,
        "owner_user_id": str(action.owner_user_id or ""),
        "success_measure": action.success_measure,
        "version": str(action.version),
        **date_values("due_on", action.due_on),
    }
    return _form_page(
        session,
        request,
        actor,
        audit_id=action.audit_id,
        action_id=action.id,
        form=ACTION.state(values),
    )


def _version(posted) -> int | None:
    """The action version the page was showing; an unreadable one is refused as stale."""
    value = posted.one("version")
    if not value:
        return None
    if value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_ID:
        return int(value)
    raise StateError("This page is out of date: reload it and try again.")


@router.post("/actions/{action_id}/edit", name="actions.save")
@transactional
def save_action(
    session: SessionDep, request: Request, actor: Actor, action_id: IdPath, posted: PostedForm
) -> Response:
    action = service.get_action(session, action_id=action_id, actor=actor)
    version = _version(posted)
    try:
        body = ACTION.read(posted, audit_id=action.audit_id)
        changes = body.model_dump(exclude={"audit_id"})
        confirmed = changes.pop(entry.CONFIRM_FIELD)
        with ACTION.submitting(session, posted):
            service.update_action(
                session,
                actor=actor,
                action=action,
                changes=changes,
                version=version,
                confirm_identifying=confirmed,
            )
    except FormInvalid as invalid:
        return _form_page(
            session,
            request,
            actor,
            audit_id=action.audit_id,
            action_id=action_id,
            form=invalid.state(),
            status_code=422,
        )
    flash("The action has been saved.")
    return redirect(request, "actions.view", action_id=action_id)
