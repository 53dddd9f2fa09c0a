from typing import Annotated, Any

from fastapi import APIRouter, Query

from app import clock
from app.access.policy import Actor
from app.deps import IdPath, IdQuery, SessionDep, transactional
from app.pagination import Page, PageDep
from app.returns import assignment, reading, service, signoff, versions, work
from app.returns.models import ReturnStatus
from app.returns.schemas import (
    AssignmentIn,
    AssignmentOut,
    DraftSave,
    MyWorkOut,
    Reopen,
    ReturnOut,
    ReturnSummary,
    ReturnVersionOut,
    Submit,
    WorkCounts,
)

router = APIRouter(prefix="/api/v1", tags=["returns"])

# OpenAPI descriptions of the refusals, in the shape FastAPI's `responses` takes.
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "Stale version: someone else saved first. The body has "
        "`current_version` and the `current` return."
    }
}
INCOMPLETE: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "Invalid values, or (on submit) the list of missing items, or what "
        "looks identifying and was not confirmed (`confirm_identifying`)."
    }
}


def _out(session, return_id: int, actor: Actor) -> ReturnOut:
    return ReturnOut.model_validate(reading.detail(session, return_id=return_id, actor=actor))


@router.get("/audits/{audit_id}/returns", name="api.returns.list")
@transactional
def list_returns(
    session: SessionDep,
    actor: Actor,
    audit_id: IdPath,
    params: PageDep,
    agency_id: IdQuery = None,
    child_id: IdQuery = None,
    status: Annotated[ReturnStatus | None, Query()] = None,
) -> Page[ReturnSummary]:
    items, total = reading.list_returns(
        session,
        actor=actor,
        audit_id=audit_id,
        params=params,
        agency_id=agency_id,
        child_id=child_id,
        status=status,
    )
    return Page[ReturnSummary].build(items, total, params)


@router.get("/me/work", name="api.returns.my_work")
@transactional
def my_work(
    session: SessionDep,
    actor: Actor,
    page: Annotated[
        int, Query(ge=1, le=1_000_000, description="Page number, from 1: 20 audit groups a page.")
    ] = 1,
) -> MyWorkOut:
    """What My work shows: my own agency's returns in open audits and in moderation,
    grouped by audit, to do (overdue first) and done, with each return's progress; 20
    audit groups a page (to do, then done), the counts of every page."""
    mine = work.my_work(session, actor=actor, today=clock.today(), page=page)
    counts = WorkCounts(to_do=mine.to_do_count, overdue=mine.overdue_count, done=mine.done_count)
    return MyWorkOut.model_validate({**vars(mine), "counts": counts})


@router.post("/returns/{return_id}/sign-off", name="api.returns.sign_off")
@transactional
def sign_off_return(
    session: SessionDep, actor: Actor, return_id: IdPath, body: Submit
) -> ReturnOut:
    """In an audit whose leads sign off returns: the agency's lead signs off the return
    its auditor sent (``version``: as the lead read it), which submits it. 409 if it
    was not sent, or changed since; 422 if something in it looks identifying and
    ``confirm_identifying`` is not set."""
    signoff.sign_off(
        session,
        actor=actor,
        return_id=return_id,
        read_version=body.version,
        confirmed=body.confirm_identifying,
    )
    return _out(session, return_id, actor)


@router.put("/returns/{return_id}/assignment", name="api.returns.assign")
@transactional
def assign_return(
    session: SessionDep, actor: Actor, return_id: IdPath, body: AssignmentIn
) -> AssignmentOut:
    """An agency lead gives one of the agency's returns to one of its auditors (null:
    to no one in particular); it comes first on that auditor's My work. Every auditor
    of the agency may still edit it."""
    found = assignment.assign(session, actor=actor, return_id=return_id, auditor_id=body.auditor_id)
    return AssignmentOut(
        return_id=found.id, assigned_to_id=found.assigned_to_id, assigned_at=found.assigned_at
    )


@router.get("/returns/{return_id}/versions", name="api.returns.versions")
@transactional
def return_versions(session: SessionDep, actor: Actor, return_id: IdPath) -> list[ReturnVersionOut]:
    """Each submission of the return as it was submitted, oldest first, with what changed
    since the one before. A submitted return is never changed in place: a resubmission
    after being sent back is a new version beside the old one."""
    return [
        ReturnVersionOut.model_validate(v)
        for v in versions.list_versions(session, return_id=return_id, actor=actor)
    ]


@router.get("/returns/{return_id}", name="api.returns.get")
@transactional
def get_return(session: SessionDep, actor: Actor, return_id: IdPath) -> ReturnOut:
    """One return with its answers, evidence and grades. Every read is logged."""
    return ReturnOut.model_validate(reading.read(session, return_id=return_id, actor=actor))


@router.put(
    "/returns/{return_id}/draft",
    name="api.returns.save_draft",
    responses={**CONFLICT, **INCOMPLETE},
)
@transactional
def save_draft(session: SessionDep, actor: Actor, return_id: IdPath, body: DraftSave) -> ReturnOut:
    """Save answers, evidence and grades. Send the `version` you read; only what is sent
    changes, and a null or empty value clears it."""
    return_ = service.get_return(session, return_id=return_id, actor=actor, to_edit=True)
    service.save_draft(session, return_=return_, **body.saved())
    return _out(session, return_id, actor)


@router.post(
    "/returns/{return_id}/submit", name="api.returns.submit", responses={**CONFLICT, **INCOMPLETE}
)
@transactional
def submit(session: SessionDep, actor: Actor, return_id: IdPath, body: Submit) -> ReturnOut:
    """Submit the return (or, where leads sign off, send it to the lead). 422 lists what
    is missing; or, with ``confirm_identifying`` not set, each free-text answer or box
    of evidence that looks like it could identify someone."""
    return_ = service.get_return(session, return_id=return_id, actor=actor, to_edit=True)
    service.submit(
        session,
        return_=return_,
        read_version=body.version,
        confirmed=body.confirm_identifying,
    )
    return _out(session, return_id, actor)


@router.post("/returns/{return_id}/reopen", name="api.returns.reopen", responses=CONFLICT)
@transactional
def reopen(session: SessionDep, actor: Actor, return_id: IdPath, body: Reopen) -> ReturnOut:
    """Send a submitted return back to its auditor for amendment."""
    return_ = service.get_return(session, return_id=return_id, actor=actor)
    service.reopen(session, return_=return_, read_version=body.version, note=body.note)
    return _out(session, return_id, actor)
