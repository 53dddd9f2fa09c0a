"""Audits themselves: listing and finding them, planning one on a published template,
changing its details and its participating agencies, opening it for returns (after a
check that lists what would stop it and what needs confirming), and closing and
reopening it once its learning is done.

The children and involvements are in ``cohort``, how far the returns have got in
``progress``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.access.models import AGENCY_ROLES, Role, User, UserRole
from app.access.policy import SYSTEM, Actor, audit_scope, child_scope, return_count_scope
from app.actions.lifecycle import FINISHED
from app.actions.models import LearningAction
from app.agencies.models import Agency, Subgroup
from app.audit_templates.models import TemplateStatus, TemplateVersion
from app.auditlog import service as auditlog
from app.audits.cohort import list_children, lock_audit, require_cohort_editable
from app.audits.models import Audit, AuditStatus, Child, Involvement, audit_agency
from app.clock import today, utcnow
from app.errors import Conflict, FieldError, InvalidInput, NotFound, StateError
from app.pagination import PageParams, count_rows
from app.returns.models import Return


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


class AuditSort(StrEnum):
    """How a list of audits is ordered: a column, descending with a leading "-"."""

    TITLE = "title"
    TITLE_DESC = "-title"
    STATUS = "status"
    STATUS_DESC = "-status"
    DUE = "returns_due_on"
    DUE_DESC = "-returns_due_on"
    CREATED = "created"
    CREATED_DESC = "-created"  # the default: newest first


LIFE = tuple(AuditStatus)  # planned, open, moderation, learning, closed: in that order
_SORT_COLUMNS = {
    "title": func.lower(Audit.title),
    "status": case({status: n for n, status in enumerate(LIFE)}, value=Audit.status),
    "returns_due_on": Audit.returns_due_on,
    "created": Audit.created_at,
}


def _order(sort: AuditSort) -> list:
    key = sort.value.removeprefix("-")
    column = _SORT_COLUMNS[key]
    order: list[ColumnElement] = [column.desc() if sort.value.startswith("-") else column.asc()]
    if key == "returns_due_on":
        order.insert(0, column.is_(None))  # an audit with no due date last, either way
    return [*order, Audit.created_at.desc(), Audit.id.desc()]  # ties: newest first


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
    sort: AuditSort = AuditSort.CREATED_DESC,
) -> tuple[list[AuditView], int]:
    """The audits the actor may see, filtered; ``q`` finds words in the title or theme."""
    stmt: Select = select(Audit).where(audit_scope(actor))
    stmt = stmt.order_by(*_order(sort))
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
        words = q.lower()
        stmt = stmt.where(
            or_(
                func.lower(Audit.title).contains(words, autoescape=True),
                func.lower(Audit.theme).contains(words, autoescape=True),
            )
        )
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
    session: Session,
    agency_ids: list[int],
    field_name: str,
    *,
    already: Collection[int] = frozenset(),
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
        "lead_sign_off": audit.lead_sign_off,
        "opened_at": audit.opened_at,
    }


def _agencies_log(audit: Audit) -> dict:
    return {"agency_ids": sorted(a.id for a in audit.agencies)}


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
    lead_sign_off: bool = False,
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
        lead_sign_off=lead_sign_off,
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


def set_agencies(session: Session, *, audit: Audit, agency_ids: list[int]) -> Audit:
    """Replace the participating agencies; one still involved with a child stays."""
    require_cohort_editable(session, audit)
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


@dataclass
class AgencyToOpen:
    """An agency asked for returns when the audit opens, and who there will be told:
    its active auditors (who complete the returns) and agency leads."""

    agency: Agency
    returns: int = 0
    auditors: list[str] = field(default_factory=list)
    leads: list[str] = field(default_factory=list)


@dataclass
class OpeningCheck:
    """What opening would do and what stands in its way: ``problems`` stop it (a
    missing date, no agencies or children, a child no agency is involved with);
    ``warnings`` need the opener's confirmation (an agency with no active auditor to
    complete its returns, no moderation meeting date, a due date already past)."""

    problems: list[FieldError]
    warnings: list[FieldError]
    agencies: list[AgencyToOpen]

    @property
    def returns(self) -> int:
        return sum(a.returns for a in self.agencies)


class NeedsConfirmation(InvalidInput):
    """Opening would leave someone unable to complete the audit: the opener must say
    they understand (``confirm``) first."""

    code = "needs_confirmation"


def _people(session: Session, agency_ids: list[int]) -> dict[int, dict[Role, list[str]]]:
    """The active auditors and agency leads of each agency, by name."""
    found: dict[int, dict[Role, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows = session.execute(
        select(User.agency_id, UserRole.role, User.display_name)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.active, User.agency_id.in_(agency_ids), UserRole.role.in_(AGENCY_ROLES))
        .order_by(User.display_name)
    )
    for agency_id, role, name in rows:
        if agency_id is not None:  # (always: the query asks for the agency's people)
            found[agency_id][role].append(name)
    return found


def opening_check(session: Session, *, audit: Audit) -> OpeningCheck:
    """Everything opening checks, without opening: for the confirmation page, and for
    ``open_audit`` itself."""
    problems: list[FieldError] = []
    warnings: list[FieldError] = []
    if audit.returns_due_on is None:
        problems.append(FieldError("returns_due_on", "Set the date returns are due"))
    elif audit.returns_due_on < today():
        warnings.append(FieldError("returns_due_on", "The date returns are due has already passed"))
    if audit.moderation_meeting_on is None:
        warnings.append(
            FieldError("moderation_meeting_on", "The moderation meeting's date is not set")
        )
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
    owed = Counter(i.agency_id for c in children for i in c.involvements)
    people = _people(session, [a.id for a in audit.agencies])
    agencies = []
    for agency in audit.agencies:
        staff = people.get(agency.id, {})
        entry = AgencyToOpen(
            agency,
            owed.get(agency.id, 0),
            list(staff.get(Role.AUDITOR, [])),
            list(staff.get(Role.AGENCY_LEAD, [])),
        )
        agencies.append(entry)
        if entry.returns and not entry.auditors:
            returns = f"{entry.returns} return{'s' if entry.returns != 1 else ''}"
            warnings.append(
                FieldError(
                    f"agencies.{agency.id}",
                    f"{agency.name} has no active auditor to complete its {returns}",
                )
            )
    return OpeningCheck(problems, warnings, agencies)


def open_audit(session: Session, *, audit: Audit, confirm: bool = False) -> Audit:
    """Open a planned audit for returns. 422 lists what is missing first; then, unless
    ``confirm``, 422 (``needs_confirmation``) names each warning. The warnings the
    opener confirmed are in the audit log with the opening."""
    status = lock_audit(session, audit)
    if status != AuditStatus.PLANNED:
        raise StateError(f"Only a planned audit can be opened; this one is {status.value}.")
    check = opening_check(session, audit=audit)
    if check.problems:
        raise InvalidInput("The audit is not ready to open.", fields=check.problems)
    if check.warnings and not confirm:
        raise NeedsConfirmation(
            "Opening this audit needs confirmation: "
            + "; ".join(w.message for w in check.warnings)
            + ".",
            fields=check.warnings,
        )
    before = _audit_log(audit)
    audit.status = AuditStatus.OPEN
    audit.opened_at = utcnow()
    session.flush()
    old, new = auditlog.changes(before, _audit_log(audit))
    if check.warnings:
        new["warnings_confirmed"] = [w.message for w in check.warnings]
    auditlog.record(
        session, action="audit.open", object_type="audit", object_id=audit.id, before=old, after=new
    )
    return audit


def open_actions(session: Session, *, audit: Audit) -> tuple[int, int]:
    """(learning actions not yet closed, all the audit's learning actions); a refused
    action counts as closed: nothing more can happen to it."""
    finished = case((LearningAction.status.in_(FINISHED), 0), else_=1)
    total, still_open = session.execute(
        select(func.count(), func.coalesce(func.sum(finished), 0)).where(
            LearningAction.audit_id == audit.id
        )
    ).one()
    return still_open, total


def close_audit(session: Session, *, audit: Audit, reason: str = "") -> Audit:
    """Close an audit in learning: its learning is done. The reason is required unless
    every learning action is closed."""
    status = lock_audit(session, audit)
    if status != AuditStatus.LEARNING:
        raise StateError(f"Only an audit in learning can be closed; this one is {status.value}.")
    still_open, _total = open_actions(session, audit=audit)
    if still_open and not reason:
        actions = (
            "1 learning action is" if still_open == 1 else f"{still_open} learning actions are"
        )
        raise InvalidInput(
            "Say why the audit is closing before its learning actions are.",
            fields=[
                FieldError("reason", f"{actions} not closed yet: say why the audit closes now")
            ],
        )
    audit.status = AuditStatus.CLOSED
    audit.closed_at = utcnow()
    audit.close_reason = reason
    session.flush()
    auditlog.record(
        session,
        action="audit.close",
        object_type="audit",
        object_id=audit.id,
        before={"status": status.value},
        after={
            "status": audit.status.value,
            "closed_at": audit.closed_at,
            "reason": reason,
            "open_actions": still_open,
        },
    )
    return audit


def reopen_audit(session: Session, *, audit: Audit, reason: str) -> Audit:
    """Put a closed audit back in learning, with the reason; its closing is cleared
    (and stays in the audit log)."""
    status = lock_audit(session, audit)
    if status != AuditStatus.CLOSED:
        raise StateError(f"Only a closed audit can be reopened; this one is {status.value}.")
    if not reason:
        raise InvalidInput(
            "Say why the audit is reopened.",
            fields=[FieldError("reason", "Say why the audit is reopened")],
        )
    before = {
        "status": status.value,
        "closed_at": audit.closed_at,
        "close_reason": audit.close_reason,
    }
    audit.status = AuditStatus.LEARNING
    audit.closed_at = None
    audit.close_reason = ""
    session.flush()
    auditlog.record(
        session,
        action="audit.reopen",
        object_type="audit",
        object_id=audit.id,
        before=before,
        after={"status": audit.status.value, "reason": reason},
    )
    return audit
