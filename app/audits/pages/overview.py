"""Pages about audits: the audits (searched, filtered and sorted, the choices kept in
the address), each audit's overview (progress; closing and reopening it), and its
returns (filtered and sorted)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.access.policy import Actor, Permission
from app.agencies import service as agencies
from app.agencies.models import Agency
from app.audits import lifecycle, service, stage
from app.audits import progress as returns_progress
from app.audits.models import Audit, AuditStatus
from app.audits.schemas import CloseAudit, ReopenAudit
from app.deps import FilterId, IdPath, PostedForm, SessionDep, transactional
from app.forms import Form, FormInvalid, FormState
from app.pagination import PageParams
from app.returns import reading, signoff
from app.returns.models import ReturnStatus
from app.templating import flash, redirect, render, sort_heads

router = APIRouter(include_in_schema=False)

EVERYTHING = PageParams(1, 200)
AUDITS_PER_PAGE = 50  # the audits list, paged: a page's cost does not grow with the count
EVERY_RETURN = PageParams(1, 10_000)  # one audit's returns, sorted here
Word = Annotated[str, Query(max_length=40)]
Search = Annotated[str, Query(max_length=200)]

CLOSE = Form(
    CloseAudit,
    fields=("reason",),
    messages={
        ("reason", "string_too_long"): "The reason must be 20,000 characters or fewer",
        ("reason", "invalid"): "The reason must not contain control characters",
    },
)
REOPEN = Form(
    ReopenAudit,
    fields=("reopen_reason",),
    rename={"reason": "reopen_reason"},
    messages={
        "reopen_reason": "Say why the audit is reopened",
        ("reopen_reason", "string_too_long"): "The reason must be 20,000 characters or fewer",
        ("reopen_reason", "invalid"): "The reason must not contain control characters",
    },
)

# --- the audits ----------------------------------------------------------------------

AUDIT_COLUMNS = (
    ("Audit", "title"),
    ("Stage", "status"),
    ("Cohort", None),
    ("Returns submitted", None, "numeric"),
    ("Returns due", "returns_due_on"),
)
SORT_PROBLEM = "Sort by one of the table's columns"


@router.get("/audits", name="audits.list")
@transactional
def audits(
    session: SessionDep,
    request: Request,
    actor: Actor,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    q: Search = "",
    status: Word = "",
    subgroup_id: FilterId = None,
    agency_id: FilterId = None,
    sort: Word = "",
) -> Response:
    """The audits this person may see, newest first unless sorted, searched by title or
    theme and filtered by stage, lead subgroup and agency, 50 a page (a GET form and
    links: the address keeps the choices, the page links too; the form does not carry
    the page, so changing a filter starts again at the first). An agency's people are
    not offered the agency filter (they see only their own agency's audits), so an
    ``agency_id`` in their address is ignored, not refused: the error summary would
    link to a field not on the page."""
    subgroups, _ = agencies.list_subgroups(session, params=EVERYTHING)
    agency_rows: list[Agency] = []
    if actor.partnership_wide:
        agency_rows, _ = agencies.list_agencies(session, params=EVERYTHING)
    else:
        agency_id = None
    statuses = {s.value: s for s in AuditStatus}
    sorts = {s.value: s for s in service.AuditSort}
    errors: dict[str, str] = {}
    if status and status not in statuses:
        errors["status"] = "Choose a stage from the list"
    if subgroup_id is not None and subgroup_id not in {s.id for s in subgroups}:
        errors["subgroup_id"] = "Choose a lead subgroup from the list"
    if agency_id is not None and agency_id not in {a.id for a in agency_rows}:
        errors["agency_id"] = "Choose an agency from the list"
    if sort and sort not in sorts:
        errors["sort"] = SORT_PROBLEM
    items: list[service.AuditView] = []
    total = 0
    if not errors:
        items, total = service.list_audits(
            session,
            actor=actor,
            params=PageParams(page, AUDITS_PER_PAGE),
            status=statuses.get(status),
            subgroup_id=subgroup_id,
            agency_id=agency_id,
            q=q.strip() or None,
            sort=sorts.get(sort, service.AuditSort.CREATED_DESC),
            options=service.ROW_LOAD,
        )
    filters = {"q": q, "status": status, "subgroup_id": subgroup_id, "agency_id": agency_id}
    return render(
        request,
        "audits/list.html",
        {
            "audits": items,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // AUDITS_PER_PAGE)),
            "filtered": any(filters.values()),
            "sort": sort if sort in sorts else "",
            "query": {**filters, "sort": sort if sort in sorts else ""},
            "head": sort_heads(
                request, "audits.list", columns=AUDIT_COLUMNS, sort=sort, query=filters
            ),
            "statuses": [(s.value, label) for s, label in stage.STAGE_LABELS.items()],
            "stage_labels": {s.value: label for s, label in stage.STAGE_LABELS.items()},
            "subgroups": [(s.id, s.name) for s in subgroups],
            "agencies": [(a.id, a.name) for a in agency_rows],
            "form": FormState(
                values={k: "" if v is None else str(v) for k, v in filters.items()},
                errors=errors,
                anchors={"sort": "#audits"},
            ),
        },
        status_code=422 if errors else 200,
    )


# --- one audit -----------------------------------------------------------------------


def _overview_page(
    session: Session,
    request: Request,
    actor: Actor,
    audit_id: int,
    *,
    form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    audit = service.get_audit(session, audit_id=audit_id, actor=actor)
    progress = returns_progress.progress(session, actor=actor, audit=audit)
    matrix = returns_progress.return_matrix(session, actor=actor, audit=audit)
    may_manage = actor.may(Permission.AUDIT_MANAGE)
    still_open, actions = (0, 0)
    if may_manage and audit.status == AuditStatus.LEARNING:
        still_open, actions = lifecycle.open_actions(session, audit=audit)
    return render(
        request,
        "audits/overview.html",
        {
            "audit": audit,
            "progress": progress,
            "matrix": matrix,
            "agencies": [
                a for a in audit.agencies if actor.partnership_wide or a.id == actor.agency_id
            ],
            "may_read_returns": actor.may(Permission.RETURN_READ),
            "may_see_moderation": stage.moderation_visible(actor, audit),
            "to_sign_off": signoff.waiting(session, actor=actor, audit_id=audit.id),
            "may_manage": may_manage,
            "surveys": service.family_surveys(session, audit=audit, actor=actor),
            "open_actions": still_open,
            "actions_count": actions,
            "form": form,
        },
        status_code=status_code,
    )


@router.get("/audits/{audit_id}", name="audits.overview")
@transactional
def overview(session: SessionDep, request: Request, actor: Actor, audit_id: IdPath) -> Response:
    """Progress by agency and by child, with a link to each return for those who may read
    it; for those who manage audits, closing it once its learning is done, or reopening."""
    return _overview_page(session, request, actor, audit_id)


def _change_stage(session, request, actor, audit_id: int, posted, form, change, done: str):
    """Close or reopen from the overview: ``form`` reads the reason, ``change`` makes
    the change; a refusal shows the overview again with the error summary."""
    audit = service.get_audit(session, audit_id=audit_id, actor=actor)
    try:
        body = form.read(posted)
        with form.submitting(session, posted):
            change(session, audit=audit, reason=body.reason)
    except FormInvalid as invalid:
        return _overview_page(
            session, request, actor, audit_id, form=invalid.state(), status_code=invalid.status_code
        )
    flash(done)
    return redirect(request, "audits.overview", audit_id=audit_id)


@router.post("/audits/{audit_id}/close", name="audits.close")
@transactional
def close(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
) -> Response:
    """Close an audit in learning; the reason is required while a learning action is open."""
    return _change_stage(
        session,
        request,
        actor,
        audit_id,
        posted,
        CLOSE,
        lifecycle.close_audit,
        "The audit is closed.",
    )


@router.post("/audits/{audit_id}/reopen", name="audits.reopen")
@transactional
def reopen(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
) -> Response:
    """Put a closed audit back in learning, with the reason."""
    return _change_stage(
        session,
        request,
        actor,
        audit_id,
        posted,
        REOPEN,
        lifecycle.reopen_audit,
        "The audit is reopened: it is back in learning.",
    )


# --- its returns ---------------------------------------------------------------------

RETURN_COLUMNS = (
    ("Child", "child"),
    ("Agency", "agency"),
    ("Status", "status"),
    ("Auditor", None),
    ("Last saved", "updated"),
)
RETURN_ORDER = tuple(ReturnStatus)  # not started, in progress, ... as a return goes
RETURN_SORTS = {
    "child": lambda r: r["child"]["pseudonym"],
    "agency": lambda r: r["agency"]["name"].lower(),
    "status": lambda r: RETURN_ORDER.index(r["status"]),
    "updated": lambda r: r["updated_at"],
}


def _return_columns(audit: Audit) -> tuple:
    """An audit about agencies: each return is its agency's own, so one column says both."""
    if audit.about_agencies:
        return (("Agency", "child"), *RETURN_COLUMNS[2:])
    return RETURN_COLUMNS


@router.get("/audits/{audit_id}/returns", name="audits.returns")
@transactional
def returns(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    agency_id: FilterId = None,
    child_id: FilterId = None,
    status: Word = "",
    sort: Word = "",
) -> Response:
    """The audit's returns this person may read, filtered by agency, child and status
    and sorted by a column (a GET form: the address keeps the choices)."""
    audit = service.get_audit(session, audit_id=audit_id, actor=actor)
    every, _ = reading.list_returns(session, actor=actor, audit_id=audit.id, params=EVERY_RETURN)
    agency_choices = sorted({(r["agency"]["id"], r["agency"]["name"]) for r in every}, key=_name)
    child_choices = sorted({(r["child"]["id"], r["child"]["pseudonym"]) for r in every}, key=_name)
    statuses = {s.value: s for s in ReturnStatus}
    errors: dict[str, str] = {}
    if agency_id is not None and agency_id not in dict(agency_choices):
        errors["agency_id"] = "Choose an agency from the list"
    if child_id is not None and child_id not in dict(child_choices):
        errors["child_id"] = (
            f"Choose {'an agency' if audit.about_agencies else 'a child'} from the list"
        )
    if status and status not in statuses:
        errors["status"] = "Choose a status from the list"
    key = sort.removeprefix("-")
    if sort and key not in RETURN_SORTS:
        errors["sort"] = SORT_PROBLEM
    shown: list[dict] = []
    if not errors:
        shown = [
            r
            for r in every
            if (agency_id is None or r["agency"]["id"] == agency_id)
            and (child_id is None or r["child"]["id"] == child_id)
            and (not status or r["status"] == statuses[status])
        ]
        if sort:  # as read (by child, then agency) until sorted
            shown.sort(key=RETURN_SORTS[key], reverse=sort.startswith("-"))
    filters = {"agency_id": agency_id, "child_id": child_id, "status": status}
    return render(
        request,
        "audits/returns.html",
        {
            "audit": audit,
            "returns": shown,
            "total": len(every),
            "filtered": any(filters.values()),
            "sort": "" if "sort" in errors else sort,
            "head": sort_heads(
                request,
                "audits.returns",
                columns=_return_columns(audit),
                sort=sort,
                query=filters,
                audit_id=audit.id,
            ),
            "agencies": agency_choices,
            "children": child_choices,
            "statuses": [s.value for s in ReturnStatus],
            "form": FormState(
                values={k: "" if v is None else str(v) for k, v in filters.items()},
                errors=errors,
                anchors={"sort": "#returns"},
            ),
        },
        status_code=422 if errors else 200,
    )


def _name(choice: tuple[int, str]) -> str:
    return choice[1].lower()
