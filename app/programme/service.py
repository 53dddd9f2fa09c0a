"""The year's programme: its entries (create, change, archive), and the audit planned
for one of an entry's months (app/programme/calendar.py), made now or linked from one
already made. An entry's audits use the newest published version of its template as
each is made, so a template can move on during the year and later audits follow it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from app.access.policy import SYSTEM
from app.agencies.models import Agency, Subgroup
from app.audit_templates.models import TemplateFamily, TemplateStatus, TemplateVersion
from app.auditlog import service as auditlog
from app.audits import service as audits
from app.audits.models import Audit
from app.clock import utcnow
from app.errors import Conflict, FieldError, InvalidInput, NotFound, StateError
from app.identify import entry as entry_guard
from app.programme.calendar import MONTH_FORMAT, months_from, months_of, offered_months
from app.programme.models import ProgrammeEntry, ProgrammeOccurrence, Repeat

MOST_OCCURRENCES = 24

ENTRY_LOAD = (
    joinedload(ProgrammeEntry.lead_subgroup),
    joinedload(ProgrammeEntry.template_family),
    selectinload(ProgrammeEntry.agencies),
    selectinload(ProgrammeEntry.planned),
)


# --- finding entries -----------------------------------------------------------------------


def get_entry(session: Session, *, entry_id: int, fresh: bool = False) -> ProgrammeEntry:
    """The entry with what its pages show (``fresh``: as stored now, not as last loaded)."""
    entry = session.scalar(
        select(ProgrammeEntry)
        .where(ProgrammeEntry.id == entry_id)
        .options(*ENTRY_LOAD)
        .execution_options(populate_existing=fresh)
    )
    if entry is None:
        raise NotFound(f"There is no programme entry with id {entry_id}.")
    return entry


def list_entries(session: Session, *, archived: bool | None = False) -> list[ProgrammeEntry]:
    """The programme's entries by title (``archived``: False, the live ones; True, the
    archived ones; None, all)."""
    stmt = select(ProgrammeEntry).options(*ENTRY_LOAD)
    if archived is not None:
        stmt = stmt.where(
            ProgrammeEntry.archived_at.is_not(None)
            if archived
            else ProgrammeEntry.archived_at.is_(None)
        )
    return list(session.scalars(stmt.order_by(func.lower(ProgrammeEntry.title), ProgrammeEntry.id)))


def newest_published(session: Session, family_id: int) -> TemplateVersion | None:
    """The template's newest published version: the one its next audit will use."""
    return session.scalar(
        select(TemplateVersion)
        .where(
            TemplateVersion.family_id == family_id,
            TemplateVersion.status == TemplateStatus.PUBLISHED,
        )
        .order_by(TemplateVersion.number.desc())
        .limit(1)
    )


def published_families(session: Session) -> list[TemplateFamily]:
    """Templates with a published version, by name: those an entry may use."""
    has_published = (
        select(TemplateVersion.id)
        .where(
            TemplateVersion.family_id == TemplateFamily.id,
            TemplateVersion.status == TemplateStatus.PUBLISHED,
        )
        .exists()
    )
    return list(
        session.scalars(select(TemplateFamily).where(has_published).order_by(TemplateFamily.name))
    )


# --- what an entry may hold ----------------------------------------------------------------


def published_version(session: Session, family_id: int) -> TemplateVersion:
    """The newest published version of the template, or InvalidInput naming it."""
    family = session.get(TemplateFamily, family_id)
    version = newest_published(session, family_id) if family is not None else None
    if version is not None:
        return version
    problem = (
        f"There is no template with id {family_id}"
        if family is None
        else f"{family.name} has no published version yet"
    )
    raise InvalidInput(
        "The programme's audits must use a published template.",
        fields=[FieldError("template_family_id", problem)],
    )


def _template_problem(session: Session, family_id: int) -> FieldError | None:
    try:
        published_version(session, family_id)
    except InvalidInput as refused:
        return refused.fields[0]
    return None


def _subgroup_problem(session: Session, subgroup_id: int | None) -> FieldError | None:
    if subgroup_id is None:
        return None
    subgroup = session.get(Subgroup, subgroup_id)
    if subgroup is not None and subgroup.active:
        return None
    problem = (
        f"There is no subgroup with id {subgroup_id}"
        if subgroup is None
        else f"{subgroup.name} is no longer active"
    )
    return FieldError("lead_subgroup_id", problem)


def _agency_problems(
    session: Session, agency_ids: list[int], *, already: Collection[int] = ()
) -> list[FieldError]:
    """Each agency must exist and be active, unless it is on the entry already."""
    found = {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_(agency_ids)))}
    problems = []
    for index, agency_id in enumerate(agency_ids):
        agency = found.get(agency_id)
        if agency is None:
            problems.append(
                FieldError(f"agency_ids[{index}]", f"There is no agency with id {agency_id}")
            )
        elif not agency.active and agency_id not in already:
            problems.append(
                FieldError(f"agency_ids[{index}]", f"{agency.name} is no longer active")
            )
    return problems


def _schedule_problems(
    first_month: date, repeat: Repeat, occurrences: int, *, today: date, check_start: bool
) -> list[FieldError]:
    problems = []
    if first_month.day != 1:
        problems.append(FieldError("first_month", "Must be the 1st of a month"))
    elif check_start and first_month not in offered_months(today):
        offered = offered_months(today)
        problems.append(
            FieldError(
                "first_month",
                f"Must be between {offered[0]:{MONTH_FORMAT}} and {offered[-1]:{MONTH_FORMAT}}",
            )
        )
    if repeat == Repeat.NONE and occurrences != 1:
        problems.append(FieldError("occurrences", "A one-off audit happens once: enter 1"))
    elif not 1 <= occurrences <= MOST_OCCURRENCES:
        problems.append(FieldError("occurrences", f"Must be from 1 to {MOST_OCCURRENCES} audits"))
    return problems


def _check(session: Session, values: dict, *, today: date, entry: ProgrammeEntry | None) -> None:
    """Everything wrong with an entry holding ``values`` (an existing ``entry``'s,
    changed by them), refused at once: a template with a published version, an active
    lead subgroup and agencies, its months within reason, the moderation meeting on or
    after the returns are due, and a month with an audit kept."""

    def now(name: str):
        return values[name] if name in values or entry is None else getattr(entry, name)

    problems: list[FieldError | None] = []
    if entry is None or now("template_family_id") != entry.template_family_id:
        problems.append(_template_problem(session, now("template_family_id")))
    if entry is None or now("lead_subgroup_id") != entry.lead_subgroup_id:
        problems.append(_subgroup_problem(session, now("lead_subgroup_id")))
    if "agency_ids" in values:
        already = {a.id for a in entry.agencies} if entry is not None else set()
        problems += _agency_problems(session, values["agency_ids"], already=already)
    first_month, repeat, occurrences = now("first_month"), now("repeat"), now("occurrences")
    problems += _schedule_problems(
        first_month,
        repeat,
        occurrences,
        today=today,
        check_start=entry is None or first_month != entry.first_month,
    )
    if now("moderation_after_days") < now("returns_due_after_days"):
        problems.append(
            FieldError(
                "moderation_after_days",
                "Must be at least as many days as the returns are due after",
            )
        )
    if entry is not None:
        kept = set(months_from(first_month, repeat, occurrences))
        lost = [o.month for o in entry.planned if o.audit_id is not None and o.month not in kept]
        if lost:
            problems.append(
                FieldError(
                    "first_month",
                    f"An audit is planned for {lost[0]:{MONTH_FORMAT}}: keep that month "
                    "in the entry's months",
                )
            )
    found = [p for p in problems if p is not None]
    if found:
        raise InvalidInput("The planned audit cannot be saved as it is.", fields=found)
    # The notes become each month's audit's description, read by every agency: planning
    # notes never need a name, a number, an address or a date of birth.
    entry_guard.refuse(session, {k: values[k] for k in ("title", "notes") if values.get(k)})


def _agencies(session: Session, agency_ids: list[int]) -> list[Agency]:
    """The agencies (checked already), by name."""
    return list(
        session.scalars(select(Agency).where(Agency.id.in_(agency_ids)).order_by(Agency.name))
    )


def _log_view(entry: ProgrammeEntry) -> dict:
    """What the audit log records of an entry."""
    return {
        "title": entry.title,
        "theme": entry.theme,
        "lead_subgroup_id": entry.lead_subgroup_id,
        "template_family_id": entry.template_family_id,
        "first_month": entry.first_month,
        "repeat": entry.repeat,
        "occurrences": entry.occurrences,
        "agency_ids": sorted(a.id for a in entry.agencies),
        "cohort_size": entry.cohort_size,
        "returns_due_after_days": entry.returns_due_after_days,
        "moderation_after_days": entry.moderation_after_days,
        "notes": entry.notes,
        "archived_at": entry.archived_at,
    }


# --- changing entries ----------------------------------------------------------------------


def create_entry(
    session: Session,
    *,
    today: date,
    title: str,
    template_family_id: int,
    first_month: date,
    repeat: Repeat = Repeat.NONE,
    occurrences: int = 1,
    theme: str = "",
    lead_subgroup_id: int | None = None,
    agency_ids: list[int] | None = None,
    cohort_size: int | None = None,
    returns_due_after_days: int = 21,
    moderation_after_days: int = 35,
    notes: str = "",
) -> ProgrammeEntry:
    """Add a planned audit to the programme: its template must have a published version,
    its lead subgroup and agencies must be active, and its months within reason."""
    values = {
        "template_family_id": template_family_id,
        "lead_subgroup_id": lead_subgroup_id,
        "agency_ids": agency_ids or [],
        "first_month": first_month,
        "repeat": repeat,
        "occurrences": occurrences,
        "returns_due_after_days": returns_due_after_days,
        "moderation_after_days": moderation_after_days,
        "title": title,
        "notes": notes,
    }
    _check(session, values, today=today, entry=None)
    entry = ProgrammeEntry(
        title=title,
        theme=theme,
        lead_subgroup_id=lead_subgroup_id,
        template_family_id=template_family_id,
        first_month=first_month,
        repeat=repeat,
        occurrences=occurrences,
        agencies=_agencies(session, agency_ids or []),
        cohort_size=cohort_size,
        returns_due_after_days=returns_due_after_days,
        moderation_after_days=moderation_after_days,
        notes=notes,
    )
    session.add(entry)
    session.flush()
    auditlog.record(
        session,
        action="programme_entry.create",
        object_type="programme_entry",
        object_id=entry.id,
        after={k: v for k, v in _log_view(entry).items() if v is not None},
    )
    return get_entry(session, entry_id=entry.id)


def require_live(entry: ProgrammeEntry) -> None:
    if entry.archived_at is not None:
        raise StateError(f"{entry.title} has been archived, so it can no longer be changed.")


def update_entry(
    session: Session, *, entry: ProgrammeEntry, changes: dict, today: date
) -> ProgrammeEntry:
    """Change an entry. A month that already has an audit must stay in its months; a
    first month left as it was is not checked against today again."""
    require_live(entry)
    _check(session, changes, today=today, entry=entry)
    kept = set(
        months_from(
            changes.get("first_month", entry.first_month),
            changes.get("repeat", entry.repeat),
            changes.get("occurrences", entry.occurrences),
        )
    )
    with auditlog.changing(
        session,
        entry,
        action="programme_entry.update",
        object_type="programme_entry",
        view=_log_view,
    ):
        for key, value in changes.items():
            if key == "agency_ids":
                entry.agencies = _agencies(session, value)
            else:
                setattr(entry, key, value)
        # Months that have left the schedule and never had an audit go with it.
        for occurrence in list(entry.planned):
            if occurrence.month not in kept and occurrence.audit_id is None:
                session.delete(occurrence)
    session.expire(entry)
    return get_entry(session, entry_id=entry.id)


def archive_entry(session: Session, *, entry: ProgrammeEntry) -> ProgrammeEntry:
    """Take an entry out of the year's programme: no more audits are made for it. The
    audits already made stay as they are."""
    require_live(entry)
    with auditlog.changing(
        session,
        entry,
        action="programme_entry.archive",
        object_type="programme_entry",
        view=_log_view,
    ):
        entry.archived_at = utcnow()
    return entry


# --- the audit for a month -----------------------------------------------------------------


def _month_in(entry: ProgrammeEntry, month: date) -> date:
    if month not in months_of(entry):
        raise NotFound(f"{entry.title} has no audit planned for {month:{MONTH_FORMAT}}.")
    return month


def planned_cohort_size(session: Session, *, audit_id: int) -> int | None:
    """How many cases the programme plans to draw for this audit, if it is a month of an
    entry that says (the planning page offers it as how many to draw)."""
    return session.scalar(
        select(ProgrammeEntry.cohort_size)
        .join(ProgrammeOccurrence, ProgrammeOccurrence.entry_id == ProgrammeEntry.id)
        .where(ProgrammeOccurrence.audit_id == audit_id)
    )


def occurrence_for(entry: ProgrammeEntry, month: date) -> ProgrammeOccurrence | None:
    return next((o for o in entry.planned if o.month == month), None)


def audit_title(entry: ProgrammeEntry, month: date) -> str:
    """A repeating entry's audits are told apart by their month."""
    if entry.repeat == Repeat.NONE:
        return entry.title
    return f"{entry.title} - {month:{MONTH_FORMAT}}"


def _description(entry: ProgrammeEntry, month: date) -> str:
    lines = [f"Planned from the year's programme for {month:{MONTH_FORMAT}}."]
    if entry.cohort_size:
        lines.append(f"Cohort: draw {entry.cohort_size} cases.")
    if entry.notes:
        lines.append(entry.notes)
    return "\n\n".join(lines)


def _claim(session: Session, entry: ProgrammeEntry, month: date, audit_id: int) -> None:
    """Record ``audit_id`` as the month's audit, or Conflict if the month has one: the
    unique constraint on (entry, month) settles two made at once."""
    occurrence = occurrence_for(entry, month)
    if occurrence is not None and occurrence.audit_id is not None:
        raise Conflict(
            f"{entry.title} already has an audit for {month:{MONTH_FORMAT}}.",
            fields=[FieldError("month", "Already has an audit")],
        )
    try:
        with session.begin_nested():
            if occurrence is None:
                entry.planned.append(ProgrammeOccurrence(month=month, audit_id=audit_id))
            else:
                occurrence.audit_id = audit_id
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"{entry.title} already has an audit for {month:{MONTH_FORMAT}}.",
            fields=[FieldError("month", "Already has an audit")],
        ) from None


@dataclass(frozen=True)
class Planned:
    """An audit made from the programme."""

    audit_id: int
    title: str
    entry_id: int
    month: date


def plan_audit(session: Session, *, entry: ProgrammeEntry, month: date) -> Planned:
    """Make the month's audit now, planned, for an admin to confirm: the entry's
    template (its newest published version), title, theme, lead subgroup and the
    agencies still active, returns due and the moderation meeting the entry's days
    after the 1st of the month. Conflict if the month has an audit already."""
    require_live(entry)
    _month_in(entry, month)
    if (found := occurrence_for(entry, month)) is not None and found.audit_id is not None:
        raise Conflict(
            f"{entry.title} already has an audit for {month:{MONTH_FORMAT}}.",
            fields=[FieldError("month", "Already has an audit")],
        )
    version = published_version(session, entry.template_family_id)
    subgroup = entry.lead_subgroup
    audit = audits.create_audit(
        session,
        template_version_id=version.id,
        title=audit_title(entry, month),
        theme=entry.theme,
        description=_description(entry, month),
        lead_subgroup_id=subgroup.id if subgroup is not None and subgroup.active else None,
        returns_due_on=month + timedelta(days=entry.returns_due_after_days),
        moderation_meeting_on=month + timedelta(days=entry.moderation_after_days),
        agency_ids=[a.id for a in entry.agencies if a.active],
    )
    _claim(session, entry, month, audit.id)
    auditlog.record(
        session,
        action="programme_entry.plan",
        object_type="programme_entry",
        object_id=entry.id,
        after={"month": month, "audit_id": audit.id},
    )
    return Planned(audit.id, audit.title, entry.id, month)


def link_audit(session: Session, *, entry: ProgrammeEntry, month: date, audit_id: int) -> Audit:
    """Record an audit already made as the month's: one not yet linked to any month of
    the programme."""
    require_live(entry)
    _month_in(entry, month)
    audit = session.get(Audit, audit_id)
    if audit is None:
        raise InvalidInput(
            f"There is no audit with id {audit_id}.",
            fields=[FieldError("audit_id", f"There is no audit with id {audit_id}")],
        )
    linked = session.scalar(
        select(ProgrammeOccurrence).where(ProgrammeOccurrence.audit_id == audit_id)
    )
    if linked is not None:
        raise Conflict(
            f"{audit.title} is already in the programme.",
            fields=[FieldError("audit_id", "Already the audit of another month")],
        )
    _claim(session, entry, month, audit.id)
    auditlog.record(
        session,
        action="programme_entry.link",
        object_type="programme_entry",
        object_id=entry.id,
        after={"month": month, "audit_id": audit.id},
    )
    return audits.get_audit(session, audit_id=audit.id, actor=SYSTEM)
