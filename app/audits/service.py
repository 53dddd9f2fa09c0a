"""Audits themselves: listing and finding them, planning one on a published template,
and changing its details and its participating agencies.

The children and involvements are in ``cohort``, how far the returns have got in
``progress``; opening, closing and reopening in ``lifecycle``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import Session, joinedload, load_only, selectinload
from sqlalchemy.orm.interfaces import ORMOption

from app.access.policy import SYSTEM, Actor, audit_scope, child_scope, return_count_scope
from app.agencies.models import Agency, Subgroup
from app.audit_templates import service as templates
from app.audit_templates.models import TemplateStatus, TemplateVersion
from app.auditlog import service as auditlog
from app.audits import cohort
from app.audits.cohort import require_cohort_editable
from app.audits.models import LIFE, Audit, AuditStatus, Child, Involvement, audit_agency
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
# What the audits page's rows show: these columns and no relationship. The agencies
# alone were about 1,400 rows for a page of 200 audits; any other column raises
# rather than being loaded audit by audit.
ROW_LOAD = (
    load_only(
        Audit.title, Audit.theme, Audit.status, Audit.subject, Audit.returns_due_on, raiseload=True
    ),
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
    # Ties: newest first. Sorted by creation, only the id is left to break a tie, so the
    # newest-first default reads straight from ix_audit_created_at_id (backwards).
    ties = [Audit.id.desc()] if key == "created" else [Audit.created_at.desc(), Audit.id.desc()]
    return [*order, *ties]


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
    options: Sequence[ORMOption] = AUDIT_LOAD,
) -> tuple[list[AuditView], int]:
    """The audits the actor may see, filtered; ``q`` finds words in the title or theme.
    Each loads what ``options`` say: everything its summary shows by default."""
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
        session.scalars(stmt.options(*options).limit(params.per_page).offset(params.offset))
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


def _check_period(period_from: date | None, period_to: date | None) -> None:
    if period_from and period_to and period_to < period_from:
        raise InvalidInput(
            "The period the audit looks at must end on or after it starts.",
            fields=[FieldError("period_to", "Must be on or after the start of the period")],
        )


def audit_log_view(audit: Audit) -> dict:
    """The audit's fields as the audit log records them (``lifecycle`` logs opening
    with it too)."""
    return {
        "template_version_id": audit.template_version_id,
        "subject": audit.subject,
        "title": audit.title,
        "theme": audit.theme,
        "description": audit.description,
        "lead_subgroup_id": audit.lead_subgroup_id,
        "status": audit.status,
        "returns_due_on": audit.returns_due_on,
        "moderation_meeting_on": audit.moderation_meeting_on,
        "period_from": audit.period_from,
        "period_to": audit.period_to,
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
    period_from: date | None = None,
    period_to: date | None = None,
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
    _check_period(period_from, period_to)
    agencies = _active_agencies(session, agency_ids or [], "agency_ids")
    audit = Audit(
        template_version_id=version.id,
        subject=version.subject,
        title=title,
        theme=theme or version.theme,
        description=description,
        lead_subgroup_id=lead_subgroup_id,
        status=AuditStatus.PLANNED,
        returns_due_on=returns_due_on,
        moderation_meeting_on=moderation_meeting_on,
        period_from=period_from,
        period_to=period_to,
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
            **{k: v for k, v in audit_log_view(audit).items() if v is not None},
            "agency_ids": sorted(a.id for a in agencies),
        },
    )
    cohort.sync_agency_cases(session, audit=audit)
    return get_audit(session, audit_id=audit.id, actor=SYSTEM)


def family_surveys(session: Session, *, audit: Audit, actor: Actor) -> list[Audit]:
    """The family surveys of the audit's children (app/respond/survey.py) the actor may
    see, oldest first."""
    return list(
        session.scalars(
            select(Audit)
            .where(Audit.survey_of_audit_id == audit.id, audit_scope(actor))
            .order_by(Audit.created_at, Audit.id)
            .options(*ROW_LOAD)
        )
    )


def asks_within_period(session: Session, *, audit: Audit) -> bool:
    """Whether any date question of the audit's template must fall within the period
    the audit looks at."""
    version = templates.get_version(session, version_id=audit.template_version_id)
    questions = [q for area in version.key_areas for q in area.questions]
    return any(q.within_audit_period for q in [*questions, *version.case_questions])


def update_audit(session: Session, *, audit: Audit, changes: dict) -> Audit:
    if audit.status == AuditStatus.CLOSED:
        raise StateError("A closed audit cannot be changed.")
    cleared = [
        name for name in ("period_from", "period_to") if name in changes and changes[name] is None
    ]
    if cleared and audit.status != AuditStatus.PLANNED and asks_within_period(session, audit=audit):
        raise InvalidInput(
            "The period the audit looks at cannot be cleared once the audit is open: its "
            "template asks for dates within it.",
            fields=[
                FieldError(name, "Cannot be cleared once the audit is open") for name in cleared
            ],
        )
    if "lead_subgroup_id" in changes:
        _check_subgroup(session, changes["lead_subgroup_id"])
    _check_dates(
        changes.get("returns_due_on", audit.returns_due_on),
        changes.get("moderation_meeting_on", audit.moderation_meeting_on),
    )
    _check_period(
        changes.get("period_from", audit.period_from), changes.get("period_to", audit.period_to)
    )
    with auditlog.changing(
        session, audit, action="audit.update", object_type="audit", view=audit_log_view
    ):
        for key, value in changes.items():
            setattr(audit, key, value)
    session.expire(audit, ["lead_subgroup"])
    return get_audit(session, audit_id=audit.id, actor=SYSTEM)


def set_agencies(session: Session, *, audit: Audit, agency_ids: list[int]) -> Audit:
    """Replace the participating agencies; one still involved with a child stays."""
    require_cohort_editable(session, audit)
    # The agencies as committed now, under the lock: another change may have come first.
    session.refresh(audit, attribute_names=["agencies"])
    current = {a.id for a in audit.agencies}
    keep = set(agency_ids)
    # An audit about agencies: an agency's case goes with it, unless its return was
    # started (``sync_agency_cases``, below, refuses then).
    for agency_id in set() if audit.about_agencies else current - keep:
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
    cohort.sync_agency_cases(session, audit=audit)
    return get_audit(session, audit_id=audit.id, actor=SYSTEM)
