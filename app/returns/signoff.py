"""An agency lead's sign-off: in an audit that asks for it (``Audit.lead_sign_off``), an
auditor's submission sends the return to the agency's lead (``service.submit``), and
the lead's sign-off submits it to the partnership. Any change to the return after it
was sent withdraws the request: the lead signs off what they read."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.policy import Actor, may_lead_agency, return_scope
from app.audits.models import Child
from app.errors import NotFound, StateError
from app.returns import service
from app.returns.models import Return


def waiting(session: Session, *, actor: Actor, audit_id: int) -> list[tuple[int, str]]:
    """The lead's agency's returns in the audit sent for sign-off and unchanged since:
    (return id, child), by child."""
    if actor.agency_id is None or not may_lead_agency(actor, actor.agency_id):
        return []
    return [
        (row.id, row.pseudonym)
        for row in session.execute(
            select(Return.id, Child.pseudonym)
            .join(Child, Child.id == Return.child_id)
            .where(
                Return.audit_id == audit_id,
                Return.agency_id == actor.agency_id,
                Return.sign_off_requested_at.is_not(None),
                Return.sign_off_version == Return.version,
                return_scope(actor),
            )
            .order_by(Child.pseudonym)
        )
    ]


def sign_off(
    session: Session, *, actor: Actor, return_id: int, read_version: int, confirmed: bool = False
) -> Return:
    """Sign off the return as read (``read_version``) and submit it to the partnership.
    The lead submits it, so the lead too confirms (``confirmed``) that what looks
    identifying in it identifies no one (``service.screen``)."""
    return_ = session.scalar(select(Return).where(Return.id == return_id, return_scope(actor)))
    if return_ is None or not may_lead_agency(actor, return_.agency_id):
        raise NotFound(f"There is no return with id {return_id}.")
    if return_.sign_off_requested_at is None:
        raise StateError("This return has not been sent to you for sign-off.")
    if return_.sign_off_version != return_.version or read_version != return_.version:
        raise StateError(
            "The return has changed since it was sent for sign-off. Read it again: its "
            "auditor will need to send it again."
            if return_.sign_off_version != return_.version
            else "The return has changed since you opened it. Read it again before signing off."
        )
    return service.submit(
        session,
        return_=return_,
        read_version=read_version,
        signed_off=True,
        confirmed=confirmed,
    )
