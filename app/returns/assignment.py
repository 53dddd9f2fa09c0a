"""Giving a return to a named auditor: an agency lead assigns each of the agency's
returns in an audit to one of its auditors, whose My work then lists it first.

Assigning does not change who may edit a return (every auditor of the agency still
may: a colleague can cover an absence); it says whose it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.models import Role, User, UserRole
from app.access.policy import Actor, may_lead_agency, return_scope
from app.auditlog import service as auditlog
from app.audits.models import Audit, Child
from app.clock import utcnow
from app.errors import FieldError, InvalidInput, NotFound, StateError
from app.returns.models import EDITABLE_STATUSES, Return


@dataclass
class Assignable:
    """One of the agency's returns in the audit, and whose it is."""

    id: int
    child: str
    status: str
    assigned_to_id: int | None
    editable: bool


def _agency_of(actor: Actor) -> int:
    """The agency whose returns the actor assigns: an agency lead's own."""
    if actor.agency_id is None or not may_lead_agency(actor, actor.agency_id):
        raise NotFound("Only an agency's lead assigns its returns.")
    return actor.agency_id


def auditors(session: Session, *, agency_id: int) -> list[User]:
    """The agency's active auditors, by name: whom its returns may be given to."""
    return list(
        session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(User.agency_id == agency_id, User.active, UserRole.role == Role.AUDITOR)
            .order_by(User.display_name)
        )
    )


def assignable(session: Session, *, actor: Actor, audit: Audit) -> list[Assignable]:
    """The lead's agency's returns in the audit, by child."""
    agency_id = _agency_of(actor)
    rows = session.execute(
        select(Return.id, Child.pseudonym, Return.status, Return.assigned_to_id)
        .join(Child, Child.id == Return.child_id)
        .where(Return.audit_id == audit.id, Return.agency_id == agency_id, return_scope(actor))
        .order_by(Child.pseudonym)
    )
    return [
        Assignable(
            id=r.id,
            child=r.pseudonym,
            status=r.status,
            assigned_to_id=r.assigned_to_id,
            editable=r.status in EDITABLE_STATUSES,
        )
        for r in rows
    ]


def assign(session: Session, *, actor: Actor, return_id: int, auditor_id: int | None) -> Return:
    """Give the return to the auditor (None: to no one in particular). Logged."""
    return_ = session.scalar(select(Return).where(Return.id == return_id, return_scope(actor)))
    if return_ is None or not may_lead_agency(actor, return_.agency_id):
        raise NotFound(f"There is no return with id {return_id}.")
    if return_.status not in EDITABLE_STATUSES:
        raise StateError(
            "This return has been submitted, so there is nothing left to assign.",
        )
    if return_.assigned_to_id == auditor_id:
        return return_  # as it was: nothing to check or log
    if auditor_id is not None and auditor_id not in {
        u.id for u in auditors(session, agency_id=return_.agency_id)
    }:
        raise InvalidInput(
            "Choose one of the agency's auditors.",
            fields=[FieldError("auditor_id", "Choose one of the agency's auditors")],
        )
    with auditlog.changing(
        session,
        return_,
        action="return.assign",
        object_type="return",
        view=lambda r: {"assigned_to_id": r.assigned_to_id},
    ):
        return_.assigned_to_id = auditor_id
        return_.assigned_at = utcnow() if auditor_id is not None else None
    return return_
