"""Findings, themes and learning actions over JSON, with the tracker's exports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy.orm import Session

from app.access.policy import Actor
from app.actions import export, findings, service, tracker
from app.actions.deps import ClockDep
from app.actions.models import ActionStatus, Finding
from app.actions.schemas import (
    ActionCounts,
    ActionCreate,
    ActionOut,
    ActionPatch,
    ActionRowOut,
    FindingCreate,
    FindingOut,
    FindingPatch,
    NoteIn,
    StatusChangeIn,
    ThemeCreate,
    ThemeOut,
    ThemePatch,
)
from app.actions.tracker import TrackerFilter
from app.audits import service as audits
from app.deps import IdPath, IdQuery, SessionDep, transactional
from app.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1", tags=["findings and learning actions"])


async def tracker_filter(  # async: parsing only
    audit_id: IdQuery = None,
    agency_id: Annotated[IdQuery, Query(description="The owning agency.")] = None,
    subgroup_id: Annotated[IdQuery, Query(description="The audit's lead subgroup.")] = None,
    status_: Annotated[ActionStatus | None, Query(alias="status")] = None,
    overdue: Annotated[bool, Query(description="Only actions past their due date.")] = False,
    theme_id: Annotated[IdQuery, Query(description="A theme of a linked finding.")] = None,
) -> TrackerFilter:
    return TrackerFilter(audit_id, agency_id, subgroup_id, status_, overdue, theme_id)


FilterDep = Annotated[TrackerFilter, Depends(tracker_filter)]


# --- themes ---------------------------------------------------------------------------


@router.get("/themes", name="themes.list")
@transactional
def list_themes(session: SessionDep, params: PageDep, active: bool | None = None) -> Page[ThemeOut]:
    items = findings.list_themes(session, active=active)
    page = items[params.offset : params.offset + params.per_page]
    return Page[ThemeOut].build(page, len(items), params)


@router.post("/themes", name="themes.create", status_code=status.HTTP_201_CREATED)
@transactional
def create_theme(session: SessionDep, body: ThemeCreate) -> ThemeOut:
    return ThemeOut.model_validate(findings.create_theme(session, name=body.name))


@router.patch("/themes/{theme_id}", name="themes.update")
@transactional
def update_theme(session: SessionDep, theme_id: IdPath, body: ThemePatch) -> ThemeOut:
    theme = findings.get_theme(session, theme_id=theme_id)
    changes = body.model_dump(exclude_unset=True)
    return ThemeOut.model_validate(findings.update_theme(session, theme=theme, changes=changes))


# --- findings -------------------------------------------------------------------------


def _finding_out(session: Session, finding: Finding) -> FindingOut:
    linked = findings.action_ids(session, finding_ids=[finding.id])
    return FindingOut.model_validate({**_finding_dict(finding), "action_ids": linked[finding.id]})


def _finding_dict(finding: Finding) -> dict:
    return {
        "id": finding.id,
        "audit_id": finding.audit_id,
        "kind": finding.kind,
        "statement": finding.statement,
        "themes": finding.themes,
        "key_area": finding.key_area,
        "agency": finding.agency,
        "child": finding.child,
        "created_by_label": finding.created_by_label,
        "created_at": finding.created_at,
        "updated_at": finding.updated_at,
    }


@router.get("/audits/{audit_id}/findings", name="findings.list")
@transactional
def list_findings(
    session: SessionDep, actor: Actor, audit_id: IdPath, params: PageDep
) -> Page[FindingOut]:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor, options=())
    items = findings.list_findings(session, actor=actor, audit=audit)
    page = items[params.offset : params.offset + params.per_page]
    linked = findings.action_ids(session, finding_ids=[f.id for f in page])
    out = [
        FindingOut.model_validate({**_finding_dict(f), "action_ids": linked.get(f.id, [])})
        for f in page
    ]
    return Page[FindingOut].build(out, len(items), params)


@router.post(
    "/audits/{audit_id}/findings", name="findings.create", status_code=status.HTTP_201_CREATED
)
@transactional
def create_finding(
    session: SessionDep, actor: Actor, audit_id: IdPath, body: FindingCreate
) -> FindingOut:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor, options=audits.WITH_AGENCIES)
    finding = findings.create_finding(session, actor=actor, audit=audit, **body.model_dump())
    return _finding_out(session, finding)


@router.get("/findings/{finding_id}", name="findings.get")
@transactional
def get_finding(session: SessionDep, actor: Actor, finding_id: IdPath) -> FindingOut:
    return _finding_out(session, findings.get_finding(session, finding_id=finding_id, actor=actor))


@router.patch("/findings/{finding_id}", name="findings.update")
@transactional
def update_finding(
    session: SessionDep, actor: Actor, finding_id: IdPath, body: FindingPatch
) -> FindingOut:
    finding = findings.get_finding(session, finding_id=finding_id, actor=actor)
    audit = audits.get_audit(
        session, audit_id=finding.audit_id, actor=actor, options=audits.WITH_AGENCIES
    )
    finding = findings.update_finding(
        session,
        actor=actor,
        audit=audit,
        finding=finding,
        changes=body.model_dump(exclude_unset=True),
    )
    return _finding_out(session, finding)


# --- the tracker ----------------------------------------------------------------------


@router.get("/actions", name="actions.list")
@transactional
def list_actions(
    session: SessionDep, actor: Actor, params: PageDep, filters: FilterDep, clock: ClockDep
) -> Page[ActionRowOut]:
    """Learning actions in the audits you may see, soonest due first, with where each
    stands today (RAG, days overdue, escalation)."""
    rows, total = tracker.rows(session, actor=actor, filters=filters, clock=clock, params=params)
    return Page[ActionRowOut].build(rows, total, params)


@router.get("/actions/counts", name="actions.counts")
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


@router.get("/actions/export.xlsx", name="actions.export_xlsx")
@transactional
def export_xlsx(session: SessionDep, actor: Actor, filters: FilterDep, clock: ClockDep) -> Response:
    """Exactly the filtered actions as an Excel workbook (no child is named)."""
    rows, _total = tracker.rows(session, actor=actor, filters=filters, clock=clock)
    return _download(
        export.to_xlsx(rows),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        export.filename(clock.today, "xlsx"),
    )


@router.get("/actions/export.csv", name="actions.export_csv")
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


@router.post("/actions", name="actions.create", status_code=status.HTTP_201_CREATED)
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


@router.get("/actions/{action_id}", name="actions.get")
@transactional
def get_action(session: SessionDep, actor: Actor, action_id: IdPath, clock: ClockDep) -> ActionOut:
    return _action_out(service.get_action(session, action_id=action_id, actor=actor), clock)


@router.patch("/actions/{action_id}", name="actions.update")
@transactional
def update_action(
    session: SessionDep, actor: Actor, action_id: IdPath, body: ActionPatch, clock: ClockDep
) -> ActionOut:
    action = service.get_action(session, action_id=action_id, actor=actor)
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version", None)
    action = service.update_action(
        session, actor=actor, action=action, changes=changes, version=version
    )
    return _action_out(action, clock)


@router.post("/actions/{action_id}/status", name="actions.change_status")
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


@router.post("/actions/{action_id}/notes", name="actions.add_note")
@transactional
def add_note(
    session: SessionDep, actor: Actor, action_id: IdPath, body: NoteIn, clock: ClockDep
) -> ActionOut:
    """A progress note in the action's history, keeping its status."""
    action = service.get_action(session, action_id=action_id, actor=actor)
    return _action_out(service.add_note(session, actor=actor, action=action, note=body.note), clock)
