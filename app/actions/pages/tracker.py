"""The action tracker: learning actions across the audits a person may see, searched,
filtered and sorted (a GET form and links, so a view can be bookmarked), with counts
and downloads of exactly the filtered rows. A choice not offered is a 422 with the
error summary."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.access.policy import Actor
from app.actions import tracker
from app.actions.lifecycle import RAG_LABELS, STATUS_LABELS
from app.actions.models import ActionStatus
from app.actions.tracker import TrackerFilter
from app.audits import service as audits
from app.deps import ClockDep, FilterId, SessionDep, transactional
from app.errors import NotFound
from app.findings.models import KIND_LABELS
from app.forms import FormState
from app.pagination import PageParams
from app.templating import render, sort_heads

router = APIRouter(include_in_schema=False)

SHOWN = PageParams(1, 200)  # the tracker page's rows; the exports have every row
Word = Annotated[str, Query(max_length=20)]
Search = Annotated[str, Query(max_length=200)]

COLUMNS = (
    ("ID", None, "numeric"),
    ("Action and audit", "title"),
    ("Owning agency and owner", "agency"),
    ("Due", "due_on"),
    ("Status", "status"),
    ("RAG", "rag"),
    ("Escalated to", None),
)
SORT_PROBLEM = "Sort by one of the table's columns"

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
# The words and colours every action page uses for statuses, RAG and findings.
LABELS = {
    "status_labels": STATUS_LABELS,
    "status_tags": STATUS_TAGS,
    "rag_labels": RAG_LABELS,
    "rag_tags": RAG_TAGS,
    "kind_labels": KIND_LABELS,
}


@router.get("/actions", name="actions.tracker")
@transactional
def tracker_page(
    session: SessionDep,
    request: Request,
    actor: Actor,
    clock: ClockDep,
    audit_id: FilterId = None,
    agency_id: FilterId = None,
    subgroup_id: FilterId = None,
    status: Word = "",
    overdue: Word = "",
    theme_id: FilterId = None,
    q: Search = "",
    sort: Word = "",
) -> Response:
    """Learning actions across the audits this person may see, searched by their words,
    filtered and sorted (soonest due first unless sorted), with counts and downloads
    of exactly the filtered rows."""
    statuses = {s.value: s for s in ActionStatus}
    offered = tracker.choices(
        session,
        actor=actor,
        filters=TrackerFilter(audit_id, agency_id, subgroup_id, theme_id=theme_id),
    )
    errors: dict[str, str] = {}
    for name, chosen_id, key, choice in (
        ("audit_id", audit_id, "audits", "an audit"),
        ("agency_id", agency_id, "agencies", "an agency"),
        ("subgroup_id", subgroup_id, "subgroups", "a lead subgroup"),
        ("theme_id", theme_id, "themes", "a theme"),
    ):
        if chosen_id is not None and chosen_id not in {i for i, _ in offered[key]}:
            errors[name] = f"Choose {choice} from the list"
    if status and status not in statuses:
        errors["status"] = "Choose a status from the list"
    if sort and sort.removeprefix("-") not in tracker.SORTS:
        errors["sort"] = SORT_PROBLEM
    filters = TrackerFilter(
        audit_id,
        agency_id,
        subgroup_id,
        statuses.get(status),
        overdue == "yes",
        theme_id,
        q.strip() or None,
    )
    rows: list[tracker.ActionRow] = []
    total = 0
    counted: dict = {"total": 0, "by_status": dict.fromkeys(ActionStatus, 0), "by_agency": []}
    if not errors:
        counted = tracker.counts(session, actor=actor, filters=filters, today=clock.today)
        rows, total = tracker.rows(
            session,
            actor=actor,
            filters=filters,
            clock=clock,
            params=SHOWN,
            sort=sort or "due_on",
            themes=False,
            total=counted["total"],
        )
    query = filters.query()
    shown = {
        "audit_id": audit_id,
        "agency_id": agency_id,
        "subgroup_id": subgroup_id,
        "status": status,
        "theme_id": theme_id,
        "overdue": "yes" if overdue == "yes" else "",
        "q": q,
    }
    try:  # one audit's actions: its stage and tabs (an audit not seen shows no actions)
        audit = audits.get_audit(session, audit_id=audit_id, actor=actor) if audit_id else None
    except NotFound:
        audit = None
    return render(
        request,
        "actions/tracker.html",
        {
            "audit": audit,
            "rows": rows,
            "total": total,
            "counts": counted,
            "choices": offered,
            "form": FormState(
                values={k: "" if v is None else str(v) for k, v in shown.items()},
                errors=errors,
                anchors={"sort": "#actions"},
            ),
            "filtered": bool(query),
            "query": query,
            "sort": "" if "sort" in errors else sort,
            "head": sort_heads(
                request,
                "actions.tracker",
                columns=COLUMNS,
                sort=sort or "due_on",
                query={k: v for k, v in shown.items() if v not in (None, "")},
            ),
            "statuses": [(s.value, STATUS_LABELS[s]) for s in ActionStatus],
            "today": clock.today,
            **LABELS,
        },
        status_code=422 if errors else 200,
    )
