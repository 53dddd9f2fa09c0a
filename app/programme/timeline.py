"""The programme as the year sees it: each month's audits, where each stands, and which
are late against the plan. The page, the API and the spreadsheet all read this.

An audit is late when its moderation meeting day has passed and its moderation has not
started (it is still planned or open), or when its month has ended and it is still not
planned (no audit yet) or only planned (never opened).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.policy import Actor, audit_scope
from app.audits.models import Audit, AuditStatus
from app.programme import calendar, service
from app.programme.models import ProgrammeEntry, ProgrammeOccurrence

NOT_PLANNED = "not_planned"
STATE_LABELS = {
    NOT_PLANNED: "Not yet planned",
    AuditStatus.PLANNED.value: "Planned",
    AuditStatus.OPEN.value: "Open",
    AuditStatus.MODERATION.value: "In moderation",
    AuditStatus.LEARNING.value: "In learning",
    AuditStatus.CLOSED.value: "Closed",
}
STATE_TAGS = {
    NOT_PLANNED: "govuk-tag--grey",
    AuditStatus.PLANNED.value: "govuk-tag--light-blue",
    AuditStatus.OPEN.value: "govuk-tag--blue",
    AuditStatus.MODERATION.value: "govuk-tag--purple",
    AuditStatus.LEARNING.value: "govuk-tag--turquoise",
    AuditStatus.CLOSED.value: "govuk-tag--green",
}
LATE_TAG = "govuk-tag--red"
NOT_STARTED_MODERATION = frozenset({AuditStatus.PLANNED, AuditStatus.OPEN})


def is_late(
    month: date, status: AuditStatus | None, moderation_meeting_on: date | None, today: date
) -> bool:
    """Whether a month's audit is late against the plan on ``today``."""
    if (
        status in NOT_STARTED_MODERATION
        and moderation_meeting_on is not None
        and moderation_meeting_on < today
    ):
        return True
    month_over = today >= calendar.add_months(month, 1)
    return month_over and status in (None, AuditStatus.PLANNED)


@dataclass(frozen=True)
class Slot:
    """One month of one entry, as the programme shows it."""

    entry: ProgrammeEntry
    month: date
    audit_id: int | None = None
    audit_title: str = ""
    status: AuditStatus | None = None
    moderation_meeting_on: date | None = None
    late: bool = False
    # Whether the reader may open the audit (an agency's people see their agency's).
    visible: bool = False

    @property
    def state(self) -> str:
        return self.status.value if self.status is not None else NOT_PLANNED

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass
class YearView:
    year: int
    months: list[date]
    slots: list[Slot] = field(default_factory=list)
    entries: list[ProgrammeEntry] = field(default_factory=list)

    def by_month(self) -> list[tuple[date, list[Slot]]]:
        return [(m, [s for s in self.slots if s.month == m]) for m in self.months]

    @property
    def late_count(self) -> int:
        return sum(s.late for s in self.slots)


def _audits(session: Session, audit_ids: set[int]) -> dict[int, Any]:
    if not audit_ids:
        return {}
    rows = session.execute(
        select(Audit.id, Audit.title, Audit.status, Audit.moderation_meeting_on).where(
            Audit.id.in_(sorted(audit_ids))
        )
    )
    return {row.id: row for row in rows}


def _visible(session: Session, actor: Actor, audit_ids: set[int]) -> set[int]:
    if not audit_ids:
        return set()
    return set(
        session.scalars(select(Audit.id).where(Audit.id.in_(sorted(audit_ids)), audit_scope(actor)))
    )


def slots_of(
    session: Session,
    *,
    actor: Actor,
    entries: list[ProgrammeEntry],
    months: list[date] | None,
    today: date,
) -> list[Slot]:
    """Each month of ``entries`` among ``months`` (every one of each: None), by month
    then title, with its audit: two queries, however many entries."""
    wanted = set(months) if months is not None else None
    linked: dict[tuple[int, date], int] = {
        (o.entry_id, o.month): o.audit_id
        for entry in entries
        for o in entry.planned
        if o.audit_id is not None
    }
    found = _audits(session, set(linked.values()))
    visible = _visible(session, actor, set(found))
    slots = []
    for entry in entries:
        for month in calendar.months_of(entry):
            if wanted is not None and month not in wanted:
                continue
            audit_id = linked.get((entry.id, month))
            audit = found.get(audit_id) if audit_id is not None else None
            if audit is None:
                slots.append(Slot(entry, month, late=is_late(month, None, None, today)))
                continue
            slots.append(
                Slot(
                    entry,
                    month,
                    audit_id=audit.id,
                    audit_title=audit.title,
                    status=audit.status,
                    moderation_meeting_on=audit.moderation_meeting_on,
                    late=is_late(month, audit.status, audit.moderation_meeting_on, today),
                    visible=audit.id in visible,
                )
            )
    slots.sort(key=lambda s: (s.month, s.entry.title.lower(), s.entry.id))
    return slots


def year_view(session: Session, *, actor: Actor, year: int, today: date) -> YearView:
    """The year's programme: its live entries with a month in the year, and each of
    those months with its audit and whether it is late; and the months of entries
    archived since that have an audit (what ran stays on the record)."""
    months = calendar.year_months(year)

    def in_year(entries: list[ProgrammeEntry]) -> list[ProgrammeEntry]:
        return [e for e in entries if any(m in months for m in calendar.months_of(e))]

    entries = in_year(service.list_entries(session))
    archived = in_year(service.list_entries(session, archived=True))
    view = YearView(year, months, entries=entries)
    view.slots = slots_of(session, actor=actor, entries=entries, months=months, today=today)
    if archived:
        ran = slots_of(session, actor=actor, entries=archived, months=months, today=today)
        view.slots = sorted(
            view.slots + [s for s in ran if s.audit_id is not None],
            key=lambda s: (s.month, s.entry.title.lower(), s.entry.id),
        )
    return view


def entry_slots(
    session: Session, *, actor: Actor, entries: list[ProgrammeEntry], today: date
) -> list[Slot]:
    """Every month of each of ``entries``, whatever the year."""
    return slots_of(session, actor=actor, entries=entries, months=None, today=today)


@dataclass(frozen=True)
class Waiting:
    audit_id: int
    title: str
    month: date
    returns_due_on: date | None


def waiting(session: Session) -> list[Waiting]:
    """Audits made from the programme still waiting to be confirmed (planned, not yet
    opened), soonest month first."""
    rows = session.execute(
        select(Audit.id, Audit.title, ProgrammeOccurrence.month, Audit.returns_due_on)
        .join(Audit, Audit.id == ProgrammeOccurrence.audit_id)
        .where(Audit.status == AuditStatus.PLANNED)
        .order_by(ProgrammeOccurrence.month, Audit.title, Audit.id)
    )
    return [Waiting(*row) for row in rows]
