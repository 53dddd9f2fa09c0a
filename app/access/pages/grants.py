"""Admin pages for requests to give someone the administrator or moderator role: the
requests waiting and those decided, and one request with the form that approves or
refuses it. Only a second administrator decides: whoever asked, and the person it is
for, see the request without the form, and a decision they post anyway is refused
and logged (app/access/grants.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.access import grants, service
from app.access.models import GrantDecision, Role, RoleGrantRequest
from app.access.pages.users import ROLE_LABELS
from app.access.policy import Actor
from app.access.schemas import GrantDecisionIn
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.forms import Form, FormInvalid, FormState
from app.pagination import PageParams
from app.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)

DECISION = Form(
    GrantDecisionIn,
    fields=("decision", "reason"),
    messages={
        "decision": "Choose whether to approve or refuse the request",
        ("decision", "invalid"): "Choose whether to approve or refuse the request",
        ("reason", "string_too_long"): "The reason must be 1,000 characters or fewer",
        ("reason", "invalid"): "The reason must not contain control characters",
    },
)
# Decided requests shown under those waiting: the latest, for context.
DECIDED_SHOWN = 20
DECISION_TAGS = {
    GrantDecision.PENDING: ("Waiting", "govuk-tag--yellow"),
    GrantDecision.APPROVED: ("Approved", "govuk-tag--green"),
    GrantDecision.REFUSED: ("Refused", "govuk-tag--red"),
    GrantDecision.REPLACED: ("Replaced by a later request", "govuk-tag--grey"),
}


def _labels(values: list[str]) -> str:
    return ", ".join(ROLE_LABELS[Role(v)] for v in values) or "None"


@router.get("/admin/role-requests", name="access.role_grants")
@transactional
def role_grants(session: SessionDep, request: Request) -> Response:
    """The requests waiting for a second administrator, then the latest decided."""
    waiting, _total = grants.list_requests(session, params=PageParams(1, 100), pending=True)
    decided, _total = grants.list_requests(
        session, params=PageParams(1, DECIDED_SHOWN), pending=False
    )
    return render(
        request,
        "access/users/role_requests.html",
        {
            "waiting": waiting,
            "decided": decided,
            "names": grants.names(session, [*waiting, *decided]),
            "labels": _labels,
            "tags": DECISION_TAGS,
        },
    )


def _page(
    request: Request,
    session: Session,
    *,
    grant: RoleGrantRequest,
    actor: Actor,
    form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    user = service.get_user(session, user_id=grant.user_id)
    own = actor.user_id in (grant.requested_by_id, grant.user_id)
    return render(
        request,
        "access/users/role_request.html",
        {
            "grant": grant,
            "person": user,
            "roles_now": _labels(sorted(r.value for r in user.roles)),
            "labels": _labels,
            "tags": DECISION_TAGS,
            "may_decide": grant.decision == GrantDecision.PENDING and not own,
            "asked_by_me": actor.user_id == grant.requested_by_id,
            "form": form or DECISION.state(),
            "choices": [("approve", "Approve"), ("refuse", "Refuse")],
        },
        status_code=status_code,
    )


@router.get("/admin/role-requests/{grant_id}", name="access.role_grant")
@transactional
def role_grant(session: SessionDep, request: Request, actor: Actor, grant_id: IdPath) -> Response:
    grant = grants.get_request(session, request_id=grant_id)
    return _page(request, session, grant=grant, actor=actor)


@router.post("/admin/role-requests/{grant_id}", name="access.role_grant_decide")
@transactional(keep_refusals=True)  # a refusal's audit-log row is kept; nothing else is
def decide(
    session: SessionDep, request: Request, actor: Actor, grant_id: IdPath, posted: PostedForm
) -> Response:
    grant = grants.get_request(session, request_id=grant_id)
    try:
        body = DECISION.read(posted)
        with grants.refusals_logged(session), DECISION.submitting(session, posted):
            service.decide_grant(
                session,
                request=grant,
                approve=body.decision == "approve",
                reason=body.reason,
                actor=actor,
            )
    except grants.Refusal as refusal:
        form = FormState(values=posted.shown(), errors={"decision": refusal.message})
        grant = grants.get_request(session, request_id=grant_id)
        return _page(
            request, session, grant=grant, actor=actor, form=form, status_code=refusal.status_code
        )
    except FormInvalid as invalid:
        return _page(
            request,
            session,
            grant=grant,
            actor=actor,
            form=invalid.state(),
            status_code=invalid.status_code,
        )
    person = service.get_user(session, user_id=grant.user_id)
    if grant.decision == GrantDecision.APPROVED:
        flash(
            f"The request has been approved: {person.display_name}'s roles are now "
            f"{_labels(grant.roles)}."
        )
    else:
        flash(f"The request has been refused: {person.display_name}'s roles have not changed.")
    return redirect(request, "access.role_grants")
