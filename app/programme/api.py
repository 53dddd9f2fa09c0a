from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from app import clock
from app.access.policy import Actor
from app.audits.models import AuditStatus
from app.deps import IdPath, SessionDep, transactional
from app.programme import calendar, service, timeline
from app.programme.models import ProgrammeEntry
from app.programme.schemas import (
    ProgrammeAuditOut,
    ProgrammeEntryCreate,
    ProgrammeEntryOut,
    ProgrammeEntryPatch,
    ProgrammeLink,
    ProgrammeMonthOut,
    ProgrammeYearOut,
)
from app.programme.timeline import Slot

router = APIRouter(prefix="/api/v1", tags=["the year's programme"])

Year = Annotated[
    int | None,
    Query(
        ge=2000,
        le=2098,
        description="The partnership year (April to March) by the year it starts; "
        "the year today is in when left out",
    ),
]
Month = Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


def _month_out(slot: Slot) -> ProgrammeMonthOut:
    return ProgrammeMonthOut(
        month=slot.month,
        state=slot.state,  # type: ignore[arg-type]
        late=slot.late,
        audit_id=slot.audit_id if slot.visible else None,
    )


def _entry_out(entry: ProgrammeEntry, slots: list[Slot]) -> ProgrammeEntryOut:
    return ProgrammeEntryOut(
        id=entry.id,
        title=entry.title,
        theme=entry.theme,
        lead_subgroup_id=entry.lead_subgroup_id,
        template_family_id=entry.template_family_id,
        template_name=entry.template_family.name,
        first_month=entry.first_month,
        repeat=entry.repeat,
        occurrences=entry.occurrences,
        agency_ids=[a.id for a in entry.agencies],
        cohort_size=entry.cohort_size,
        returns_due_after_days=entry.returns_due_after_days,
        moderation_after_days=entry.moderation_after_days,
        notes=entry.notes,
        created_at=entry.created_at,
        archived_at=entry.archived_at,
        months=[_month_out(s) for s in slots if s.entry.id == entry.id],
    )


def _each(session, actor: Actor, entries: list[ProgrammeEntry]) -> list[ProgrammeEntryOut]:
    slots = timeline.entry_slots(session, actor=actor, entries=entries, today=clock.today())
    return [_entry_out(entry, slots) for entry in entries]


def _one(session, actor: Actor, entry: ProgrammeEntry) -> ProgrammeEntryOut:
    return _each(session, actor, [entry])[0]


@router.get("/programme", name="api.programme.year")
@transactional
def year(session: SessionDep, actor: Actor, year: Year = None) -> ProgrammeYearOut:
    """The year's programme: each live entry with a month in the year, and each of those
    months with its audit and whether it is late."""
    today = clock.today()
    view = timeline.year_view(
        session, actor=actor, year=year or calendar.year_of(today), today=today
    )
    return ProgrammeYearOut(
        year=view.year,
        first_month=view.months[0],
        last_month=view.months[-1],
        entries=[_entry_out(e, view.slots) for e in view.entries],
    )


@router.get("/programme/entries", name="api.programme.entries")
@transactional
def entries(
    session: SessionDep,
    actor: Actor,
    archived: Annotated[bool, Query(description="The archived entries instead")] = False,
) -> list[ProgrammeEntryOut]:
    """Every entry of the programme (or every archived one), by title, with all its
    months."""
    return _each(session, actor, service.list_entries(session, archived=archived))


@router.post("/programme/entries", name="api.programme.create", status_code=status.HTTP_201_CREATED)
@transactional
def create(session: SessionDep, actor: Actor, body: ProgrammeEntryCreate) -> ProgrammeEntryOut:
    entry = service.create_entry(session, today=clock.today(), **body.model_dump())
    return _one(session, actor, entry)


@router.get("/programme/entries/{entry_id}", name="api.programme.entry")
@transactional
def entry(session: SessionDep, actor: Actor, entry_id: IdPath) -> ProgrammeEntryOut:
    return _one(session, actor, service.get_entry(session, entry_id=entry_id))


@router.patch("/programme/entries/{entry_id}", name="api.programme.update")
@transactional
def update(
    session: SessionDep, actor: Actor, entry_id: IdPath, body: ProgrammeEntryPatch
) -> ProgrammeEntryOut:
    found = service.get_entry(session, entry_id=entry_id)
    changed = service.update_entry(
        session, entry=found, changes=body.model_dump(exclude_unset=True), today=clock.today()
    )
    return _one(session, actor, changed)


@router.post("/programme/entries/{entry_id}/archive", name="api.programme.archive")
@transactional
def archive(session: SessionDep, actor: Actor, entry_id: IdPath) -> ProgrammeEntryOut:
    """No more audits are made for it; those made stay as they are."""
    found = service.get_entry(session, entry_id=entry_id)
    return _one(session, actor, service.archive_entry(session, entry=found))


@router.post(
    "/programme/entries/{entry_id}/occurrences/{month}/plan",
    name="api.programme.plan",
    status_code=status.HTTP_201_CREATED,
)
@transactional
def plan(session: SessionDep, entry_id: IdPath, month: Month) -> ProgrammeAuditOut:
    """Make the month's audit now (planned, for an admin to confirm), as the schedule
    would a few weeks before the month: 409 if the month has one."""
    found = service.get_entry(session, entry_id=entry_id)
    made = service.plan_audit(session, entry=found, month=calendar.parse_month(month))
    return ProgrammeAuditOut(
        entry_id=made.entry_id,
        month=made.month,
        audit_id=made.audit_id,
        title=made.title,
        status=AuditStatus.PLANNED,
    )


@router.post("/programme/entries/{entry_id}/occurrences/{month}/link", name="api.programme.link")
@transactional
def link(
    session: SessionDep, entry_id: IdPath, month: Month, body: ProgrammeLink
) -> ProgrammeAuditOut:
    """Record an audit already made as the month's."""
    found = service.get_entry(session, entry_id=entry_id)
    day = calendar.parse_month(month)
    audit = service.link_audit(session, entry=found, month=day, audit_id=body.audit_id)
    return ProgrammeAuditOut(
        entry_id=found.id, month=day, audit_id=audit.id, title=audit.title, status=audit.status
    )
