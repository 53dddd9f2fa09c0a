"""The action tracker: learning actions across the audits a person may see, filtered
(a GET form, so a view can be bookmarked), with counts and downloads of exactly the
filtered rows."""

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
from app.errors import InvalidInput, NotFound
from app.findings.models import KIND_LABELS
from app.forms import FormState
from app.pagination import PageParams
from app.templating import render

router = APIRouter(include_in_schema=False)

SHOWN = PageParams(1, 200)  # the tracker page's rows; the exports have every row
Word = Annotated[str, Query(max_length=20)]

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
) -> Response:
    """Learning actions across the audits this person may see, filtered, with counts
    and downloads of exactly the filtered rows."""
    try:
        chosen = ActionStatus(status) if status else None
    except ValueError:
        raise InvalidInput("The status filter is not valid.") from None
    filters = TrackerFilter(audit_id, agency_id, subgroup_id, chosen, overdue == "yes", theme_id)
    rows, total = tracker.rows(session, actor=actor, filters=filters, clock=clock, params=SHOWN)
    counted = tracker.counts(session, actor=actor, filters=filters, today=clock.today)
    query = filters.query()
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
            "choices": tracker.choices(session, actor=actor, filters=filters),
            "form": FormState(values=query),
            "filtered": bool(query),
            "query": query,
            "statuses": [(s.value, STATUS_LABELS[s]) for s in ActionStatus],
            "today": clock.today,
            **LABELS,
        },
    )
