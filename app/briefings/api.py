"""A briefing version over JSON: reading where it stands (who drafted it, who approved
it, what the identification check found), showing a table's small counts of children as
"fewer than N" (and every number again), and approving it. The rest of the workflow is
on the pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from app.access.policy import Actor
from app.briefings import service, suppression, workflow
from app.briefings.models import BriefingVersion
from app.briefings.schemas import Approve, BriefingVersionOut, SuppressTable
from app.config import Settings
from app.deps import IdPath, SessionDep, transactional

router = APIRouter(prefix="/api/v1", tags=["briefings"])


def _out(
    session: Session, version: BriefingVersion, actor: Actor, settings: Settings
) -> BriefingVersionOut:
    check = workflow.check_as_read(session, version=version, actor=actor, settings=settings)
    return BriefingVersionOut.model_validate(
        {
            "id": version.id,
            "briefing_id": version.briefing_id,
            "number": version.number,
            "title": version.briefing.title,
            "kind": version.briefing.kind,
            "status": version.status,
            "marking": version.marking,
            "drafted_by": version.drafted_by,
            "approvals": [
                {"approver": a.approver, "approved_at": a.approved_at}
                for a in service.approvals(session, version=version)
            ],
            "approvals_needed": settings.briefing_approvers,
            "approved_by": version.approved_by,
            "approved_at": version.approved_at,
            "submitted_at": version.submitted_at,
            "published_on": version.published_on,
            "render_status": version.render_status,
            "suppressed_tables": version.suppressed_tables,
            "check_report": check,
            "check_digest": service.report_digest(check),
        }
    )


@router.get("/briefings/versions/{version_id}", name="api.briefings.version")
@transactional
def get_version(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath
) -> BriefingVersionOut:
    """Where a version stands; whoever may approve it reads its identification check as
    it runs now, with the ``check_digest`` to approve what they read."""
    version = service.get_version(session, version_id=version_id)
    return _out(session, version, actor, request.app.state.settings)


@router.post("/briefings/versions/{version_id}/approve", name="api.briefings.approve")
@transactional
def approve(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, body: Approve
) -> BriefingVersionOut:
    """Approve a submitted version: never by one of its authors (403, four_eyes), once
    per person, with ``check_read`` true (422 naming it otherwise); with ``check_seen``,
    only if the check still finds what the approver read (409 otherwise)."""
    settings = request.app.state.settings
    version = service.get_version(session, version_id=version_id)
    workflow.approve(
        session,
        version=version,
        actor=actor,
        settings=settings,
        check_read=body.check_read,
        confirm_small_counts=body.confirm_small_counts,
        check_seen=body.check_seen,
    )
    return _out(session, version, actor, settings)


@router.post(
    "/briefings/versions/{version_id}/suppressed-tables", name="api.briefings.suppress_table"
)
@transactional
def suppress_table(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, body: SuppressTable
) -> BriefingVersionOut:
    """Show a table's small counts of children as "fewer than N" (a draft only: 409
    otherwise; 422 for a table the document does not have)."""
    settings = request.app.state.settings
    version = service.get_version(session, version_id=version_id)
    suppression.suppress_table(
        session, version=version, table=body.table, settings=settings, actor=actor
    )
    return _out(session, version, actor, settings)


@router.delete(
    "/briefings/versions/{version_id}/suppressed-tables/{table}",
    name="api.briefings.show_table_numbers",
)
@transactional
def show_table_numbers(
    session: SessionDep, request: Request, actor: Actor, version_id: IdPath, table: str
) -> BriefingVersionOut:
    """Show every number of the table again (a draft only)."""
    settings = request.app.state.settings
    version = service.get_version(session, version_id=version_id)
    suppression.show_table_numbers(
        session, version=version, table=table, settings=settings, actor=actor
    )
    return _out(session, version, actor, settings)
