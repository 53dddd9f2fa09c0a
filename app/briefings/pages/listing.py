"""The editors' list of briefings: each briefing's newest version, searched by title,
filtered by status and kind and sorted by a column (a GET form and links, so the
address keeps the choices); a choice not offered is a 422 with the error summary.
Also the audits a briefing may be drafted from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.access.policy import Actor
from app.audits import service as audits
from app.briefings import service, workflow
from app.briefings.models import BriefingKind, VersionStatus
from app.deps import FilterId, SessionDep, transactional
from app.forms import FormState
from app.pagination import PageParams
from app.templating import render, sort_heads

router = APIRouter(include_in_schema=False)

Word = Annotated[str, Query(max_length=40)]
Search = Annotated[str, Query(max_length=200)]
KIND_LABELS = {
    BriefingKind.BRIEFING: "Learning briefing",
    BriefingKind.SUBGROUP_REPORT: "Report for a subgroup",
    BriefingKind.INSPECTION_PACK: "Inspection readiness pack",
}
COLUMNS = (
    ("Title", "title"),
    ("Kind", "kind"),
    ("Audit", "audit"),
    ("Version", None, "numeric"),
    ("Status", "status"),
)


def _moderated_audits(session, actor: Actor) -> list:
    found = []
    for status in workflow.MODERATED:
        items, _ = audits.list_audits(
            session, actor=actor, params=PageParams(1, 200), status=status
        )
        found += items
    return found


@router.get("/briefings", name="briefings.list")
@transactional
def briefings(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: FilterId = None,
    q: Search = "",
    status: Word = "",
    kind: Word = "",
    sort: Word = "",
) -> Response:
    """Every briefing's newest version, or (``?audit_id=``) one audit's, with its tabs;
    searched by title, filtered by status and kind, sorted by a column (the newest
    first unless sorted)."""
    moderated = _moderated_audits(session, actor)
    audit = None
    if audit_id is not None:
        audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
        moderated = [a for a in moderated if a.id == audit.id]
    statuses = {s.value: s for s in VersionStatus}
    kinds = {k.value: k for k in BriefingKind}
    errors: dict[str, str] = {}
    if status and status not in statuses:
        errors["status"] = "Choose a status from the list"
    if kind and kind not in kinds:
        errors["kind"] = "Choose a kind of document from the list"
    if sort and sort.removeprefix("-") not in service.VERSION_SORTS:
        errors["sort"] = "Sort by one of the table's columns"
    versions = []
    if not errors:
        versions = service.latest_versions(
            session,
            audit_id=audit_id,
            q=q.strip() or None,
            status=statuses.get(status),
            kind=kinds.get(kind),
            sort=sort or "-created",
        )
    filters = {"q": q, "status": status, "kind": kind}
    return render(
        request,
        "briefings/list.html",
        {
            "audit": audit,
            "versions": versions,
            "moderated": moderated,
            "filtered": any(filters.values()),
            "sort": "" if "sort" in errors else sort,
            "head": sort_heads(
                request,
                "briefings.list",
                columns=COLUMNS,
                sort=sort,
                query={"audit_id": audit_id, **filters},
            ),
            "statuses": [(s.value, s.value.capitalize()) for s in VersionStatus],
            "kinds": [(k.value, label) for k, label in KIND_LABELS.items()],
            "kind_labels": KIND_LABELS,
            "form": FormState(values=filters, errors=errors, anchors={"sort": "#briefings"}),
        },
        status_code=422 if errors else 200,
    )
