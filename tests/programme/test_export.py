"""The year's programme as a spreadsheet, read back with openpyxl."""

from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl

from app.access.models import Role
from app.audit_templates.models import TemplateFamily
from app.programme import service
from app.programme.export import HEADERS
from app.programme.models import Repeat
from tests.programme.conftest import make_entry


def test_one_row_per_month_of_each_entry_with_real_types(db, world, browse):
    monthly = make_entry(db, world)
    once = make_entry(
        db,
        world,
        title="Voice of the child with SEND",
        theme="SEND",
        repeat=Repeat.NONE,
        occurrences=1,
        first_month=date(2026, 9, 1),
        lead_subgroup_id=None,
        agency_ids=[world.agencies[1].id],
        cohort_size=None,
    )
    made = service.plan_audit(db, entry=monthly, month=date(2026, 5, 1))
    db.commit()
    template = db.get(TemplateFamily, world.version.family_id).name
    got = browse(Role.EXECUTIVE).get("/programme/export.xlsx", params={"year": 2026})
    assert got.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(got.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert (
        list(rows[0])
        == HEADERS
        == [
            "Month",
            "Title",
            "Theme",
            "Lead subgroup",
            "Template",
            "Agencies",
            "Cohort size",
            "Status",
            "Late",
            "Audit ID",
        ]
    )
    assert len(rows) == 1 + 12 + 1
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:J14"
    by_month = {(r[0], r[1]): r for r in rows[1:]}
    april = by_month[(datetime(2026, 4, 1), "Front Door referrals audit")]
    assert april[2:] == (
        None,
        "QAPP",
        template,
        "Westshire Children's Social Care; Westshire Police",
        10,
        "Not yet planned",
        "Yes",  # April is over, and nothing was made for it
        None,
    )
    may = by_month[(datetime(2026, 5, 1), "Front Door referrals audit")]
    assert may[7:] == ("Planned", "Yes", made.audit_id)  # May is over, never opened
    september = by_month[(datetime(2026, 9, 1), once.title)]
    assert september[2:] == (
        "SEND",
        None,
        template,
        "Westshire Police",
        None,
        "Not yet planned",
        "No",
        None,
    )
    assert [r[0] for r in rows[1:]] == sorted(r[0] for r in rows[1:])


def test_the_year_today_is_in_unless_asked(db, world, browse):
    make_entry(db, world)
    got = browse(Role.ADMIN).get("/programme/export.xlsx")
    assert 'filename="programme-2026-27.xlsx"' in got.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(got.content)).active
    assert sheet.title == "Programme 2026 to 2027" and sheet.max_row == 13
    empty = browse(Role.ADMIN).get("/programme/export.xlsx", params={"year": 2030})
    assert openpyxl.load_workbook(io.BytesIO(empty.content)).active.max_row == 1
