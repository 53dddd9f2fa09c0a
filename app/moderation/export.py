"""What moderation shows as a spreadsheet (XLSX) and as CSV, with the same columns:
one row for all grades, then one per agency and one per key area (the template's
order, the overall grade last), for each grading scale. The XLSX adds a sheet with the
headline sentences and what kappa and AC1 mean.

Built the way the action tracker's export is (app/actions/export.py): xlsxwriter with
real numbers, a bold frozen header and an autofilter; the CSV starts with a BOM so
Excel reads it as UTF-8, and a cell a spreadsheet would run as a formula is quoted.
A suppressed row carries only its label and "fewer than N". Neither names a child.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date
from typing import Literal

import xlsxwriter
from starlette.responses import Response

from app.formatting import csv_cell

Row = tuple[str, str, dict]  # (scale, breakdown, figures)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _bound(ci: list[float] | None, side: int, scale: float = 1) -> float | None:
    return None if not ci else round(ci[side] * scale, 4 if scale == 1 else 1)


def _figure(key: str, pick: Callable[[dict], object]) -> Callable[[dict], object]:
    """A figure from a row, or nothing for a suppressed row."""
    return lambda f: None if f["suppressed"] else pick(f[key])


# (header, width in characters, value from the row's figures): both formats follow it.
FIGURES: list[tuple[str, int, Callable[[dict], object]]] = [
    ("Group", 36, lambda f: f["label"]),
    ("Grades", 12, lambda f: f["shown_as"] if f["suppressed"] else f["n"]),
    ("Kept as the agency graded", 12, _figure("agreement", lambda a: a["count"])),
    ("Exact agreement (%)", 12, _figure("agreement", lambda a: _pct(a["estimate"]))),
    ("Agreement 95% CI from (%)", 12, _figure("agreement", lambda a: _bound(a["ci"], 0, 100))),
    ("Agreement 95% CI to (%)", 12, _figure("agreement", lambda a: _bound(a["ci"], 1, 100))),
    ("Changed (%)", 10, _figure("shifts", lambda s: _pct(s["changed"]["estimate"]))),
    ("Lowered (%)", 10, _figure("shifts", lambda s: _pct(s["lowered"]["estimate"]))),
    ("Raised (%)", 10, _figure("shifts", lambda s: _pct(s["raised"]["estimate"]))),
    ("Mean shift (levels)", 10, _figure("shifts", lambda s: s["mean_shift"])),
    ("Weighted kappa", 10, _figure("weighted_kappa", lambda c: c["estimate"])),
    ("Kappa 95% CI from", 10, _figure("weighted_kappa", lambda c: _bound(c["ci"], 0))),
    ("Kappa 95% CI to", 10, _figure("weighted_kappa", lambda c: _bound(c["ci"], 1))),
    ("Kappa reading", 16, _figure("weighted_kappa", lambda c: c["band"])),
    ("Gwet's AC1", 10, _figure("ac1", lambda c: c["estimate"])),
    ("AC1 95% CI from", 10, _figure("ac1", lambda c: _bound(c["ci"], 0))),
    ("AC1 95% CI to", 10, _figure("ac1", lambda c: _bound(c["ci"], 1))),
    ("AC1 reading", 16, _figure("ac1", lambda c: c["band"])),
]
# The columns: the scale and the breakdown, the figures, then the kappa's weights.
COLUMNS: list[tuple[str, int]] = [
    ("Scale", 28),
    ("Breakdown", 14),
    *[(header, width) for header, width, _value in FIGURES],
    ("Weights", 10),
]
HEADERS = [header for header, _width in COLUMNS]


MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def filename(today: date, extension: str, audit_id: int | None = None) -> str:
    which = f"audit-{audit_id}" if audit_id else "pooled"
    return f"moderation-analytics-{which}-{today.isoformat()}.{extension}"


# The files the analytics download as: a path parameter of the download routes.
FileKind = Literal["xlsx", "csv"]


def download(report: dict, extension: str, *, today: date, audit_id: int | None) -> Response:
    """The report as an attachment: ``extension`` "xlsx" or "csv"."""
    content = to_xlsx(report) if extension == "xlsx" else to_csv(report)
    name = filename(today, extension, audit_id)
    return Response(
        content,
        media_type=MEDIA_TYPES[extension],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def rows(report: dict) -> Iterator[Row]:
    for group in report["groups"]:
        yield group["scale"], "All grades", group["overall"]
        for figures in group["by_agency"]:
            yield group["scale"], "Agency", figures
        for figures in group["by_key_area"]:
            yield group["scale"], "Key area", figures


def _values(row: Row, weights: str) -> list[object]:
    scale, breakdown, figures = row
    return [scale, breakdown, *[value(figures) for _h, _w, value in FIGURES], weights]


def to_xlsx(report: dict) -> bytes:
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    top = workbook.add_format({"valign": "top"})
    wrapped = workbook.add_format({"valign": "top", "text_wrap": True})
    sheet = workbook.add_worksheet("Figures")
    for col, (header, width) in enumerate(COLUMNS):
        sheet.write_string(0, col, header, bold)
        sheet.set_column(col, col, width)
    found = list(rows(report))
    for index, row in enumerate(found, start=1):
        for col, cell in enumerate(_values(row, report["weights"])):
            if cell is None:
                sheet.write_blank(index, col, None, top)
            elif isinstance(cell, int | float):
                sheet.write_number(index, col, cell, top)
            else:
                sheet.write_string(index, col, str(cell), top)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(found), len(COLUMNS) - 1)
    words = workbook.add_worksheet("Headlines")
    words.set_column(0, 0, 100)
    words.write_string(0, 0, "What moderation shows", bold)
    for index, sentence in enumerate(report["headlines"], start=1):
        words.write_string(index, 0, sentence, wrapped)
    below = len(report["headlines"]) + 2
    words.write_string(below, 0, "What kappa and AC1 mean", bold)
    words.write_string(below + 1, 0, report["explanation"], wrapped)
    workbook.close()
    return out.getvalue()


def to_csv(report: dict) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows(report):
        writer.writerow([csv_cell(v) for v in _values(row, report["weights"])])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
