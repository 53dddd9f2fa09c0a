"""The trend figures as a spreadsheet (XLSX) and as CSV: each figure's own columns and
rows, its plain values typed (counts and shares as numbers, a share formatted as a
percentage, dates as dates), a count not shown as its words. A share's 95% interval,
one cell in the figure's table ("31% to 86%"), is two here: its low and its high end
(in a comparison's column of several kinds, its words).

The XLSX has a first sheet saying what the figures cover, with each figure's headline
and notes, then a sheet per figure with a bold frozen header and an autofilter, as the
action tracker's export (app/actions/export.py). The CSV holds every figure one after
another, each with its header row, a "Figure" column first (UTF-8 with a BOM, so Excel
reads it as such; text a spreadsheet would run as a formula is quoted).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date

import xlsxwriter

from app.formatting import csv_cell, format_date
from app.trends.figures import Column, Figure, Trends, Value, cell_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
SHEET_NAME = re.compile(r"[\[\]:*?/\\']")


def filename(trends: Trends, extension: str) -> str:
    return f"trends-{trends.date_from.isoformat()}-to-{trends.date_to.isoformat()}.{extension}"


def columns(figure: Figure) -> list[tuple[str, Column]]:
    """The spreadsheet's columns: the figure's, an interval's as two."""
    found: list[tuple[str, Column]] = []
    for column in figure.columns:
        if column.kind == "interval":
            found += [(f"{column.heading} (low)", column), (f"{column.heading} (high)", column)]
        else:
            found.append((column.heading, column))
    return found


def cells(figure: Figure, row: tuple[Value, ...]) -> list[Value]:
    """A row's values for the spreadsheet: an interval's two ends apart."""
    found: list[Value] = []
    for value, column in zip(row, figure.columns, strict=True):
        if column.kind == "interval":
            low, high = value if isinstance(value, tuple) else (None, None)
            found += [low, high]
        elif isinstance(value, tuple):  # an interval in a column of several kinds
            found.append(cell_text(value, column.kind))
        else:
            found.append(value)
    return found


def _sheet_names(trends: Trends) -> Iterator[str]:
    used = {"About these figures"}
    for figure in trends.figures:
        base = SHEET_NAME.sub("", figure.heading)[:31].strip()
        name, n = base, 2
        while name.lower() in {u.lower() for u in used}:
            suffix = f" ({n})"
            name, n = base[: 31 - len(suffix)] + suffix, n + 1
        used.add(name)
        yield name


def about(trends: Trends) -> list[str]:
    """What the figures cover, in words: the first sheet's lines."""
    f = trends.filters
    picked = [
        f"{label}: {value}"
        for label, value in (
            ("Agency id", f.agency_id),
            ("Theme", f.theme),
            ("Lead subgroup id", f.subgroup_id),
            ("Template id", f.template_id),
            ("Key area", f.key_area),
        )
        if value
    ]
    return [
        f"From {format_date(trends.date_from)} to {format_date(trends.date_to)}, by {f.by}.",
        *(picked or ["Every agency, theme, subgroup, template and key area."]),
        *trends.notes,
        f"Counts from 1 to {trends.threshold - 1} are shown only to those who may see them.",
    ]


def to_xlsx(
    trends: Trends, *, title: str = "Trends across audits and years", lines: list[str] | None = None
) -> bytes:
    """A sheet saying what the figures cover (``title``, then ``lines``, or ``about``'s),
    then a sheet per figure."""
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    top = workbook.add_format({"valign": "top"})
    wrapped = workbook.add_format({"valign": "top", "text_wrap": True})
    share = workbook.add_format({"valign": "top", "num_format": "0%"})
    day = workbook.add_format({"valign": "top", "num_format": "d mmmm yyyy", "align": "left"})
    first = workbook.add_worksheet("About these figures")
    first.set_column(0, 0, 40)
    first.set_column(1, 1, 100)
    first.write_string(0, 0, title, bold)
    line = 1
    for text in lines if lines is not None else about(trends):
        first.write_string(line, 0, text, wrapped)
        line += 1
    line += 1
    first.write_string(line, 0, "Figure", bold)
    first.write_string(line, 1, "In short", bold)
    for figure in trends.figures:
        line += 1
        first.write_string(line, 0, figure.heading, wrapped)
        first.write_string(line, 1, " ".join((figure.headline, *figure.notes)), wrapped)
    for figure, name in zip(trends.figures, _sheet_names(trends), strict=True):
        sheet = workbook.add_worksheet(name)
        heads = columns(figure)
        for col, (heading, column) in enumerate(heads):
            sheet.write_string(0, col, heading, bold)
            sheet.set_column(col, col, column.width)
        for index, row in enumerate(figure.rows, start=1):
            for col, value in enumerate(cells(figure, row)):
                if value is None:
                    sheet.write_blank(index, col, None, top)
                elif isinstance(value, str):
                    sheet.write_string(index, col, value, top)
                elif isinstance(value, date):
                    sheet.write_datetime(index, col, value, day)
                elif isinstance(value, float):
                    sheet.write_number(index, col, value, share)
                else:
                    sheet.write_number(index, col, value, top)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(len(figure.rows), 1), len(heads) - 1)
    workbook.close()
    return out.getvalue()


def _csv_value(value: Value, column: Column) -> str:
    if isinstance(value, float):
        return f"{round(value * 100, 1):g}%"
    return csv_cell(value)


def to_csv(trends: Trends) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for n, figure in enumerate(trends.figures):
        if n:
            writer.writerow([])
        heads = columns(figure)
        writer.writerow(["Figure", *(heading for heading, _c in heads)])
        for row in figure.rows:
            values = cells(figure, row)
            writer.writerow(
                [
                    csv_cell(figure.heading),
                    *(_csv_value(v, c) for v, (_h, c) in zip(values, heads, strict=True)),
                ]
            )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
