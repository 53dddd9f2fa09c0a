"""How far an audit's returns have got: counts by agency and by child, and the
child-by-agency grid of the overview page. Each counts only the returns the actor may
count (an auditor sees their own agency's).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from app.access.policy import Actor, audit_scope, child_scope, per_scope, return_count_scope
from app.agencies.models import Agency
from app.audits.models import Audit, AuditStatus, Child, audit_agency
from app.errors import NotFound
from app.returns.models import Return


def progress(session: Session, *, actor: Actor, audit: Audit) -> dict:
    """Returns expected and how far each has got, by agency and by child: counting only
    what the actor may count (an auditor sees their own agency's)."""
    agencies = [(agency.id, agency.name) for agency in audit.agencies]
    return _progress(session, actor, audit.id, audit.status, audit.returns_due_on, agencies)


def progress_of(session: Session, *, actor: Actor, audit_id: int) -> dict:
    """The same for an audit not yet loaded (the API): the audit and its agencies, with
    its scope check, in one query; 404 if the actor may not see it."""
    found = (
        session.connection()
        .execute(
            per_scope("audits.progress.audit", actor, _audit_and_agencies), {"audit_id": audit_id}
        )
        .all()
    )
    if not found:
        raise NotFound(f"There is no audit with id {audit_id}.")
    agencies = [(row.id, row.name) for row in found if row.id is not None]
    first = found[0]
    return _progress(session, actor, audit_id, first.status, first.returns_due_on, agencies)


def _progress(
    session: Session,
    actor: Actor,
    audit_id: int,
    status: AuditStatus,
    returns_due_on: date | None,
    agencies: list[tuple[int, str]],
) -> dict:
    given = {"audit_id": audit_id}
    rows = (
        session.connection()
        .execute(per_scope("audits.progress.returns", actor, _returns), given)
        .all()
    )
    totals: dict[str, int] = defaultdict(int)
    by_agency: dict[int, dict] = {}
    by_child: dict[int, dict] = {}
    for agency_id, agency_name, child_id, pseudonym, state in rows:
        a = by_agency.setdefault(agency_id, {"agency_id": agency_id, "agency_name": agency_name})
        c = by_child.setdefault(child_id, {"child_id": child_id, "pseudonym": pseudonym})
        for bucket in (totals, a, c):
            bucket[state.value] = bucket.get(state.value, 0) + 1
            bucket["expected"] = bucket.get("expected", 0) + 1
    # Children with nothing expected yet still show, with zeros.
    for child_id, pseudonym in session.connection().execute(
        per_scope("audits.progress.children", actor, _children), given
    ):
        by_child.setdefault(child_id, {"child_id": child_id, "pseudonym": pseudonym})
    # Agencies with nothing expected yet still show, with zeros.
    for agency_id, agency_name in agencies:
        if actor.partnership_wide or agency_id == actor.agency_id:
            by_agency.setdefault(agency_id, {"agency_id": agency_id, "agency_name": agency_name})
    return {
        "audit_id": audit_id,
        "status": status,
        "returns_due_on": returns_due_on,
        "totals": dict(totals),
        "by_agency": sorted(by_agency.values(), key=lambda r: r["agency_name"]),
        "by_child": sorted(by_child.values(), key=lambda r: r["pseudonym"]),
    }


# The three queries, each built once per kind of reader (``per_scope``).


def _audit_and_agencies(actor: Actor) -> Select:
    """The audit and its agencies, with its scope check, in one query."""
    # An alias: the scope check reads audit_agency too, and must not correlate to this.
    taking_part = audit_agency.alias()
    return (
        select(Audit.status, Audit.returns_due_on, Agency.id, Agency.name)
        .select_from(Audit)
        .outerjoin(taking_part, taking_part.c.audit_id == Audit.id)
        .outerjoin(Agency, Agency.id == taking_part.c.agency_id)
        .where(Audit.id == bindparam("audit_id"), audit_scope(actor))
    )


def _returns(actor: Actor) -> Select:
    return (
        select(Return.agency_id, Agency.name, Return.child_id, Child.pseudonym, Return.status)
        .join(Agency, Agency.id == Return.agency_id)
        .join(Child, Child.id == Return.child_id)
        .where(Return.audit_id == bindparam("audit_id"), return_count_scope(actor))
    )


def _children(actor: Actor) -> Select:
    return select(Child.id, Child.pseudonym).where(
        Child.audit_id == bindparam("audit_id"), child_scope(actor)
    )


NOT_RECEIVED = "not_received"


def return_matrix(session: Session, *, actor: Actor, audit: Audit) -> dict[int, dict[int, dict]]:
    """child id -> agency id -> that return's id and status, for the overview grid,
    counting only returns the actor may count."""
    rows = session.execute(
        select(
            Return.id, Return.child_id, Return.agency_id, Return.status, Return.excluded_at
        ).where(Return.audit_id == audit.id, return_count_scope(actor))
    )
    matrix: dict[int, dict[int, dict]] = defaultdict(dict)
    for return_id, child_id, agency_id, status, excluded_at in rows:
        # A return left out of moderation reads as "Not received" wherever it shows.
        shown = NOT_RECEIVED if excluded_at is not None else status.value
        matrix[child_id][agency_id] = {"id": return_id, "status": shown}
    return matrix
