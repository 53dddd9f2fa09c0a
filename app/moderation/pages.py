"""The moderation workspace: the child x agency x key-area grid (by child, as the
meeting runs, or by agency), each cell's evidence and decision, sending a return back,
and opening and finishing moderation."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.access.policy import Actor, Permission
from app.audits import service as audits
from app.audits.models import AuditStatus
from app.deps import FilterId, FormData, IdPath, IdQuery, SessionDep, transactional
from app.errors import InvalidInput, NotFound, StateError
from app.forms import attempt, errors_from, form_context
from app.moderation import analytics, service
from app.returns import service as returns
from app.schemas_base import MAX_ID
from app.templating import render

router = APIRouter(include_in_schema=False)

CellPath = Annotated[int, Path(ge=0, le=MAX_ID)]  # a key area's id, or 0: the overall grade

DONE = {
    "opened": "Moderation is open. Every participating agency can now see the whole picture.",
    "decided": "The decision has been saved.",
    "sent_back": "The return has been sent back to the agency for amendment.",
    "finished": "Moderation is finished. The audit has moved to learning.",
}


def _workspace(
    request,
    session,
    actor: Actor,
    audit,
    *,
    child: int | None = None,
    agency: int | None = None,
    done: str = "",
    errors: dict | None = None,
    status_code: int = 200,
) -> Response:
    found = service.grid(session, actor=actor, audit=audit)
    if child is not None and not any(c.id == child for c in found.children):
        raise NotFound("There is no such child in this audit.")
    if agency is not None and not any(a.id == agency for a in found.agencies):
        raise NotFound("That agency is not taking part in this audit.")
    anchors = {f"child-{c.id}": f"child-{c.id}" for c in found.children}
    return render(
        request,
        "moderation/workspace.html",
        {
            "audit": audit,
            "grid": found,
            "child_id": child,
            "agency_id": agency,
            "levels": {lv.id: lv for lv in found.version.scale.levels}
            if found.version.scale
            else {},
            "may_moderate": actor.may(Permission.MODERATE),
            "done": DONE.get(done, ""),
            **form_context({}, errors or {}, anchors),
        },
        status_code=status_code,
    )


@router.get("/audits/{audit_id}/moderation", name="moderation.workspace")
@transactional
def workspace(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    child: IdQuery = None,
    agency: IdQuery = None,
    done: str = "",
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return _workspace(request, session, actor, audit, child=child, agency=agency, done=done)


@router.post("/audits/{audit_id}/moderation/open", name="moderation.open")
@transactional
def open_moderation(session: SessionDep, request: Request, actor: Actor, audit_id: IdPath):
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    try:
        with attempt(session):
            service.open_moderation(session, audit=audit)
    except InvalidInput as exc:
        audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
        errors = {"open": exc.fields[0].message if exc.fields else exc.message}
        return _workspace(request, session, actor, audit, errors=errors, status_code=422)
    return RedirectResponse(f"/audits/{audit_id}/moderation?done=opened", status_code=303)


@router.post("/audits/{audit_id}/moderation/finish", name="moderation.finish")
@transactional
def finish(session: SessionDep, request: Request, actor: Actor, audit_id: IdPath):
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    try:
        with attempt(session):
            service.finish(session, actor=actor, audit=audit)
    except InvalidInput as exc:
        audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
        errors = errors_from(exc.fields, {})
        return _workspace(request, session, actor, audit, errors=errors, status_code=422)
    return RedirectResponse(f"/audits/{audit_id}/moderation?done=finished", status_code=303)


# --- one cell ------------------------------------------------------------------------


def _cell_page(
    request,
    session,
    actor: Actor,
    audit,
    return_id: int,
    cell: int,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    status_code: int = 200,
) -> Response:
    found = service.grid(session, actor=actor, audit=audit)
    the_return = found.returns.get(return_id)
    if the_return is None:
        raise NotFound(f"There is no return {return_id} in this audit.")
    the_cell = found.cell(the_return.child_id, the_return.agency_id, cell)
    if the_cell is None:
        raise NotFound("There is no such grade to moderate in this return.")
    # The evidence: the return as the actor may read it (the read is logged).
    detail = returns.read(session, return_id=return_id, actor=actor)
    version = found.version
    key_area = next((k for k in version.key_areas if k.id == cell), None)
    answers = {f"q-{a['question_id']}": a["value"] for a in detail["answers"]}
    evidence = {}
    for e in detail["evidence"]:
        if key_area is not None and e["key_area_id"] == key_area.id:
            evidence = {
                f"ev-{box}": e.get(box, "")
                for box in ("went_well", "could_be_better", "impact_on_child")
            }
    grade_codes = {g["key_area_id"]: g["level"] for g in detail["grades"]}
    may_decide = (
        actor.may(Permission.MODERATE)
        and audit.status == AuditStatus.MODERATION
        and the_return.status in service.MODERATABLE
    )
    if values is None:
        chosen = the_cell.moderated_level or the_cell.self_level
        values = {"level": chosen.code if chosen else "", "rationale": ""}
        if the_cell.decision is not None and the_cell.state != service.CellState.REGRADED:
            values["rationale"] = the_cell.decision.rationale
    return render(
        request,
        "moderation/cell.html",
        {
            "audit": audit,
            "grid": found,
            "r": the_return,
            "cell": the_cell,
            "key_area": key_area,
            "version": version,
            "area_values": {**answers, **evidence, "grade": grade_codes.get(cell, "")},
            "grade_codes": grade_codes,
            "overall_code": detail.get("overall_grade"),
            "child": next(c for c in found.children if c.id == the_return.child_id),
            "agency": next(a for a in found.agencies if a.id == the_return.agency_id),
            "history": service.history(session, return_id=return_id, cell=cell),
            "may_decide": may_decide,
            "may_send_back": may_decide and actor.may(Permission.RETURN_REOPEN),
            "return_version": detail["version"],
            **form_context(values, errors or {}),
        },
        status_code=status_code,
    )


@router.get(
    "/audits/{audit_id}/moderation/returns/{return_id}/cells/{cell}",
    name="moderation.cell",
)
@transactional
def cell_page(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    return_id: IdPath,
    cell: CellPath,
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return _cell_page(request, session, actor, audit, return_id, cell)


@router.post(
    "/audits/{audit_id}/moderation/returns/{return_id}/cells/{cell}",
    name="moderation.decide",
)
@transactional
def decide(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    return_id: IdPath,
    cell: CellPath,
    form: FormData,
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return_ = service.get_return(session, audit=audit, return_id=return_id)
    try:
        with attempt(session):
            service.decide(
                session,
                audit=audit,
                return_=return_,
                cell=cell,
                level_code=form.get("level", ""),
                rationale=form.get("rationale", ""),
                actor=actor,
            )
    except InvalidInput as exc:
        audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
        errors = errors_from(exc.fields, {})
        return _cell_page(
            request,
            session,
            actor,
            audit,
            return_id,
            cell,
            values=form,
            errors=errors,
            status_code=422,
        )
    child = return_.child_id
    return RedirectResponse(
        f"/audits/{audit_id}/moderation?done=decided#child-{child}", status_code=303
    )


@router.post(
    "/audits/{audit_id}/moderation/returns/{return_id}/send-back",
    name="moderation.send_back",
)
@transactional
def send_back(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    return_id: IdPath,
    form: FormData,
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return_ = returns.get_return(session, return_id=return_id, actor=actor)
    if return_.audit_id != audit.id:
        raise NotFound(f"There is no return {return_id} in this audit.")
    cell = int(form["cell"]) if form.get("cell", "").isdigit() else service.OVERALL
    note = form.get("note", "").strip()
    problem = (
        "Say what the agency needs to amend"
        if not note
        else "The note must be 5,000 characters or fewer"
        if len(note) > 5000
        else None
    )
    if problem:
        return _cell_page(
            request,
            session,
            actor,
            audit,
            return_id,
            cell,
            values={"note": note},
            errors={"note": problem},
            status_code=422,
        )
    try:
        version = int(form.get("version", ""))
    except ValueError:
        raise StateError("This page is out of date: reload it and try again.") from None
    returns.reopen(session, return_=return_, read_version=version, note=note)
    return RedirectResponse(f"/audits/{audit_id}/moderation?done=sent_back", status_code=303)


# --- what moderation shows -------------------------------------------------------------


def _date_or_none(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _analytics_page(request, session, actor, *, filters, audit=None, errors=None):
    return render(
        request,
        "moderation/analytics.html",
        {
            "audit": audit,
            "filters": filters,
            "report": analytics.report(session, actor=actor, filters=filters),
            "choices": None if audit else analytics.choices(session, actor=actor),
            **form_context({}, errors or {}),
        },
    )


@router.get("/audits/{audit_id}/moderation/analytics", name="moderation.audit_analytics")
@transactional
def audit_analytics(session: SessionDep, request: Request, actor: Actor, audit_id: IdPath):
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    filters = analytics.Filters(audit_id=audit.id)
    return _analytics_page(request, session, actor, filters=filters, audit=audit)


@router.get("/analytics", name="moderation.analytics")
@transactional
def pooled_analytics(
    session: SessionDep,
    request: Request,
    actor: Actor,
    agency_id: FilterId = None,
    template_id: FilterId = None,
    key_area: Annotated[str, Query(max_length=200)] = "",
    moderated_from: Annotated[str, Query(max_length=10)] = "",
    moderated_to: Annotated[str, Query(max_length=10)] = "",
):
    """Moderation across audits, with filters (a GET form, so a view can be bookmarked)."""
    errors = {}
    start, end = _date_or_none(moderated_from), _date_or_none(moderated_to)
    if moderated_from and start is None:
        errors["moderated_from"] = "Enter the start date as a real date, for example 2026-04-01"
    if moderated_to and end is None:
        errors["moderated_to"] = "Enter the end date as a real date, for example 2026-09-30"
    if start and end and end < start:
        errors["moderated_to"] = "The end date must be on or after the start date"
    filters = analytics.Filters(None, agency_id, template_id, key_area or None, start, end)
    return _analytics_page(request, session, actor, filters=filters, errors=errors)
