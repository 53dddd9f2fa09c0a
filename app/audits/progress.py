"""How far an audit's returns have got: counts by agency and by child, and the
child-by-agency grid of the overview page. Each counts only the returns the actor may
count (an auditor sees their own agency's).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.policy import Actor, child_scope, return_count_scope
from app.agencies.models import Agency
from app.audits.models import Audit, Child
from app.returns.models import Return


def progress(session: Session, *, actor: Actor, audit: Audit) -> dict:
    """Returns expected and how far each has got, by agency and by child: counting only
    what the actor may count (an auditor sees their own agency's)."""
    rows = session.execute(
        select(Return.agency_id, Agency.name, Return.child_id, Child.pseudonym, Return.status)
        .join(Agency, Agency.id == Return.agency_id)
        .join(Child, Child.id == Return.child_id)
        .where(Return.audit_id == audit.id, return_count_scope(actor))
    ).all()
    totals: dict[str, int] = defaultdict(int)
    by_agency: dict[int, dict] = {}
    by_child: dict[int, dict] = {}
    for agency_id, agency_name, child_id, pseudonym, status in rows:
        a = by_agency.setdefault(agency_id, {"agency_id": agency_id, "agency_name": agency_name})
        c = by_child.setdefault(child_id, {"child_id": child_id, "pseudonym": pseudonym})
        for bucket in (totals, a, c):
            bucket[status.value] = bucket.get(status.value, 0) + 1
            bucket["expected"] = bucket.get("expected", 0) + 1
    # Agencies and children with nothing expected yet still show, with zeros.
    for agency in audit.agencies:
        if actor.partnership_wide or agency.id == actor.agency_id:
            by_agency.setdefault(agency.id, {"agency_id": agency.id, "agency_name": agency.name})
    for child_id, pseudonym in session.execute(
        select(Child.id, Child.pseudonym).where(Child.audit_id == audit.id, child_scope(actor))
    ):
        by_child.setdefault(child_id, {"child_id": child_id, "pseudonym": pseudonym})
    return {
        "audit_id": audit.id,
        "status": audit.status,
        "returns_due_on": audit.returns_due_on,
        "totals": dict(totals),
        "by_agency": sorted(by_agency.values(), key=lambda r: r["agency_name"]),
        "by_child": sorted(by_child.values(), key=lambda r: r["pseudonym"]),
    }


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
