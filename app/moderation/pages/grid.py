"""The moderation grid: the child x agency x key-area grid (by child or by agency),
each cell's evidence and decision, sending a return back, and finishing moderation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from app.access.policy import Actor, Permission
from app.audits import service as audits
from app.audits.models import AuditStatus
from app.deps import IdPath, IdQuery, PostedForm, SessionDep, transactional
from app.errors import InvalidInput, NotFound, StateError
from app.forms import Form, FormInvalid, FormState, undone_if_refused, whole_number
from app.moderation import late, lifecycle, service
from app.moderation.schemas import DecisionIn
from app.respond import family as family_voice
from app.returns import reading
from app.returns import service as returns
from app.returns.key_area_fields import saved_values as area_values
from app.returns.key_area_fields import shown_answers as area_answers
from app.returns.schemas import Reopen
from app.schemas_base import MAX_ID
from app.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)

CellPath = Annotated[int, Path(ge=0, le=MAX_ID)]  # a key area's id, or 0: the overall grade

DECISION = Form(
    DecisionIn,
    fields=("level", "rationale", "confirm_identifying"),
    messages={
        "level": "Choose the moderated grade",
        ("rationale", "string_too_long"): "The rationale must be 20,000 characters or fewer",
        ("rationale", "invalid"): "The rationale must not contain control characters",
    },
)
SEND_BACK = Form(
    Reopen,
    fields=("note", "version"),
    messages={
        "note": "Say what the agency needs to amend",
        ("note", "string_too_long"): "The note must be 5,000 characters or fewer",
        ("note", "invalid"): "The note must not contain control characters",
    },
)


def _to_workspace(request: Request, audit_id: int, done: str, *, child: int | None = None):
    """Back to the grid with the confirmation banner (which takes the focus); after a
    decision on one child's cell, the grid shows that child, not every child."""
    flash(done)
    query = {"child": child} if child is not None else None
    return redirect(request, "moderation.workspace", audit_id=audit_id, query=query)


def _workspace(
    request,
    session,
    actor: Actor,
    audit,
    *,
    child: int | None = None,
    agency: int | None = None,
    form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    found = service.grid(session, actor=actor, audit=audit)
    if child is not None and not any(c.id == child for c in found.children):
        raise NotFound(f"There is no such {audit.words.one} in this audit.")
    if agency is not None and not any(a.id == agency for a in found.agencies):
        raise NotFound("That agency is not taking part in this audit.")
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
            "not_in": late.not_in(session, audit=audit)
            if audit.status == AuditStatus.MODERATION
            else [],
            "form": form,
            # How many families gave each answer in the audit's family survey.
            "family": family_voice.voice_for(
                session,
                audit=audit,
                actor=actor,
                threshold=request.app.state.settings.small_count_threshold,
            ),
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
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return _workspace(request, session, actor, audit, child=child, agency=agency)


@router.post("/audits/{audit_id}/moderation/finish", name="moderation.finish")
@transactional
def finish(session: SessionDep, request: Request, actor: Actor, audit_id: IdPath):
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    try:
        with undone_if_refused(session):
            lifecycle.finish(session, actor=actor, audit=audit)
    except InvalidInput as exc:
        audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
        errors: dict[str, str] = {}
        for problem in exc.fields:  # a line per child, saying what each is waiting for
            errors[problem.field] = (
                f"{errors[problem.field]}; {problem.message.split(': ', 1)[-1]}"
                if problem.field in errors
                else problem.message
            )
        form = FormState(errors=errors or {"finish": exc.message})
        return _workspace(request, session, actor, audit, form=form, status_code=422)
    return _to_workspace(
        request, audit_id, "Moderation is finished. The audit has moved to learning."
    )


# --- one cell ------------------------------------------------------------------------


def _cell_page(
    request,
    session,
    actor: Actor,
    audit,
    return_id: int,
    cell: int,
    *,
    form: FormState | None = None,
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
    detail = reading.read(session, return_id=return_id, actor=actor)
    version = found.version
    key_area = next((k for k in version.key_areas if k.id == cell), None)
    grade_codes = {g["key_area_id"]: g["level"] for g in detail["grades"]}
    may_decide = (
        actor.may(Permission.MODERATE)
        and audit.status == AuditStatus.MODERATION
        and the_return.status in service.MODERATABLE
    )
    if form is None:
        # Nothing is chosen for the moderator: not the agency's own grade (agreeing is
        # an explicit choice), only a decision of their own still standing.
        values = {"level": "", "rationale": ""}
        if the_cell.decision is not None and the_cell.state != service.CellState.REGRADED:
            chosen = the_cell.moderated_level
            values = {
                "level": chosen.code if chosen else "",
                "rationale": the_cell.decision.rationale,
            }
        form = FormState(values=values)
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
            "area_form": FormState(values=area_values(detail, key_area)) if key_area else None,
            "shown_answers": area_answers(detail, key_area) if key_area else {},
            "grade_codes": grade_codes,
            "overall_code": detail.get("overall_grade"),
            "child": next(c for c in found.children if c.id == the_return.child_id),
            "agency": next(a for a in found.agencies if a.id == the_return.agency_id),
            "history": service.history(session, return_id=return_id, cell=cell),
            "may_decide": may_decide,
            "may_send_back": may_decide and actor.may(Permission.RETURN_REOPEN),
            "return_version": detail["version"],
            "form": form,
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
    posted: PostedForm,
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return_ = service.get_return(session, audit=audit, return_id=return_id)
    try:
        body = DECISION.read(posted, return_id=return_id, key_area_id=cell or None)
        with DECISION.submitting(session, posted):
            service.decide(
                session,
                audit=audit,
                return_=return_,
                cell=cell,
                level_code=body.level,
                rationale=body.rationale,
                actor=actor,
                confirmed=body.confirm_identifying,
            )
    except FormInvalid as invalid:
        audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
        return _cell_page(
            request,
            session,
            actor,
            audit,
            return_id,
            cell,
            form=invalid.state(),
            status_code=invalid.status_code,
        )
    return _to_workspace(request, audit_id, "The decision has been saved.", child=return_.child_id)


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
    posted: PostedForm,
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return_ = returns.get_return(session, return_id=return_id, actor=actor)
    if return_.audit_id != audit.id:
        raise NotFound(f"There is no return {return_id} in this audit.")
    cell = whole_number(posted.one("cell"))
    cell = service.OVERALL if cell is None else cell
    try:
        body = SEND_BACK.read(posted)
    except FormInvalid as invalid:
        if "version" in invalid.errors:
            raise StateError("This page is out of date: reload it and try again.") from None
        return _cell_page(
            request,
            session,
            actor,
            audit,
            return_id,
            cell,
            form=invalid.state(),
            status_code=422,
        )
    returns.reopen(session, return_=return_, read_version=body.version, note=body.note)
    return _to_workspace(
        request, audit_id, "The return has been sent back to the agency for amendment."
    )
