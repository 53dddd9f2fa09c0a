"""The audit log, for the partnership's information governance: admins and
scrutineers search it and download it as CSV. Nothing here changes it."""

from io import StringIO
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from app import clock
from app.access.policy import Actor
from app.auditlog import pending, service, visibility
from app.auditlog.schemas import AuditLogPage
from app.deps import IdQuery, SessionDep, transactional
from app.pagination import PageDep
from app.schemas_base import OneLine, WrittenDateTime

router = APIRouter(prefix="/api/v1", tags=["audit log"])

# The list counts the matching rows up to here and says "more" past it (AuditLogPage).
COUNTED_UP_TO = 10_000


async def log_filter(  # async: building the filter needs no thread
    user_id: Annotated[IdQuery, Query(description="Who did it.")] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="e.g. return.read"), OneLine
    ] = None,
    object_type: Annotated[
        str | None, Query(max_length=40, description="e.g. return"), OneLine
    ] = None,
    object_id: Annotated[IdQuery, Query()] = None,
    since: Annotated[
        WrittenDateTime | None,
        Query(alias="from", description="On or after (ISO 8601; UTC if no offset)."),
    ] = None,
    until: Annotated[
        WrittenDateTime | None,
        Query(alias="to", description="On or before (ISO 8601; UTC if no offset)."),
    ] = None,
) -> service.LogFilter:
    return service.LogFilter(
        user_id=user_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
    )


FilterDep = Annotated[service.LogFilter, Depends(log_filter)]


# Reading the log writes: it chains the reads waiting to be chained first (so what is
# shown is the whole log), and logs itself.
@router.get("/audit-log", name="api.audit_log.list")
@transactional(writes=True)
def list_events(
    session: SessionDep, actor: Actor, params: PageDep, filters: FilterDep
) -> AuditLogPage:
    """Who did what to which object, newest first, with the values before and after
    where the caller may read that object now (otherwise each value is withheld).
    Searching is logged. ``total`` counts the matching rows up to 10,000; past that it
    says 10,000 and ``total_exact`` is false."""
    pending.seal(session)
    items, total, exact = service.search(
        session, filters=filters, params=params, count_up_to=COUNTED_UP_TO
    )
    page = AuditLogPage.model_validate(
        {
            "items": items,
            "total": total,
            "total_exact": exact,
            "page": params.page,
            "per_page": params.per_page,
        },
        from_attributes=True,
    )
    seen = visibility.Visibility(session, actor)
    seen.learn(items)  # one query per kind of object on the page
    for out, event in zip(page.items, items, strict=True):
        out.before, out.after = seen.values(event)
    _log_reading(session, "audit_log.search", filters)
    return page


def _log_reading(session, action: str, filters: service.LogFilter) -> None:
    # Reading the log can show what returns said, so it is logged like reading a return.
    asked = {k: v for k, v in vars(filters).items() if v is not None}
    service.record(session, action=action, object_type="audit_log", object_id=None, after=asked)


@router.get(
    "/audit-log.csv",
    name="api.audit_log.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
@transactional(writes=True)
def export_csv(session: SessionDep, actor: Actor, filters: FilterDep) -> Response:
    """The matching rows as CSV, oldest first, before and after as compact JSON (each
    value withheld where the caller may not read the object now)."""
    pending.seal(session)
    out = StringIO()
    # The byte-order mark makes Excel read the file as UTF-8.
    out.write("\ufeff")
    seen = visibility.Visibility(session, actor)
    visibility.write_csv(service.matching(session, filters=filters), out, seen_by=seen)
    _log_reading(session, "audit_log.export", filters)
    filename = f"audit-log-{clock.utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
