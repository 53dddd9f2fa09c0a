"""The year's programme as a spreadsheet (XLSX): one row per month of each entry.

As the action tracker's export (app/actions/export.py): real types (the month an Excel
date, the cohort size and audit id numbers), a bold frozen header and an autofilter.
The programme names no child.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date

import xlsxwriter

from app.programme.timeline import Slot, YearView

# (header, width in characters, value)
COLUMNS: list[tuple[str, int, Callable[[Slot], object]]] = [
    ("Month", 12, lambda s: s.month),
    ("Title", 50, lambda s: s.entry.title),
    ("Theme", 30, lambda s: s.entry.theme),
    ("Lead subgroup", 24, lambda s: s.entry.lead_subgroup.name if s.entry.lead_subgroup else ""),
    ("Template", 40, lambda s: s.entry.template_family.name),
    ("Agencies", 60, lambda s: "; ".join(a.name for a in s.entry.agencies)),
    ("Cohort size", 12, lambda s: s.entry.cohort_size),
    ("Status", 16, lambda s: s.label),
    ("Late", 8, lambda s: "Yes" if s.late else "No"),
    ("Audit ID", 10, lambda s: s.audit_id if s.visible else None),
]
HEADERS = [header for header, _width, _value in COLUMNS]
MONTH_FORMAT = "mmm yyyy"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def filename(year: int) -> str:
    return f"programme-{year}-{(year + 1) % 100:02d}.xlsx"


def to_xlsx(view: YearView) -> bytes:
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = workbook.add_worksheet(f"Programme {view.year} to {view.year + 1}")
    bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    months = workbook.add_format({"num_format": MONTH_FORMAT, "align": "left", "valign": "top"})
    top = workbook.add_format({"valign": "top"})
    for col, (header, width, _value) in enumerate(COLUMNS):
        sheet.write_string(0, col, header, bold)
        sheet.set_column(col, col, width)
    for index, slot in enumerate(view.slots, start=1):
        for col, (_header, _width, value) in enumerate(COLUMNS):
            cell = value(slot)
            if cell is None or cell == "":
                sheet.write_blank(index, col, None, top)
            elif isinstance(cell, date):
                sheet.write_datetime(index, col, cell, months)
            elif isinstance(cell, int):
                sheet.write_number(index, col, cell, top)
            else:
                sheet.write_string(index, col, str(cell), top)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(view.slots), len(COLUMNS) - 1)
    workbook.close()
    return out.getvalue()
