"""The demo's part of the year's programme: each of the demo's audits as the planned
audit it was made for, and the monthly Front Door audit for a year, its first month
the demo's Front Door audit. No audit is made here: the months still to come show as
not yet planned, to be planned on schedule or now."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.audits.models import Audit, Child
from app.programme import calendar, service
from app.programme.models import ProgrammeEntry, Repeat

# The demo's monthly audit of referrals from schools (app/demo.py) starts the monthly
# entry; every other audit of the demo is a one-off entry of its own.
FRONT_DOOR = "Front Door referrals"
FRONT_DOOR_TITLE = "Front Door referrals audit"
FRONT_DOOR_COHORT = 10
FRONT_DOOR_MONTHS = 12


def _month(audit: Audit) -> date:
    """The month the audit was planned for: its returns fall due three weeks in."""
    if audit.returns_due_on is None:
        return calendar.month_of(audit.created_at.date())
    return calendar.month_of(audit.returns_due_on - timedelta(days=21))


def _days(audit: Audit, month: date) -> tuple[int, int]:
    """Its returns' due date and moderation meeting as days after the 1st of its month
    (the entry's defaults where it has none)."""
    returns = 21
    if audit.returns_due_on is not None:
        returns = min(max((audit.returns_due_on - month).days, 0), 365)
    moderation = max(35, returns)
    if audit.moderation_meeting_on is not None:
        moderation = min(max((audit.moderation_meeting_on - month).days, returns), 730)
    return returns, moderation


def _entry(
    session: Session,
    audit: Audit,
    *,
    today: date,
    title: str,
    first_month: date,
    repeat: Repeat = Repeat.NONE,
    occurrences: int = 1,
    cohort_size: int | None,
) -> ProgrammeEntry:
    returns, moderation = _days(audit, first_month)
    entry = service.create_entry(
        session,
        today=today,
        title=title[:180],
        theme=audit.theme,
        lead_subgroup_id=audit.lead_subgroup_id,
        template_family_id=audit.template_version.family_id,
        first_month=first_month,
        repeat=repeat,
        occurrences=occurrences,
        agency_ids=[a.id for a in audit.agencies if a.active],
        cohort_size=cohort_size,
        returns_due_after_days=returns,
        moderation_after_days=moderation,
    )
    service.link_audit(session, entry=entry, month=first_month, audit_id=audit.id)
    return entry


def load_demo_programme(session: Session, *, today: date) -> list[ProgrammeEntry]:
    """The demo partnership's programme, from the audits it already holds."""
    made = list(
        session.scalars(
            select(Audit)
            .options(joinedload(Audit.template_version), selectinload(Audit.agencies))
            .order_by(Audit.id)
        )
    )
    children = dict(
        session.execute(select(Child.audit_id, func.count()).group_by(Child.audit_id)).all()
    )
    entries = []
    for audit in made:
        month = _month(audit)
        if audit.title.startswith(FRONT_DOOR):
            entries.append(
                _entry(
                    session,
                    audit,
                    today=today,
                    title=FRONT_DOOR_TITLE,
                    first_month=month,
                    repeat=Repeat.MONTHLY,
                    occurrences=FRONT_DOOR_MONTHS,
                    cohort_size=FRONT_DOOR_COHORT,
                )
            )
            continue
        count = children.get(audit.id)
        entries.append(
            _entry(
                session,
                audit,
                today=today,
                title=audit.title,
                first_month=month,
                cohort_size=min(count, 200) if count else None,
            )
        )
    return entries
