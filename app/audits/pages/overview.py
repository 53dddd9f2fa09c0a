"""Pages for moderators and admins: the audits, and each audit's progress."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.access.policy import Actor, Permission
from app.audits import progress as returns_progress
from app.audits import service
from app.deps import IdPath, SessionDep, transactional
from app.errors import NotFound
from app.moderation import service as moderation
from app.pagination import PageParams
from app.returns import signoff
from app.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/audits", name="audits.list")
@transactional
def audits(session: SessionDep, request: Request, actor: Actor) -> Response:
    """The audits this person may see, newest first."""
    items, total = service.list_audits(session, actor=actor, params=PageParams(1, 200))
    return render(request, "audits/list.html", {"audits": items, "total": total})


def _may_see_moderation(actor: Actor, audit) -> bool:
    if not actor.may(Permission.RETURN_READ):
        return False
    try:
        moderation.check_visible(actor, audit)
    except NotFound:
        return False
    return True


@router.get("/audits/{audit_id}", name="audits.overview")
@transactional
def overview(session: SessionDep, request: Request, actor: Actor, audit_id: IdPath) -> Response:
    """Progress by agency and by child, with a link to each return for those who may read it."""
    audit = service.get_audit(session, audit_id=audit_id, actor=actor)
    progress = returns_progress.progress(session, actor=actor, audit=audit)
    matrix = returns_progress.return_matrix(session, actor=actor, audit=audit)
    return render(
        request,
        "audits/overview.html",
        {
            "audit": audit,
            "progress": progress,
            "matrix": matrix,
            "agencies": [
                a for a in audit.agencies if actor.partnership_wide or a.id == actor.agency_id
            ],
            "may_read_returns": actor.may(Permission.RETURN_READ),
            "may_see_moderation": _may_see_moderation(actor, audit),
            "to_sign_off": signoff.waiting(session, actor=actor, audit_id=audit.id),
        },
    )
