"""Audits: planning, the cohort, involvements, opening, and progress.

A return is created for each involvement as soon as it is recorded, so "returns
expected" is simply a count of returns, and progress never has to guess.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.access.policy import (
    SYSTEM,
    Actor,
    audit_scope,
    child_scope,
    involvement_scope,
    return_count_scope,
)
from app.agencies.models import Agency, Subgroup
from app.audit_templates.models import TemplateStatus, TemplateVersion
from app.auditlog import service as auditlog
from app.audits.models import Audit, AuditStatus, Child, Involvement, audit_agency
from app.clock import utcnow
from app.errors import Conflict, FieldError, InvalidInput, NotFound, StateError
from app.pagination import PageParams, count_rows, page_of
from app.returns.models import Return, ReturnStatus

COHORT_EDITABLE = frozenset({AuditStatus.PLANNED, AuditStatus.OPEN})


@dataclass
class AuditView:
    """An audit with the counts its summary shows."""

    audit: Audit
    children_count: int = 0
    returns: dict[str, int] = field(default_factory=dict)

    def __getattr__(self, name: str):
        return getattr(self.audit, name)


AUDIT_LOAD = (
    joinedload(Audit.template_version).joinedload(TemplateVersion.family),
    joinedload(Audit.lead_subgroup),
    selectinload(Audit.agencies),
)


def _views(session: Session, actor: Actor, audits: list[Audit]) -> list[AuditView]:
    ids = [a.id for a in audits]
    children = dict(
        session.execute(
            select(Child.audit_id, func.count())
            .where(Child.audit_id.in_(ids), child_scope(actor))
            .group_by(Child.audit_id)
        ).all()
    )
    returns: dict[int, dict[str, int]] = defaultdict(dict)
    rows = session.execute(
        select(Return.audit_id, Return.status, func.count())
        .where(Return.audit_id.in_(ids), return_count_scope(actor))
        .group_by(Return.audit_id, Return.status)
    )
    for audit_id, status, n in rows:
        returns[audit_id][status.value] = n
        returns[audit_id]["expected"] = returns[audit_id].get("expected", 0) + n
    return [AuditView(a, children.get(a.id, 0), returns[a.id]) for a in audits]


def list_audits(
    session: Session,
    *,
    actor: Actor,
    params: PageParams,
    status: AuditStatus | None = None,
    theme: str | None = None,
    subgroup_id: int | None = None,
    template_id: int | None = None,
    agency_id: int | None = None,
    due_before: date | None = None,
    q: str | None = None,
) -> tuple[list[AuditView], int]:
    stmt: Select = (
        select(Audit).where(audit_scope(actor)).order_by(Audit.created_at.desc(), Audit.id.desc())
    )
    if status is not None:
        stmt = stmt.where(Audit.status == status)
    if theme:
        stmt = stmt.where(func.lower(Audit.theme) == theme.lower())
    if subgroup_id is not None:
        stmt = stmt.where(Audit.lead_subgroup_id == subgroup_id)
    if template_id is not None:
        stmt = stmt.join(TemplateVersion).where(TemplateVersion.family_id == template_id)
    if agency_id is not None:
        stmt = stmt.where(
            select(audit_agency.c.audit_id)
            .where(audit_agency.c.audit_id == Audit.id, audit_agency.c.agency_id == agency_id)
            .exists()
        )
    if due_before is not None:
        stmt = stmt.where(Audit.returns_due_on <= due_before)
    if q:
        stmt = stmt.where(func.lower(Audit.title).contains(q.lower(), autoescape=True))
    total = count_rows(session, stmt)
    audits = list(
        session.scalars(stmt.options(*AUDIT_LOAD).limit(params.per_page).offset(params.offset))
    )
    return _views(session, actor, audits), total


WITH_AGENCIES = (selectinload(Audit.agencies),)


def get_audit(session: Session, *, audit_id: int, actor: Actor, options=AUDIT_LOAD) -> Audit:
    """The audit if the actor may see it, loading what ``options`` say (everything its
    summary shows by default)."""
    audit = session.scalar(
        select(Audit).where(Audit.id == audit_id, audit_scope(actor)).options(*options)
    )
    if audit is None:
        raise NotFound(f"There is no audit with id {audit_id}.")
    return audit


def view(session: Session, *, actor: Actor, audit: Audit) -> AuditView:
    return _views(session, actor, [audit])[0]


def _active_agencies(
    session: Session, agency_ids: list[int], field_name: str, *, already: set[int] = frozenset()
) -> list[Agency]:
    """The agencies for ``agency_ids`` (in the caller's list, errors indexed by position
    in it), sorted by name; those in ``already`` are taking part and not checked again."""
    wanted = [i for i in dict.fromkeys(agency_ids) if i not in already]
    found = {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_(wanted)))}
    problems = []
    for index, agency_id in enumerate(agency_ids):
        if agency_id in already:
            continue
        if agency_id not in found:
            problems.append(
                FieldError(f"{field_name}[{index}]", f"There is no agency with id {agency_id}")
            )
        elif not found[agency_id].active:
            problems.append(
                FieldError(f"{field_name}[{index}]", f"{found[agency_id].name} is no longer active")
            )
    if problems:
        raise InvalidInput("Some agencies cannot take part.", fields=problems)
    return sorted(found.values(), key=lambda a: a.name)


def _check_subgroup(session: Session, subgroup_id: int | None) -> None:
    if subgroup_id is None:
        return
    subgroup = session.get(Subgroup, subgroup_id)
    if subgroup is None or not subgroup.active:
        problem = (
            "There is no subgroup with id" if subgroup is None else "No longer active: subgroup"
        )
        raise InvalidInput(
            "The lead subgroup cannot lead this audit.",
            fields=[FieldError("lead_subgroup_id", f"{problem} {subgroup_id}")],
        )


def _check_dates(returns_due_on: date | None, moderation_meeting_on: date | None) -> None:
    if returns_due_on and moderation_meeting_on and moderation_meeting_on < returns_due_on:
        raise InvalidInput(
            "The moderation meeting must come after the returns are due.",
            fields=[
                FieldError("moderation_meeting_on", "Must be on or after the returns due date")
            ],
        )


# --- what the audit log records --------------------------------------------------


def _audit_log(audit: Audit) -> dict:
    return {
        "template_version_id": audit.template_version_id,
        "title": audit.title,
        "theme": audit.theme,
        "description": audit.description,
        "lead_subgroup_id": audit.lead_subgroup_id,
        "status": audit.status,
        "returns_due_on": audit.returns_due_on,
        "moderation_meeting_on": audit.moderation_meeting_on,
        "opened_at": audit.opened_at,
    }


def _agencies_log(audit: Audit) -> dict:
    return {"agency_ids": sorted(a.id for a in audit.agencies)}


def _child_log(child: Child) -> dict:
    return {
        "audit_id": child.audit_id,
        "pseudonym": child.pseudonym,
        "age_band": child.age_band,
        "context_tags": list(child.context_tags),
    }


def create_audit(
    session: Session,
    *,
    template_version_id: int,
    title: str,
    theme: str = "",
    description: str = "",
    lead_subgroup_id: int | None = None,
    returns_due_on: date | None = None,
    moderation_meeting_on: date | None = None,
    agency_ids: list[int] | None = None,
) -> Audit:
    """Plan an audit on a published template version, which it keeps for ever."""
    version = session.get(TemplateVersion, template_version_id)
    if version is None or version.status != TemplateStatus.PUBLISHED:
        reason = "does not exist" if version is None else f"is {version.status.value}"
        raise InvalidInput(
            "An audit must use a published template version.",
            fields=[
                FieldError(
                    "template_version_id", f"Template version {template_version_id} {reason}"
                )
            ],
        )
    _check_subgroup(session, lead_subgroup_id)
    _check_dates(returns_due_on, moderation_meeting_on)
    agencies = _active_agencies(session, agency_ids or [], "agency_ids")
    audit = Audit(
        template_version_id=version.id,
        title=title,
        theme=theme or version.theme,
        description=description,
        lead_subgroup_id=lead_subgroup_id,
        status=AuditStatus.PLANNED,
        returns_due_on=returns_due_on,
        moderation_meeting_on=moderation_meeting_on,
        agencies=agencies,
    )
    session.add(audit)
    session.flush()
    auditlog.record(
        session,
        action="audit.create",
        object_type="audit",
        object_id=audit.id,
        after={
            **{k: v for k, v in _audit_log(audit).items() if v is not None},
            "agency_ids": sorted(a.id for a in agencies),
        },
    )
    return get_audit(session, audit_id=audit.id, actor=SYSTEM)


def update_audit(session: Session, *, audit: Audit, changes: dict) -> Audit:
    if audit.status == AuditStatus.CLOSED:
        raise StateError("A closed audit cannot be changed.")
    if "lead_subgroup_id" in changes:
        _check_subgroup(session, changes["lead_subgroup_id"])
    _check_dates(
        changes.get("returns_due_on", audit.returns_due_on),
        changes.get("moderation_meeting_on", audit.moderation_meeting_on),
    )
    with auditlog.changing(
        session, audit, action="audit.update", object_type="audit", view=_audit_log
    ):
        for key, value in changes.items():
            setattr(audit, key, value)
    session.expire(audit, ["lead_subgroup"])
    return get_audit(session, audit_id=audit.id, actor=SYSTEM)


def lock_audit(session: Session, audit: Audit) -> AuditStatus:
    """Lock the audit's row and read its status as committed now.

    Every change to an audit's agencies or cohort, and opening it, takes this lock
    first (FOR UPDATE on PostgreSQL; SQLite's writers hold the database lock), so
    "remove this agency" and "involve this agency" cannot both pass their checks.
    """
    return session.scalar(select(Audit.status).where(Audit.id == audit.id).with_for_update())


def _require_cohort_editable(session: Session, audit: Audit) -> None:
    status = lock_audit(session, audit)
    if status not in COHORT_EDITABLE:
        raise StateError(
            f"The audit is in {status.value}: its agencies and cohort can no longer change."
        )


def set_agencies(session: Session, *, audit: Audit, agency_ids: list[int]) -> Audit:
    """Replace the participating agencies; one still involved with a child stays."""
    _require_cohort_editable(session, audit)
    current = {a.id for a in audit.agencies}
    keep = set(agency_ids)
    for agency_id in current - keep:
        involved = session.scalar(
            select(func.count()).where(
                Involvement.audit_id == audit.id, Involvement.agency_id == agency_id
            )
        )
        if involved:
            name = next(a.name for a in audit.agencies if a.id == agency_id)
            raise Conflict(
                f"{name} is involved with {involved} child(ren) in this audit; "
                "remove those involvements first.",
                fields=[
                    FieldError(
                        "agency_ids",
                        f"{name} is still involved with children: remove those involvements first",
                    )
                ],
            )
    added = _active_agencies(session, agency_ids, "agency_ids", already=current)
    with auditlog.changing(
        session, audit, action="audit.set_agencies", object_type="audit", view=_agencies_log
    ):
        audit.agencies = sorted(
            [a for a in audit.agencies if a.id in keep] + added, key=lambda a: a.name
        )
    return get_audit(session, audit_id=audit.id, actor=SYSTEM)


def list_children(session: Session, *, audit: Audit) -> list[Child]:
    return list(
        session.scalars(
            select(Child)
            .where(Child.audit_id == audit.id)
            .order_by(Child.pseudonym)
            .options(selectinload(Child.involvements).joinedload(Involvement.agency))
        )
    )


def page_children(
    session: Session, *, actor: Actor, audit: Audit, params: PageParams
) -> tuple[list[Child], int]:
    stmt = (
        select(Child)
        .where(Child.audit_id == audit.id, child_scope(actor))
        .order_by(Child.pseudonym, Child.id)
    )
    return page_of(session, stmt, params)


def involvement_rows(
    session: Session, *, actor: Actor, child_ids: list[int]
) -> dict[int, list[dict]]:
    """Each child's involvements with the agency name and its return's id and status."""
    rows = session.execute(
        select(
            Involvement.id, Involvement.child_id, Agency.id, Agency.name, Return.id, Return.status
        )
        .join(Agency, Agency.id == Involvement.agency_id)
        .join(Return, Return.involvement_id == Involvement.id)
        .where(Involvement.child_id.in_(child_ids), involvement_scope(actor))
        .order_by(Agency.name)
    )
    out: dict[int, list[dict]] = defaultdict(list)
    for inv_id, child_id, agency_id, agency_name, return_id, status in rows:
        out[child_id].append(
            {
                "id": inv_id,
                "agency_id": agency_id,
                "agency_name": agency_name,
                "return_id": return_id,
                "return_status": status,
            }
        )
    return out


def child_in_audit(session: Session, *, audit: Audit, child_id: int) -> Child:
    """The child named in a request body: unknown or elsewhere is bad input (422)."""
    child = session.get(Child, child_id)
    if child is None or child.audit_id != audit.id:
        raise InvalidInput(
            "The child is not in this audit.",
            fields=[FieldError("child_id", f"Audit {audit.id} has no child with id {child_id}")],
        )
    return child


def get_child(session: Session, *, child_id: int, actor: Actor) -> Child:
    child = session.scalar(select(Child).where(Child.id == child_id, child_scope(actor)))
    if child is None:
        raise NotFound(f"There is no child with id {child_id}.")
    return child


def _check_pseudonym_free(
    session: Session, audit_id: int, pseudonym: str, exclude: int | None
) -> None:
    stmt = select(Child.id).where(
        Child.audit_id == audit_id, func.lower(Child.pseudonym) == pseudonym.lower()
    )
    if exclude is not None:
        stmt = stmt.where(Child.id != exclude)
    if session.scalar(stmt) is not None:
        raise Conflict(
            f"This audit already has a child called '{pseudonym}'.",
            fields=[
                FieldError(
                    "pseudonym",
                    f"This audit already has a child called {pseudonym}: use another pseudonym",
                )
            ],
        )


def add_child(
    session: Session,
    *,
    audit: Audit,
    pseudonym: str,
    age_band=None,
    context_tags: list[str] | None = None,
    agency_ids: list[int] | None = None,
) -> Child:
    """Add a child to the cohort, with the agencies involved (a return is expected from each)."""
    _require_cohort_editable(session, audit)
    _check_pseudonym_free(session, audit.id, pseudonym, None)
    taking_part = {a.id for a in audit.agencies}
    outsiders = [
        FieldError(f"agency_ids[{i}]", f"Agency {agency_id} is not taking part in this audit")
        for i, agency_id in enumerate(agency_ids or [])
        if agency_id not in taking_part
    ]
    if outsiders:
        raise InvalidInput(
            "Only participating agencies can be involved with a child.", fields=outsiders
        )
    child = Child(
        audit_id=audit.id,
        pseudonym=pseudonym,
        age_band=age_band,
        context_tags=list(dict.fromkeys(context_tags or [])),
    )
    session.add(child)
    session.flush()
    # One row for the child, then one per involvement (add_involvement logs each).
    auditlog.record(
        session,
        action="child.create",
        object_type="child",
        object_id=child.id,
        after=_child_log(child),
    )
    for agency_id in dict.fromkeys(agency_ids or []):
        add_involvement(session, audit=audit, child=child, agency_id=agency_id)
    return child


def update_child(session: Session, *, audit: Audit, child: Child, changes: dict) -> Child:
    _require_cohort_editable(session, audit)
    if "pseudonym" in changes:
        _check_pseudonym_free(session, audit.id, changes["pseudonym"], child.id)
    if "context_tags" in changes:
        changes["context_tags"] = list(dict.fromkeys(changes["context_tags"]))
    with auditlog.changing(
        session, child, action="child.update", object_type="child", view=_child_log
    ):
        for key, value in changes.items():
            setattr(child, key, value)
    return child


def remove_child(session: Session, *, audit: Audit, child: Child) -> None:
    """Remove a child from the cohort, only while none of its returns has been started."""
    _require_cohort_editable(session, audit)
    # Lock the returns: an auditor saving one at this moment must either finish
    # first (and this refuses) or wait until the child is gone.
    statuses = session.scalars(
        select(Return.status).where(Return.child_id == child.id).with_for_update()
    ).all()
    started = sum(1 for status in statuses if status != ReturnStatus.NOT_STARTED)
    if started:
        raise Conflict(
            f"{child.pseudonym} has {started} return(s) already started; they cannot be deleted."
        )
    # One row: the child's involvements and unstarted returns go with it.
    agency_ids = session.scalars(
        select(Involvement.agency_id).where(Involvement.child_id == child.id)
    ).all()
    with auditlog.changing(
        session,
        child,
        action="child.delete",
        object_type="child",
        view=lambda c: {**_child_log(c), "agency_ids": sorted(agency_ids)},
    ):
        session.delete(child)


def add_involvement(session: Session, *, audit: Audit, child: Child, agency_id: int) -> Involvement:
    _require_cohort_editable(session, audit)
    if child.audit_id != audit.id:
        raise InvalidInput(
            "The child is not in this audit.",
            fields=[FieldError("child_id", f"Child {child.id} is not in audit {audit.id}")],
        )
    if agency_id not in {a.id for a in audit.agencies}:
        raise InvalidInput(
            "Only participating agencies can be involved with a child.",
            fields=[
                FieldError("agency_id", f"Agency {agency_id} is not taking part in this audit")
            ],
        )
    exists = session.scalar(
        select(Involvement.id).where(
            Involvement.child_id == child.id, Involvement.agency_id == agency_id
        )
    )
    if exists is not None:
        raise Conflict(
            "That agency is already recorded as involved with this child.",
            fields=[FieldError("agency_id", "Already involved with this child")],
        )
    involvement = Involvement(audit_id=audit.id, child_id=child.id, agency_id=agency_id)
    session.add(involvement)
    session.flush()
    session.add(
        Return(
            audit_id=audit.id,
            involvement_id=involvement.id,
            child_id=child.id,
            agency_id=agency_id,
            status=ReturnStatus.NOT_STARTED,
            version=1,
        )
    )
    session.flush()
    auditlog.record(
        session,
        action="involvement.create",
        object_type="involvement",
        object_id=involvement.id,
        after={"audit_id": audit.id, "child_id": child.id, "agency_id": agency_id},
    )
    return involvement


def get_involvement(session: Session, *, involvement_id: int) -> Involvement:
    involvement = session.get(Involvement, involvement_id)
    if involvement is None:
        raise NotFound(f"There is no involvement with id {involvement_id}.")
    return involvement


def remove_involvement(session: Session, *, audit: Audit, involvement: Involvement) -> None:
    """Remove an involvement and its return, only while that return is not started."""
    _require_cohort_editable(session, audit)
    status = session.scalar(  # locked, as in remove_child
        select(Return.status).where(Return.involvement_id == involvement.id).with_for_update()
    )
    if status is not None and status != ReturnStatus.NOT_STARTED:
        raise Conflict(
            f"This agency's return has been {status.value.replace('_', ' ')}; "
            "the involvement cannot be removed."
        )
    with auditlog.changing(
        session,
        involvement,
        action="involvement.delete",
        object_type="involvement",
        view=lambda i: {"audit_id": i.audit_id, "child_id": i.child_id, "agency_id": i.agency_id},
    ):
        session.delete(involvement)


def open_audit(session: Session, *, audit: Audit) -> Audit:
    """Open a planned audit for returns; 422 lists what is missing first."""
    status = lock_audit(session, audit)
    if status != AuditStatus.PLANNED:
        raise StateError(f"Only a planned audit can be opened; this one is {status.value}.")
    problems: list[FieldError] = []
    if audit.returns_due_on is None:
        problems.append(FieldError("returns_due_on", "Set the date returns are due"))
    if not audit.agencies:
        problems.append(FieldError("agency_ids", "Add the participating agencies"))
    children = list_children(session, audit=audit)
    if not children:
        problems.append(FieldError("children", "Add the children in the cohort"))
    for child in children:
        if not child.involvements:
            problems.append(
                FieldError(f"children.{child.id}", f"{child.pseudonym} has no involved agencies")
            )
    if problems:
        raise InvalidInput("The audit is not ready to open.", fields=problems)
    with auditlog.changing(
        session, audit, action="audit.open", object_type="audit", view=_audit_log
    ):
        audit.status = AuditStatus.OPEN
        audit.opened_at = utcnow()
    return audit


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


def return_matrix(session: Session, *, actor: Actor, audit: Audit) -> dict[int, dict[int, dict]]:
    """child id -> agency id -> that return's id and status, for the overview grid,
    counting only returns the actor may count."""
    rows = session.execute(
        select(Return.id, Return.child_id, Return.agency_id, Return.status).where(
            Return.audit_id == audit.id, return_count_scope(actor)
        )
    )
    matrix: dict[int, dict[int, dict]] = defaultdict(dict)
    for return_id, child_id, agency_id, status in rows:
        matrix[child_id][agency_id] = {"id": return_id, "status": status}
    return matrix
