"""Pages: the action tracker, and one action with its history and next steps. The
form to propose or change an action is in ``proposing``; findings and themes are in
``findings_pages``.

Forms are validated with the API's schemas and call the same service functions; a
refusal re-renders the page with the GOV.UK error summary (the service call runs in
a savepoint, so nothing it wrote is kept), and success redirects (303).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.access.policy import Actor, Permission, may_update_action
from app.actions import service, tracker
from app.actions.forms import check, parse_id, refusal
from app.actions.lifecycle import (
    FINISHED,
    LIFECYCLE,
    RAG_LABELS,
    STATUS_LABELS,
    Clock,
)
from app.actions.models import ActionStatus
from app.actions.schemas import NoteIn, StatusChangeIn
from app.actions.tracker import TrackerFilter
from app.deps import ClockDep, FormData, IdPath, SessionDep, transactional
from app.errors import InvalidInput
from app.findings.models import KIND_LABELS
from app.forms import attempt, form_context
from app.pagination import PageParams
from app.templating import render

router = APIRouter(include_in_schema=False)

SHOWN = PageParams(1, 200)  # the tracker page's rows; the exports have every row
Filter = Annotated[str, Query(max_length=20)]

RAG_TAGS = {
    "red": "govuk-tag--red",
    "amber": "govuk-tag--orange",
    "green": "govuk-tag--green",
    "blue": "govuk-tag--blue",
    "grey": "govuk-tag--grey",
}
STATUS_TAGS = {
    ActionStatus.PROPOSED: "govuk-tag--grey",
    ActionStatus.AGREED: "govuk-tag--light-blue",
    ActionStatus.IN_PROGRESS: "govuk-tag--blue",
    ActionStatus.COMPLETED: "govuk-tag--teal",
    ActionStatus.IMPACT_EVIDENCED: "govuk-tag--green",
    ActionStatus.CLOSED: "govuk-tag--grey",
    ActionStatus.NOT_ACCEPTED: "govuk-tag--pink",
}
LABELS = {
    "status_labels": STATUS_LABELS,
    "status_tags": STATUS_TAGS,
    "rag_labels": RAG_LABELS,
    "rag_tags": RAG_TAGS,
    "kind_labels": KIND_LABELS,
}
NOTICES = {
    "created": "The action has been proposed.",
    "saved": "The action has been saved.",
    "note": "Your progress note has been added.",
    **{s.value: f"The action is now {label.lower()}." for s, label in STATUS_LABELS.items()},
}


# --- the tracker ----------------------------------------------------------------------


def _filters(
    audit_id: str, agency_id: str, subgroup_id: str, status: str, overdue: str, theme_id: str
) -> TrackerFilter:
    try:
        chosen = ActionStatus(status) if status else None
    except ValueError:
        raise InvalidInput("The status filter is not valid.") from None
    return TrackerFilter(
        audit_id=parse_id("audit", audit_id),
        agency_id=parse_id("agency", agency_id),
        subgroup_id=parse_id("subgroup", subgroup_id),
        status=chosen,
        overdue=overdue == "yes",
        theme_id=parse_id("theme", theme_id),
    )


@router.get("/actions", name="actions.tracker")
@transactional
def tracker_page(
    session: SessionDep,
    request: Request,
    actor: Actor,
    clock: ClockDep,
    audit_id: Filter = "",
    agency_id: Filter = "",
    subgroup_id: Filter = "",
    status: Filter = "",
    overdue: Filter = "",
    theme_id: Filter = "",
) -> Response:
    """Learning actions across the audits this person may see, filtered, with counts
    and downloads of exactly the filtered rows."""
    filters = _filters(audit_id, agency_id, subgroup_id, status, overdue, theme_id)
    rows, total = tracker.rows(session, actor=actor, filters=filters, clock=clock, params=SHOWN)
    counted = tracker.counts(session, actor=actor, filters=filters, today=clock.today)
    query = urlencode(filters.query())
    return render(
        request,
        "actions/tracker.html",
        {
            "rows": rows,
            "total": total,
            "counts": counted,
            "choices": tracker.choices(session, actor=actor, filters=filters),
            "filters": filters,
            "filtered": bool(query),
            "query": query,
            "statuses": list(ActionStatus),
            "today": clock.today,
            **LABELS,
        },
    )


# --- one action -----------------------------------------------------------------------


def _action_page(
    session: Session,
    request: Request,
    actor: Actor,
    clock: Clock,
    action_id: int,
    *,
    values: dict | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    action = service.get_action(session, action_id=action_id, actor=actor)
    may_update = may_update_action(actor, action.owning_agency_id)
    steps = [
        step
        for step in LIFECYCLE[action.status]
        if actor.may(step.permission)
        and (step.permission == Permission.ACTION_MANAGE or may_update)
    ]
    errors = errors or {}
    anchors = {f: f for f in errors}
    return render(
        request,
        "actions/action.html",
        {
            "action": service.view(action, clock),
            "steps": steps,
            "may_note": may_update and action.status not in FINISHED,
            "may_edit": actor.may(Permission.ACTION_MANAGE) and action.status not in FINISHED,
            "notice": NOTICES.get(notice, ""),
            **form_context(values or {}, errors, anchors),
            **LABELS,
        },
        status_code=status_code,
    )


@router.get("/actions/{action_id}", name="actions.view")
@transactional
def action_page(
    session: SessionDep,
    request: Request,
    actor: Actor,
    clock: ClockDep,
    action_id: IdPath,
    done: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The action, where it stands, its history, and the changes this person may make."""
    return _action_page(session, request, actor, clock, action_id, notice=done)


STATUS_MESSAGES = {
    "note": "The note must not contain control characters",
    "evidence": "The evidence must not contain control characters",
    "reason": "The reason must not contain control characters",
}


@router.post("/actions/{action_id}/status", name="actions.change_status")
@transactional
def change_status(
    session: SessionDep,
    request: Request,
    actor: Actor,
    clock: ClockDep,
    action_id: IdPath,
    form: FormData,
) -> Response:
    """Move the action on: one form per allowed next status, each with its own fields."""
    action = service.get_action(session, action_id=action_id, actor=actor)
    data = {k: form.get(k, "") for k in ("status", "note", "evidence", "reason")}
    data["version"] = form.get("version") or None
    body, errors = check(StatusChangeIn, data, STATUS_MESSAGES)
    if body is None and "status" in errors:
        raise InvalidInput("Choose what the action should become.")
    prefix = f"{data['status']}-"
    again = partial(
        _action_page,
        session,
        request,
        actor,
        clock,
        action_id,
        values={prefix + k: data[k] for k in ("note", "evidence", "reason")},
        status_code=422,
    )
    if body is None:
        return again(errors={prefix + k: m for k, m in errors.items()})
    try:
        with attempt(session):
            service.change_status(
                session,
                actor=actor,
                action=action,
                to=body.status,
                note=body.note,
                evidence=body.evidence,
                reason=body.reason,
                version=body.version,
            )
    except InvalidInput as exc:
        return again(errors={prefix + k: m for k, m in refusal(exc, {}).items()})
    return RedirectResponse(f"/actions/{action_id}?done={body.status.value}", status_code=303)


@router.post("/actions/{action_id}/notes", name="actions.add_note")
@transactional
def add_note(
    session: SessionDep,
    request: Request,
    actor: Actor,
    clock: ClockDep,
    action_id: IdPath,
    form: FormData,
) -> Response:
    """Add a progress note to the action's history."""
    action = service.get_action(session, action_id=action_id, actor=actor)
    body, errors = check(
        NoteIn,
        {"note": form.get("note", "")},
        {"note": "Enter a progress note"},
    )
    if body is None:
        return _action_page(
            session,
            request,
            actor,
            clock,
            action_id,
            values={"progress-note": form.get("note", "")},
            errors={"progress-note": errors["note"]},
            status_code=422,
        )
    service.add_note(session, actor=actor, action=action, note=body.note)
    return RedirectResponse(f"/actions/{action_id}?done=note", status_code=303)
