"""The service's one reader of the wall clock and the calendar.

Everything that needs "now" or "today" asks here, so a test can pin one day for the
whole service (``monkeypatch.setattr("app.clock.today", ...)``) and the suite can be
run with the clock a year ahead to prove that no test depends on the day it runs
(``--clock-ahead``, tests/conftest.py).

Today is the date in England (Europe/London), which is what a due date means to the
people who set it: a return due on 31 March is not overdue at 00:30 on 31 March
British Summer Time, when UTC still says 30 March. Timestamps are stored in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

# How far back the demo's history is being written (``back_by``); zero otherwise.
_back: ContextVar[timedelta] = ContextVar("clock_back", default=timedelta(0))


def utcnow() -> datetime:
    """This instant, timezone-aware, in UTC (what the database stores)."""
    return datetime.now(UTC) - _back.get()


@contextmanager
def back_by(days: int) -> Iterator[None]:
    """Within the block (and only in this thread or task), the clock reads ``days``
    earlier than it did: how the demo writes a past year's audits through the same
    services, with the dates they would have had. Not for anything a person does."""
    token = _back.set(_back.get() + timedelta(days=days))
    try:
        yield
    finally:
        _back.reset(token)


def later_by(days: int):
    """Within a ``back_by`` block, the clock ``days`` later than it reads (the demo's
    next step in its past year)."""
    return back_by(-days)


def today() -> date:
    """Today's date in England."""
    return utcnow().astimezone(LONDON).date()
