"""How dates, times and numbers read, everywhere: pages (as Jinja filters), PDFs,
exports and the tables they share. Dates and times are shown as they are in England
(Europe/London, GMT or BST); timestamps are stored in UTC."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from app.clock import LONDON


def format_date(value: date | datetime | None, style: str = "long") -> str:
    """5 December 2026 (``style="short"``: 5 Dec 2026). A timestamp is shown as the
    day it was in England."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(LONDON).date()
    return value.strftime("%-d %b %Y" if style == "short" else "%-d %B %Y")


def format_time(value: datetime | None) -> str:
    """2:30pm, in England's time (GMT or BST): timestamps are stored in UTC."""
    if value is None:
        return ""
    local = value.astimezone(LONDON)
    return local.strftime("%-I:%M") + local.strftime("%p").lower()


def format_datetime(value: datetime | None, style: str = "long") -> str:
    """5 December 2026 at 2:30pm, in England's time."""
    if value is None:
        return ""
    return f"{format_date(value, style)} at {format_time(value)}"


def percentage(value: float | None) -> str:
    """A proportion as a whole percentage, halves rounded up (0.425 -> 43%, where
    Python's round would give 42%); nothing known is a dash."""
    if value is None:
        return "–"
    return f"{int(Decimal(str(value * 100)).quantize(Decimal(1), ROUND_HALF_UP))}%"


def number(value: float | int | None, places: int = 2) -> str:
    """A figure to ``places`` decimal places, with thousands separated; a dash if none."""
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{places}f}"


def signed(value: float | None, places: int = 2) -> str:
    """A difference with its sign always shown (+0.25, -0.50); a dash if none."""
    return "–" if value is None else f"{value:+.{places}f}"


def interval(bounds: tuple[float, float] | None, as_percentage: bool = False) -> str:
    """A confidence interval, "12% to 45%" or "0.21 to 0.64"; a dash if none."""
    if not bounds:
        return "–"
    show = percentage if as_percentage else number
    return f"{show(bounds[0])} to {show(bounds[1])}"


def plural(count: int, singular: str, many: str | None = None) -> str:
    """ "1 day", "3 days" (or ``many`` when the plural is not just an s)."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def csv_cell(value: object) -> str:
    """A spreadsheet cell as CSV text: nothing for None, a date as 2024-03-31, and text a
    spreadsheet would run as a formula (=, +, -, @, a tab or a carriage return first)
    quoted with an apostrophe. Numbers are written as they are."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text
