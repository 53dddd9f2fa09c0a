"""Pages to propose a learning action for an audit (directly, or from one of its
findings) and to change one: the API's schemas validate the form, the service makes
the change, and a refusal comes back with the GOV.UK error summary."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.access.policy import Actor
from app.actions import service
from app.actions.forms import check, date_values, ordered, parse_id, refusal
from app.actions.lifecycle import FINISHED, STATUS_LABELS
from app.actions.schemas import ActionCreate, ActionPatch
from app.audits import service as audits
from app.deps import FormLists, IdPath, SessionDep, transactional
from app.errors import InvalidInput, StateError
from app.findings import service as findings
from app.findings.models import KIND_LABELS
from app.forms import attempt, form_context
from app.forms import legacy_read_date as read_date
from app.templating import render

router = APIRouter(include_in_schema=False)

ACTION_FIELDS = (
    "title",
    "description",
    "finding_ids",
    "owning_agency_id",
    "owner_name",
    "owner_user_id",
    "due_on",
    "success_measure",
)
ACTION_MESSAGES = {
    "title": "Enter a short title saying what will be done",
    "description": "The description must not contain control characters",
    "finding_ids": "Choose findings from the list",
    "owning_agency_id": "Choose the agency that owns the action",
    "owner_name": "Enter the name of the person who owns the action",
    "owner_user_id": "Choose the owner's account from the list",
    "success_measure": "Enter how you will know the action has worked",
}
ACTION_REFUSALS = {
    "finding_ids": "Choose findings of this audit",
    "owning_agency_id": "Choose an agency taking part in this audit",
    "owner_user_id": "Choose the account of someone in the owning agency, or none",
}


def _read_action(values: dict) -> tuple[dict | None, dict[str, str]]:
    """The form as the service's fields, or None and the errors in page order."""
    data = {
        "title": values.get("title", ""),
        "description": values.get("description", ""),
        "finding_ids": values.get("finding_ids", []),
        "owning_agency_id": values.get("owning_agency_id") or None,
        "owner_name": values.get("owner_name", ""),
        "owner_user_id": values.get("owner_user_id") or None,
        "success_measure": values.get("success_measure", ""),
    }
    errors: dict[str, str] = {}
    data["due_on"], problem = read_date(values, "due_on", "Due date")
    if problem or data["due_on"] is None:
        errors["due_on"] = problem or "Enter the date the action is due"
    body, found = check(ActionPatch, data, ACTION_MESSAGES)
    for name, message in found.items():
        errors.setdefault(name, message)
    if errors:
        return None, ordered(errors, ACTION_FIELDS)
    return body.model_dump(exclude={"version"}), {}


def _values(form: dict[str, list[str]]) -> dict:
    values: dict = {key: items[0] for key, items in form.items()}
    values["finding_ids"] = form.get("finding_ids", [])
    return values


def _form_page(
    session: Session,
    request: Request,
    actor: Actor,
    *,
    audit_id: int,
    action_id: int | None,
    values: dict,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    """The action form, read afresh (after a refusal, everything loaded was expired)."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    agency_ids = [a.id for a in audit.agencies]
    return render(
        request,
        "actions/form.html",
        {
            "audit": audit,
            "action_id": action_id,
            "findings": findings.list_findings(session, actor=actor, audit=audit),
            "agencies": audit.agencies,
            "people": service.people(session, agency_ids=agency_ids),
            **form_context(values, errors, {"due_on": "due_on-day"}),
            "kind_labels": KIND_LABELS,
        },
        status_code=status_code,
    )


@router.get("/audits/{audit_id}/actions/new", name="actions.new")
@transactional
def new_action(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    finding_id: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The form to propose an action; from a finding, it starts linked to it (and owned
    by the agency the finding is about, if any)."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    values: dict = {}
    if finding_id:
        finding = findings.get_finding(
            session, finding_id=parse_id("finding", finding_id), actor=actor
        )
        if finding.audit_id == audit.id:
            values = {
                "finding_ids": [str(finding.id)],
                "owning_agency_id": str(finding.agency_id or ""),
            }
    return _form_page(
        session, request, actor, audit_id=audit.id, action_id=None, values=values, errors={}
    )


@router.post("/audits/{audit_id}/actions/new", name="actions.create")
@transactional
def create_action(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, form: FormLists
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    values = _values(form)
    again = partial(
        _form_page, session, request, actor, audit_id=audit.id, action_id=None, values=values
    )
    data, errors = _read_action(values)
    if data is None:
        return again(errors=errors, status_code=422)
    body, errors = check(ActionCreate, {**data, "audit_id": audit.id}, ACTION_MESSAGES)
    if body is None:
        return again(errors=errors, status_code=422)
    try:
        with attempt(session):
            fields = body.model_dump(exclude={"audit_id"})
            action = service.create_action(session, actor=actor, audit=audit, **fields)
    except InvalidInput as exc:
        return again(errors=ordered(refusal(exc, ACTION_REFUSALS), ACTION_FIELDS), status_code=422)
    return RedirectResponse(f"/actions/{action.id}?done=created", status_code=303)


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
        values=values,
        errors={},
    )


@router.post("/actions/{action_id}/edit", name="actions.save")
@transactional
def save_action(
    session: SessionDep, request: Request, actor: Actor, action_id: IdPath, form: FormLists
) -> Response:
    action = service.get_action(session, action_id=action_id, actor=actor)
    values = _values(form)
    again = partial(
        _form_page,
        session,
        request,
        actor,
        audit_id=action.audit_id,
        action_id=action_id,
        values=values,
    )
    data, errors = _read_action(values)
    version = parse_id("version", values.get("version", ""))
    if data is None:
        return again(errors=errors, status_code=422)
    try:
        with attempt(session):
            service.update_action(
                session, actor=actor, action=action, changes=data, version=version
            )
    except InvalidInput as exc:
        return again(errors=ordered(refusal(exc, ACTION_REFUSALS), ACTION_FIELDS), status_code=422)
    return RedirectResponse(f"/actions/{action_id}?done=saved", status_code=303)
