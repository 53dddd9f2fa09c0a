"""Tables that a page and a PDF both show, built once, in Python.

A ``Table`` holds its caption, column heads and rows of already-worded cells; the
templates only draw it (``templates/_macros/tables.html``): as GOV.UK's table on a
page, as a plain table in a printed document. So the agreement table on the
analytics page and in the subgroup report cannot drift apart again.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False


@dataclass(frozen=True)
class Table:
    caption: str
    head: tuple[Cell, ...]
    rows: tuple[tuple[Cell, ...], ...]  # each row's first cell is its header
    notes: tuple[str, ...] = field(default=())
    total: tuple[Cell, ...] = field(default=())  # a totals row, drawn last (in bold in print)
    narrow: bool = False  # a table of a column or two: in print, not the page's full width


def cells(*values: str | int, numeric_from: int = 1) -> tuple[Cell, ...]:
    """A row: the cells from ``numeric_from`` on are figures, aligned right."""
    return tuple(Cell(str(v), numeric=i >= numeric_from) for i, v in enumerate(values))
