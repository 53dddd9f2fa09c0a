"""The period a trend covers and the buckets it is cut into.

A partnership's year runs from April to March (app/programme/calendar.py): "year"
buckets are those years, named "2025-26"; "quarter" buckets are their quarters, named
by their months, "Apr-Jun 2026" to "Jan-Mar 2027". Buckets keep the calendar's
edges, and the period's first and last are cut to the period (the figures say so).

Left out, the period is the partnership year before the current one and the current
one to today: two years, the second to date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from app.errors import FieldError, InvalidInput
from app.programme import calendar

By = Literal["quarter", "year"]
BY: tuple[By, ...] = ("year", "quarter")
# A longer period is refused: forty quarters already make a long table.
LONGEST_YEARS = 10


@dataclass(frozen=True)
class Bucket:
    """A year or a quarter, cut to the period: ``start`` and ``end`` (both included)."""

    label: str
    start: date
    end: date
    partial: bool = False  # the period starts or ends inside it

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end


def default_period(today: date) -> tuple[date, date]:
    """The year before the current partnership year, and the current one to ``today``."""
    return date(calendar.year_of(today) - 1, calendar.YEAR_STARTS, 1), today


def year_label(year: int) -> str:
    """2025 -> "2025-26"."""
    return f"{year}-{(year + 1) % 100:02d}"


def quarter_label(first: date) -> str:
    """The quarter starting on ``first`` (a 1st of April, July, October or January)."""
    last = calendar.add_months(first, 2)
    return f"{first:%b}-{last:%b} {last.year}"


def check_period(date_from: date, date_to: date) -> None:
    """Refuse a period that ends before it starts, is longer than ``LONGEST_YEARS``, or
    is outside the years the service's dates are (1900 to 2100, as its date fields)."""
    for name, day in (("date_from", date_from), ("date_to", date_to)):
        if not 1900 <= day.year <= 2100:
            raise InvalidInput(
                "The period must be between 1900 and 2100.",
                fields=[FieldError(name, "Enter a year from 1900 to 2100")],
            )
    if date_to < date_from:
        raise InvalidInput(
            "The period must end on or after the day it starts.",
            fields=[FieldError("date_to", "The end date must be on or after the start date")],
        )
    # Ten years from the first day, that day included (and no later than any calendar).
    if date_to.year - date_from.year > LONGEST_YEARS or (
        date_to.year - date_from.year == LONGEST_YEARS
        and (date_to.month, date_to.day) >= (date_from.month, date_from.day)
    ):
        raise InvalidInput(
            f"The period can be at most {LONGEST_YEARS} years.",
            fields=[FieldError("date_to", f"The period can be at most {LONGEST_YEARS} years long")],
        )


def buckets(date_from: date, date_to: date, by: By) -> list[Bucket]:
    """The years or quarters from the one holding ``date_from`` to the one holding
    ``date_to``, in order, each cut to the period."""
    step = 12 if by == "year" else 3
    first = date(calendar.year_of(date_from), calendar.YEAR_STARTS, 1)
    while calendar.add_months(first, step) <= date_from:
        first = calendar.add_months(first, step)
    found = []
    while first <= date_to:
        after = calendar.add_months(first, step)
        last = after - timedelta(days=1)
        label = year_label(first.year) if by == "year" else quarter_label(first)
        start, end = max(first, date_from), min(last, date_to)
        found.append(Bucket(label, start, end, partial=(start, end) != (first, last)))
        first = after
    return found


def bucket_of(day: date, found: list[Bucket]) -> Bucket | None:
    """The bucket ``day`` falls in, or None outside the period."""
    return next((b for b in found if b.holds(day)), None)
