"""The programme's calendar: a partnership's year runs from April to March (year 2026 is
April 2026 to March 2027), and an entry falls in a month given by its first month, how
it repeats and how many times. Months are kept as their 1st."""

from __future__ import annotations

from datetime import date

from app.errors import FieldError, InvalidInput
from app.programme.models import ProgrammeEntry, Repeat

YEAR_STARTS = 4  # April
STEP = {Repeat.NONE: 0, Repeat.MONTHLY: 1, Repeat.QUARTERLY: 3}
MONTH_FORMAT = "%B %Y"


def add_months(month: date, count: int) -> date:
    """The 1st of the month ``count`` months after ``month``'s."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_of(day: date) -> date:
    return day.replace(day=1)


def year_of(day: date) -> int:
    """The partnership year ``day`` falls in, named by the year it starts."""
    return day.year if day.month >= YEAR_STARTS else day.year - 1


def year_months(year: int) -> list[date]:
    """Its twelve months, April to March."""
    return [add_months(date(year, YEAR_STARTS, 1), n) for n in range(12)]


def offered_months(today: date) -> list[date]:
    """The months an entry may start in: from the start of last year to the end of the
    year after next (the months must be within reason)."""
    first = date(year_of(today) - 1, YEAR_STARTS, 1)
    return [add_months(first, n) for n in range(48)]


def months_of(entry: ProgrammeEntry) -> list[date]:
    """Every month the entry falls in, in order: one for a one-off."""
    return months_from(entry.first_month, entry.repeat, entry.occurrences)


def months_from(first: date, repeat: Repeat, occurrences: int) -> list[date]:
    """The months of an entry that starts, repeats and runs so."""
    step = STEP[repeat]
    return [add_months(first, n * step) for n in range(occurrences if step else 1)]


def parse_month(text: str) -> date:
    """A month as the addresses write it, "2026-04", as its 1st."""
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a month.",
            fields=[FieldError("month", "Must be a month, as YYYY-MM")],
        ) from None


def month_key(month: date) -> str:
    """A month as the addresses write it."""
    return f"{month:%Y-%m}"


def month_label(month: date) -> str:
    """A month as people read it: April 2026."""
    return f"{month:{MONTH_FORMAT}}"
