"""What a trend figure is, whatever it shows: its columns and plain values (for the
spreadsheet's typed cells), the same values worded as a ``Table`` (for the page and
any printed document), its chart's data and its headline sentence; and the one rule
for small counts that every figure follows.

Values are plain: a whole number (a count), a float from 0 to 1 (a share, shown as a
percentage), a pair of them (a share's 95% interval: two cells in a spreadsheet), a
date, text, or None (nothing to show). A count not shown is text:
"fewer than N" or "not shown". ``cell_text`` words a value as the table shows it, so
the spreadsheet's numbers and the printed table's words can be compared one for one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from app.access.policy import Actor, Via
from app.formatting import format_date, interval, number, percentage
from app.identify import suppress
from app.tables import Cell, Table
from app.trends.periods import Bucket, By

# "mixed": a column of several kinds (a comparison's), each value read by its type.
Kind = Literal["text", "count", "share", "interval", "date", "mixed"]
Value = str | int | float | date | tuple[float, float] | None
FIGURES: tuple[Kind, ...] = ("count", "share", "interval", "mixed")  # aligned right


@dataclass(frozen=True)
class Filters:
    """What a trend covers. The dates are the period (both included; left out, see
    app/trends/periods.py); ``by`` cuts it into years or quarters. ``theme`` is the
    audit's theme as written, ``subgroup_id`` its lead subgroup, ``template_id`` a
    template family (every version), ``key_area`` a key area's title or "overall"
    (the overall grade), as in the moderation analytics."""

    date_from: date | None = None
    date_to: date | None = None
    by: By = "year"
    agency_id: int | None = None
    theme: str | None = None
    subgroup_id: int | None = None
    template_id: int | None = None
    key_area: str | None = None


@dataclass(frozen=True)
class Column:
    heading: str
    kind: Kind = "count"
    width: int = 14  # in characters, in the spreadsheet


@dataclass(frozen=True)
class Chart:
    """The data of one chart in templates/_macros/charts.html: ``kind`` names the macro
    ("grouped_bars": ``categories`` and ``series`` of {"name", "values"};
    "stacked_bars": ``categories`` the levels and ``rows`` of {"label", "values", "n"};
    "interval_dots": ``rows`` of {"label", "estimate", "low", "high", "n"})."""

    kind: Literal["grouped_bars", "stacked_bars", "interval_dots"]
    title: str
    categories: tuple[str, ...] = ()
    series: tuple[dict, ...] = ()
    rows: tuple[dict, ...] = ()


@dataclass(frozen=True)
class Figure:
    """One figure: ``key`` a stable slug, ``rows`` its plain values in ``columns``'
    order, ``table`` the same rows worded (the first column each row's header)."""

    key: str
    heading: str
    headline: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Value, ...], ...]
    table: Table
    chart: Chart | None = None
    notes: tuple[str, ...] = ()
    suppressed: bool = False  # some count is shown as "fewer than N" or "not shown"


@dataclass(frozen=True)
class Trends:
    """Every figure for the filters (their dates filled in), in order."""

    filters: Filters
    date_from: date
    date_to: date
    buckets: tuple[Bucket, ...]
    threshold: int
    figures: tuple[Figure, ...] = ()
    notes: tuple[str, ...] = ()

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


def cell_text(value: Value, kind: Kind) -> str:
    """A value as the table shows it: a count with thousands separated, a share (a
    float: every float here is one) as a whole percentage, an interval as "31% to 86%",
    a date as 5 June 2026, nothing as a dash."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, tuple):
        return interval(value, as_percentage=True)
    if isinstance(value, float) or kind == "share":
        return percentage(value)
    return number(value)


def figure(
    key: str,
    heading: str,
    headline: str,
    columns: Iterable[Column],
    rows: Iterable[tuple[Value, ...]],
    *,
    chart: Chart | None = None,
    notes: Iterable[str] = (),
) -> Figure:
    """A figure whose table words its rows (``cell_text``)."""
    columns, rows = tuple(columns), tuple(rows)
    suppressed = any(
        hidden(v) and c.kind != "text" for row in rows for v, c in zip(row, columns, strict=True)
    )
    notes = tuple(notes) + ((SUPPRESSED_NOTE,) if suppressed else ())
    table = Table(
        caption=heading,
        head=tuple(Cell(c.heading, numeric=c.kind in FIGURES) for c in columns),
        rows=tuple(
            tuple(
                Cell(cell_text(v, c.kind), numeric=i > 0 and c.kind in FIGURES)
                for i, (v, c) in enumerate(zip(row, columns, strict=True))
            )
            for row in rows
        ),
        notes=notes,
    )
    return Figure(key, heading, headline, columns, rows, table, chart, notes, suppressed)


# --- small counts ------------------------------------------------------------------------

SUPPRESSED_NOTE = (
    "Counts shown as \u201cfewer than\u201d a number, or \u201cnot shown\u201d, are left out "
    "because so few could let people be recognised, or because the others would give "
    "them away."
)


def hidden(value: Value) -> bool:
    """Whether a value is a count not shown: "fewer than N" or "not shown"."""
    return isinstance(value, str) and (
        value == suppress.NOT_SHOWN or value.startswith(suppress.fewer_than(0)[:-1])
    )


@dataclass(frozen=True)
class Count:
    """How many, and whose: the agencies they are about (None: no agency, such as a
    reader not signed in)."""

    n: int = 0
    agency_ids: frozenset[int | None] = frozenset()

    def __add__(self, other: Count) -> Count:
        return Count(self.n + other.n, self.agency_ids | other.agency_ids)


def counted(agency_id: int | None, n: int = 1) -> Count:
    return Count(n, frozenset({agency_id}))


@dataclass(frozen=True)
class Line:
    """A line of counts with its total, as a viewer may see them."""

    parts: dict[str, Value]
    total: Value
    withheld: bool = False  # the total, or the whole line, would give a small count away

    @property
    def hidden(self) -> bool:
        return any(isinstance(v, str) for v in (*self.parts.values(), self.total))


class Viewer:
    """Who is looking, for the small-count rule (as app.moderation.analytics.Viewer): the
    partnership-wide roles and the service itself see every count; anyone else sees a
    count from 1 to ``threshold`` - 1 only when it is wholly their own agency's, and
    other counts of its line are hidden with it so that none can be worked out from the
    line's total (app.identify.suppress)."""

    def __init__(self, actor: Actor, threshold: int, *, outside: bool = False) -> None:
        """``outside``: the figures are for readers outside every agency (a published
        document), so small counts are "fewer than N" whoever draws them."""
        self.actor, self.threshold = actor, threshold
        self.wide = not outside and (actor.partnership_wide or actor.via == Via.SYSTEM)

    def owns(self, count: Count) -> bool:
        own = self.actor.agency_id
        return own is not None and count.n > 0 and count.agency_ids <= {own}

    def small(self, count: Count) -> bool:
        return not self.wide and 0 < count.n < self.threshold and not self.owns(count)

    def one(self, count: Count) -> Value:
        """A count on its own (no total beside it)."""
        return suppress.fewer_than(self.threshold) if self.small(count) else count.n

    def line(self, parts: Mapping[str, Count], total: Count | None = None) -> Line:
        """The parts of a line and its total (their sum unless given: findings with two
        themes count under both), as this viewer may see them."""
        total = total if total is not None else sum(parts.values(), Count())
        fewer = suppress.fewer_than(self.threshold)
        small = {key for key, c in parts.items() if self.small(c)}
        if self.small(total):
            # The total is hidden too: nothing can be worked out from it.
            alone: dict[str, Value] = {k: (fewer if k in small else c.n) for k, c in parts.items()}
            return Line(alone, fewer)
        others, withheld = suppress.complementary(
            {key: c.n for key, c in parts.items()},
            small,
            threshold=self.threshold,
            may_hide=lambda key: not self.owns(parts[key]),
        )
        shown: dict[str, Value] = {
            k: fewer if k in small else suppress.NOT_SHOWN if k in others else c.n
            for k, c in parts.items()
        }
        return Line(shown, suppress.NOT_SHOWN if withheld else total.n, withheld)

    def share(self, part: Value, total: Value) -> float | None:
        """``part`` of ``total`` when both are shown and the total is not zero."""
        if isinstance(part, int) and isinstance(total, int) and total:
            return part / total
        return None


def shown_sum(values: Iterable[Value]) -> int | None:
    """The sum of counts, or None if any is not shown."""
    found = list(values)
    if any(not isinstance(v, int) for v in found):
        return None
    return sum(v for v in found if isinstance(v, int))


def not_shown(keys: Iterable[str]) -> dict[str, Value]:
    return dict.fromkeys(keys, suppress.NOT_SHOWN)


@dataclass
class Grid:
    """Counts by (row key, bucket label), added up as rows are read."""

    cells: dict[tuple[str, str], Count] = field(default_factory=dict)

    def add(self, key: str, bucket: str, count: Count) -> None:
        self.cells[(key, bucket)] = self.cells.get((key, bucket), Count()) + count

    def get(self, key: str, bucket: str) -> Count:
        return self.cells.get((key, bucket), Count())
