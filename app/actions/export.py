"""The tracker's rows as a spreadsheet (XLSX) and as CSV, with the same columns.

Staff live in Microsoft 365, so the XLSX has real types (dates are Excel dates, days
overdue a number), a bold frozen header and an autofilter; the CSV starts with a BOM
so Excel reads it as UTF-8. Neither carries anything about a child.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date

import xlsxwriter

from app.actions.lifecycle import STATUS_LABELS
from app.actions.tracker import ActionRow
from app.formatting import csv_cell

# (header, width in characters, value): the one list both formats follow.
COLUMNS: list[tuple[str, int, Callable[[ActionRow], object]]] = [
    ("ID", 6, lambda r: r.id),
    ("Audit", 40, lambda r: r.audit_title),
    ("Title", 50, lambda r: r.title),
    ("Owning agency", 32, lambda r: r.owning_agency),
    ("Owner", 24, lambda r: r.owner_name),
    ("Due date", 12, lambda r: r.due_on),
    ("Status", 17, lambda r: STATUS_LABELS[r.status]),
    ("RAG", 8, lambda r: r.rag.value.capitalize()),
    ("Overdue (days)", 15, lambda r: r.overdue_days),
    ("Escalated to", 24, lambda r: "; ".join(r.escalated_to)),
    ("Themes", 40, lambda r: "; ".join(r.themes)),
    ("Success measure", 60, lambda r: r.success_measure),
    ("Last update", 12, lambda r: r.updated_on),
]
HEADERS = [header for header, _width, _value in COLUMNS]
DATE_FORMAT = "d mmm yyyy"


def filename(today: date, extension: str) -> str:
    return f"learning-actions-{today.isoformat()}.{extension}"


def to_xlsx(rows: list[ActionRow]) -> bytes:
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = workbook.add_worksheet("Learning actions")
    bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    dates = workbook.add_format({"num_format": DATE_FORMAT, "align": "left", "valign": "top"})
    top = workbook.add_format({"valign": "top"})
    for col, (header, width, _value) in enumerate(COLUMNS):
        sheet.write_string(0, col, header, bold)
        sheet.set_column(col, col, width)
    for index, row in enumerate(rows, start=1):
        for col, (_header, _width, value) in enumerate(COLUMNS):
            cell = value(row)
            if isinstance(cell, date):
                sheet.write_datetime(index, col, cell, dates)
            elif isinstance(cell, int):
                sheet.write_number(index, col, cell, top)
            else:
                sheet.write_string(index, col, str(cell), top)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(rows), len(COLUMNS) - 1)
    workbook.close()
    return out.getvalue()


def to_csv(rows: list[ActionRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([csv_cell(value(row)) for _header, _width, value in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
