"""The programme's audits made on schedule: each month of a live entry gets its planned
audit, for an admin to confirm, once the month starts within AHEAD_DAYS, from the
courier's rounds (app/notifications/courier.py: in each web process, when a way to
send e-mail is set) or ``audit-tools programme create-due`` (cron, daily, otherwise).

A month is due from AHEAD_DAYS before it starts until it ends; a month already over
with no audit is not made after the event (the programme shows it late, and an admin
may plan it now). Each month is made in a savepoint of the round's transaction: a
month that cannot be made (its template has no published version any more) is
logged and left for the next round without undoing the others, and a month another
round made first is refused by the unique constraint on (entry, month) and skipped,
so two rounds at once (two web processes, or cron beside them) never make two audits
for one month."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.errors import AppError, Conflict
from app.programme import calendar, service
from app.programme.models import ProgrammeEntry, ProgrammeOccurrence
from app.programme.service import Planned

log = logging.getLogger(__name__)

AHEAD_DAYS = 28


def due_months(entry: ProgrammeEntry, today: date) -> list[date]:
    """The entry's months due to have their audit made on ``today``."""
    horizon = today + timedelta(days=AHEAD_DAYS)
    return [
        m for m in calendar.months_of(entry) if m <= horizon and today < calendar.add_months(m, 1)
    ]


def plan_due(session: Session, *, today: date) -> list[Planned]:
    """Make every due month's audit that is not made yet, in the caller's transaction;
    what was made, in order."""
    made_already = {
        (entry_id, month)
        for entry_id, month in session.execute(
            select(ProgrammeOccurrence.entry_id, ProgrammeOccurrence.month).where(
                ProgrammeOccurrence.audit_id.is_not(None)
            )
        )
    }
    due = [
        (entry.id, month)
        for entry in service.list_entries(session)
        for month in due_months(entry, today)
        if (entry.id, month) not in made_already
    ]
    made = []
    for entry_id, month in due:
        try:
            with session.begin_nested():
                entry = service.get_entry(session, entry_id=entry_id, fresh=True)
                made.append(service.plan_audit(session, entry=entry, month=month))
        except Conflict:
            continue  # made by another round meanwhile
        except AppError as refused:
            log.warning(
                "the programme's audit for entry %s in %s could not be made: %s %s",
                entry_id,
                calendar.month_key(month),
                refused.message,
                "; ".join(f"{f.field}: {f.message}" for f in refused.fields),
            )
        except SQLAlchemyError:
            # Left for the next round (its savepoint undone), never stopping the others.
            log.exception(
                "the programme's audit for entry %s in %s could not be made",
                entry_id,
                calendar.month_key(month),
            )
    return made


def create_due(
    factory: Callable[[], AbstractContextManager[Session]], *, today: date
) -> list[Planned]:
    """``plan_due`` in a transaction of its own, committed before returning."""
    with factory() as session:
        made = plan_due(session, today=today)
        session.commit()
    return made
