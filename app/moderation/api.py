"""The moderation API: the grid, opening moderation, decisions, finishing."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.access.policy import Actor
from app.audits import service as audits
from app.deps import ClockDep, IdPath, IdQuery, SessionDep, transactional
from app.moderation import analytics, export, late, lifecycle, service
from app.moderation.models import ModeratedGrade
from app.moderation.schemas import (
    AnalyticsOut,
    AreaOut,
    CellOut,
    DecisionIn,
    DecisionOut,
    ExclusionOut,
    GridAgency,
    GridChild,
    GridOut,
    ReasonIn,
)
from app.returns import service as returns
from app.schemas_base import WrittenDate

router = APIRouter(prefix="/api/v1", tags=["moderation"])


def grid_out(found: service.Grid) -> GridOut:
    children = [
        GridChild(id=c.id, pseudonym=c.pseudonym, moderated=found.child_done(c.id))
        for c in found.children
    ]
    cells = [
        CellOut(
            child_id=cell.child_id,
            agency_id=cell.agency_id,
            return_id=cell.return_id,
            return_status=cell.return_status,
            key_area_id=cell.cell or None,
            self_grade=cell.self_level.code if cell.self_level else None,
            moderated_grade=cell.moderated_level.code if cell.moderated_level else None,
            state=cell.state,
            rationale=cell.decision.rationale if cell.decision else None,
            decided_by=cell.decision.decided_by_label if cell.decision else None,
            decided_at=cell.decision.decided_at if cell.decision else None,
        )
        for cell in found.cells.values()
    ]
    return GridOut(
        audit_id=found.audit.id,
        status=found.audit.status,
        scale=[lv.code for lv in found.version.grade_levels],
        areas=[AreaOut(key_area_id=cell or None, title=title) for cell, title in found.areas],
        children=children,
        agencies=[GridAgency(id=a.id, name=a.name) for a in found.agencies],
        cells=cells,
        counts=found.counts,
    )


def decision_out(d: ModeratedGrade) -> DecisionOut:
    return DecisionOut(
        id=d.id,
        return_id=d.return_id,
        key_area_id=d.key_area_id,
        self_grade=d.self_level.code if d.self_level else None,
        moderated_grade=d.level.code,
        shift=d.shift,
        rationale=d.rationale,
        decided_by=d.decided_by_label,
        decided_at=d.decided_at,
        superseded_at=d.superseded_at,
    )


@router.get("/audits/{audit_id}/moderation", name="api.moderation.grid")
@transactional
def grid(session: SessionDep, actor: Actor, audit_id: IdPath) -> GridOut:
    """Every child x agency x key-area cell: the agency's own grade and the moderated one.
    Agencies see it (read-only) once the chair has opened moderation."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return grid_out(service.grid(session, actor=actor, audit=audit))


@router.post("/audits/{audit_id}/moderation/open", name="api.moderation.open")
@transactional
def open_moderation(session: SessionDep, actor: Actor, audit_id: IdPath) -> GridOut:
    """Open moderation: the audit is no longer blind to the participating agencies."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    lifecycle.open_moderation(session, audit=audit)
    return grid_out(service.grid(session, actor=actor, audit=audit))


@router.post(
    "/audits/{audit_id}/moderation/decisions", name="api.moderation.decide", status_code=201
)
@transactional
def decide(session: SessionDep, actor: Actor, audit_id: IdPath, body: DecisionIn) -> DecisionOut:
    """Agree or change one cell's grade (a rationale is required to change it). A cell
    decided again keeps its earlier decision, superseded. A rationale that looks like it
    could identify someone is refused (422) unless ``confirm_identifying``."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return_ = service.get_return(session, audit=audit, return_id=body.return_id)
    decision = service.decide(
        session,
        audit=audit,
        return_=return_,
        cell=body.key_area_id or service.OVERALL,
        level_code=body.level,
        rationale=body.rationale,
        actor=actor,
        confirmed=body.confirm_identifying,
    )
    [current] = [
        d
        for d in service.history(session, return_id=return_.id, cell=decision.cell)
        if d.id == decision.id
    ]
    return decision_out(current)


@router.get("/returns/{return_id}/moderation", name="api.moderation.return_decisions")
@transactional
def return_decisions(session: SessionDep, actor: Actor, return_id: IdPath) -> list[DecisionOut]:
    """Every decision on the return's cells, newest first, superseded ones included."""
    return_ = returns.get_return(session, return_id=return_id, actor=actor)
    audit = audits.get_audit(session, audit_id=return_.audit_id, actor=actor)
    service.check_visible(actor, audit)
    return [decision_out(d) for d in service.decisions_of(session, return_id=return_.id)]


@router.post("/audits/{audit_id}/moderation/finish", name="api.moderation.finish")
@transactional
def finish(session: SessionDep, actor: Actor, audit_id: IdPath) -> GridOut:
    """Finish moderation when every child is moderated: the audit moves to learning."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    lifecycle.finish(session, actor=actor, audit=audit)
    return grid_out(service.grid(session, actor=actor, audit=audit))


def _exclusion_out(return_) -> ExclusionOut:
    return ExclusionOut(
        return_id=return_.id,
        status=return_.status,
        excluded=return_.excluded_at is not None,
        excluded_at=return_.excluded_at,
        reason=return_.excluded_reason,
    )


@router.post("/returns/{return_id}/exclude", name="api.moderation.exclude")
@transactional
def exclude(session: SessionDep, actor: Actor, return_id: IdPath, body: ReasonIn) -> ExclusionOut:
    """Leave a return that is not in out of moderation, with the reason: moderation can
    then finish without it, and reports show it as not received."""
    return_ = returns.get_return(session, return_id=return_id, actor=actor)
    audit = audits.get_audit(session, audit_id=return_.audit_id, actor=actor)
    return _exclusion_out(
        late.exclude(session, audit=audit, return_id=return_.id, reason=body.reason, actor=actor)
    )


@router.post("/returns/{return_id}/include", name="api.moderation.include")
@transactional
def include(session: SessionDep, actor: Actor, return_id: IdPath, body: ReasonIn) -> ExclusionOut:
    """Take a return left out back into moderation, with the reason."""
    return_ = returns.get_return(session, return_id=return_id, actor=actor)
    audit = audits.get_audit(session, audit_id=return_.audit_id, actor=actor)
    return _exclusion_out(
        late.include(session, audit=audit, return_id=return_.id, reason=body.reason)
    )


def analytics_filters(
    audit_id: IdQuery = None,
    agency_id: IdQuery = None,
    template_id: IdQuery = None,
    key_area: Annotated[str | None, Query(max_length=200)] = None,
    moderated_from: WrittenDate | None = None,
    moderated_to: WrittenDate | None = None,
    weights: Annotated[
        Literal["quadratic", "linear"],
        Query(description="The weighted kappa's (and AC2's) weights; quadratic unless asked."),
    ] = "quadratic",
) -> analytics.Filters:
    return analytics.Filters(
        audit_id, agency_id, template_id, key_area, moderated_from, moderated_to, weights
    )


AnalyticsFilters = Annotated[analytics.Filters, Depends(analytics_filters)]


def analytics_of(session, request: Request, actor: Actor, filters: analytics.Filters) -> dict:
    """The report, with the small-count threshold from the settings."""
    threshold = request.app.state.settings.small_count_threshold
    return analytics.report(session, actor=actor, filters=filters, threshold=threshold)


@router.get("/moderation/analytics", name="api.moderation.analytics", response_model=AnalyticsOut)
@transactional
def analytics_report(
    session: SessionDep, request: Request, actor: Actor, filters: AnalyticsFilters
) -> dict:
    """Self-grades against moderated grades, for one audit or pooled across audits:
    ``headlines`` (plain sentences) first, then distributions, share changed, direction
    and mean shift, exact agreement, weighted kappa (``weights``: quadratic, the
    default, or linear) and Gwet's AC1 (and AC2), each with its n, 95% interval and,
    for the coefficients, its Landis and Koch ``reading``; overall, by agency and by
    key area (in the template's order, the overall grade last). ``key_area`` is a
    title, or "overall" for the overall grade alone. Scales are never pooled: one group
    per scale. A row of fewer than the small-count threshold's grades that is not all
    the viewer's own agency's is ``suppressed`` for viewers outside the partnership-wide
    roles."""
    return analytics_of(session, request, actor, filters)


@router.get(
    "/moderation/analytics.{kind}",
    name="api.moderation.analytics_download",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                "text/csv": {},
            }
        }
    },
)
@transactional
def analytics_download(
    session: SessionDep,
    request: Request,
    actor: Actor,
    kind: export.FileKind,
    filters: AnalyticsFilters,
    clock: ClockDep,
) -> Response:
    """The analytics' tables as an Excel workbook (``.xlsx``, with a sheet of the
    headline sentences) or as CSV (``.csv``, UTF-8 with a BOM, for Excel): the same
    filters, the same rows."""
    found = analytics_of(session, request, actor, filters)
    return export.download(found, kind, today=clock.today, audit_id=filters.audit_id)
