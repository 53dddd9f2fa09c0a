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

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def utcnow() -> datetime:
    """This instant, timezone-aware, in UTC (what the database stores)."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in England."""
    return utcnow().astimezone(LONDON).date()
