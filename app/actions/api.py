"""Learning actions over JSON, with the tracker's exports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from app.access.policy import Actor
from app.actions import export, service, tracker
from app.actions.models import ActionStatus
from app.actions.schemas import (
    ActionCounts,
    ActionCreate,
    ActionOut,
    ActionPatch,
    ActionRowOut,
    NoteIn,
    StatusChangeIn,
)
from app.actions.tracker import TrackerFilter
from app.audits import service as audits
from app.deps import ClockDep, IdPath, IdQuery, SessionDep, transactional
from app.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1", tags=["findings and learning actions"])


async def tracker_filter(  # async: parsing only
    audit_id: IdQuery = None,
    agency_id: Annotated[IdQuery, Query(description="The owning agency.")] = None,
    subgroup_id: Annotated[IdQuery, Query(description="The audit's lead subgroup.")] = None,
    status_: Annotated[ActionStatus | None, Query(alias="status")] = None,
    overdue: Annotated[bool, Query(description="Only actions past their due date.")] = False,
    theme_id: Annotated[IdQuery, Query(description="A theme of a linked finding.")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Words in the action's title or description.")
    ] = None,
) -> TrackerFilter:
    q = (q or "").strip() or None
    return TrackerFilter(audit_id, agency_id, subgroup_id, status_, overdue, theme_id, q)


FilterDep = Annotated[TrackerFilter, Depends(tracker_filter)]


# --- the tracker ----------------------------------------------------------------------


@router.get("/actions", name="api.actions.list")
@transactional
def list_actions(
    session: SessionDep, actor: Actor, params: PageDep, filters: FilterDep, clock: ClockDep
) -> Page[ActionRowOut]:
    """Learning actions in the audits you may see, soonest due first, with where each
    stands today (RAG, days overdue, escalation)."""
    rows, total = tracker.rows(session, actor=actor, filters=filters, clock=clock, params=params)
    return Page[ActionRowOut].build(rows, total, params)


@router.get("/actions/counts", name="api.actions.counts")
@transactional
def count_actions(
    session: SessionDep, actor: Actor, filters: FilterDep, clock: ClockDep
) -> ActionCounts:
    """How many of the filtered actions are in each status and owned by each agency."""
    counted = tracker.counts(session, actor=actor, filters=filters, today=clock.today)
    return ActionCounts.model_validate(counted)


def _download(content: bytes, media_type: str, name: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/actions/export.xlsx",
    name="api.actions.export_xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
@transactional
def export_xlsx(session: SessionDep, actor: Actor, filters: FilterDep, clock: ClockDep) -> Response:
    """Exactly the filtered actions as an Excel workbook (no child is named)."""
    rows, _total = tracker.rows(session, actor=actor, filters=filters, clock=clock)
    return _download(export.to_xlsx(rows), XLSX, export.filename(clock.today, "xlsx"))


@router.get(
    "/actions/export.csv",
    name="api.actions.export_csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
@transactional
def export_csv(session: SessionDep, actor: Actor, filters: FilterDep, clock: ClockDep) -> Response:
    """Exactly the filtered actions as CSV (UTF-8 with a BOM, for Excel)."""
    rows, _total = tracker.rows(session, actor=actor, filters=filters, clock=clock)
    return _download(
        export.to_csv(rows), "text/csv; charset=utf-8", export.filename(clock.today, "csv")
    )


# --- one action -----------------------------------------------------------------------


def _action_out(action, clock) -> ActionOut:
    return ActionOut.model_validate(service.view(action, clock), from_attributes=True)


@router.post("/actions", name="api.actions.create", status_code=status.HTTP_201_CREATED)
@transactional
def create_action(
    session: SessionDep, actor: Actor, body: ActionCreate, clock: ClockDep
) -> ActionOut:
    """Propose a learning action for an audit, owned by one of its agencies."""
    values = body.model_dump()
    audit = audits.get_audit(
        session, audit_id=values.pop("audit_id"), actor=actor, options=audits.WITH_AGENCIES
    )
    action = service.create_action(session, actor=actor, audit=audit, **values)
    return _action_out(action, clock)


# ":int": /actions/counts and /actions/export.csv are other routes' paths, so a PATCH of
# them is a 405, not an action id that is not a number.
@router.get("/actions/{action_id:int}", name="api.actions.get")
@transactional
def get_action(session: SessionDep, actor: Actor, action_id: IdPath, clock: ClockDep) -> ActionOut:
    return _action_out(service.get_action(session, action_id=action_id, actor=actor), clock)


@router.patch("/actions/{action_id:int}", name="api.actions.update")
@transactional
def update_action(
    session: SessionDep, actor: Actor, action_id: IdPath, body: ActionPatch, clock: ClockDep
) -> ActionOut:
    action = service.get_action(session, action_id=action_id, actor=actor)
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version", None)
    confirmed = changes.pop("confirm_identifying", False)
    action = service.update_action(
        session,
        actor=actor,
        action=action,
        changes=changes,
        version=version,
        confirm_identifying=confirmed,
    )
    return _action_out(action, clock)


@router.post("/actions/{action_id}/status", name="api.actions.change_status")
@transactional
def change_status(
    session: SessionDep, actor: Actor, action_id: IdPath, body: StatusChangeIn, clock: ClockDep
) -> ActionOut:
    """Move the action on. Allowed: proposed -> agreed or not_accepted (``reason``
    required); agreed -> in_progress; in_progress -> completed (``evidence`` of
    completion required); completed -> impact_evidenced (``evidence`` of impact
    required); impact_evidenced -> closed. Agreeing, not accepting and closing are for
    moderators and admins; agency leads make the other steps on their own agency's
    actions. Anything else is 409, naming ``current_status`` and the ``allowed`` next
    ones. Every change is kept in the action's ``history`` with who, when and the note."""
    action = service.get_action(session, action_id=action_id, actor=actor)
    values = body.model_dump()
    action = service.change_status(
        session, actor=actor, action=action, to=values.pop("status"), **values
    )
    return _action_out(action, clock)


@router.post("/actions/{action_id}/notes", name="api.actions.add_note")
@transactional
def add_note(
    session: SessionDep, actor: Actor, action_id: IdPath, body: NoteIn, clock: ClockDep
) -> ActionOut:
    """A progress note in the action's history, keeping its status."""
    action = service.get_action(session, action_id=action_id, actor=actor)
    action = service.add_note(
        session,
        actor=actor,
        action=action,
        note=body.note,
        confirm_identifying=body.confirm_identifying,
    )
    return _action_out(action, clock)
