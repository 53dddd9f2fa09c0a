"""The action tracker: each filter, the counts, and the exports holding exactly the
filtered rows (typed XLSX cells, a frozen bold header, an autofilter; CSV the same),
never a child's pseudonym."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.actions.export import HEADERS
from app.agencies import service as agencies
from app.audits import cohort
from app.audits import service as audits
from app.findings.models import Theme
from tests.helpers.actions import API, TODAY, create_action, moved
from tests.helpers.factories import make_audit


def due(days: int) -> str:
    return str(TODAY + timedelta(days=days))


@pytest.fixture
def themes(db) -> dict[str, int]:
    return {t.name: t.id for t in db.scalars(select(Theme))}


@pytest.fixture
def actions(api, db, audit, first, second, themes) -> dict[str, int]:
    """Five actions in two audits, in different states, named by what they show."""
    get_safe = agencies.create_subgroup(db, name="GET SAFE")
    other = make_audit(db)
    other = audits.update_audit(db, audit=other, changes={"lead_subgroup_id": get_safe.id})
    other_agency = other.agencies[0].id
    db.commit()
    child_a = cohort.list_children(db, audit=audit)[0]

    def finding(theme: str, **about) -> int:
        r = api.post(
            f"{API}/audits/{audit.id}/findings",
            json={
                "kind": "area_for_improvement",
                "statement": "The child's wishes were not recorded.",
                "theme_ids": [themes[theme]],
                **about,
            },
        )
        assert r.status_code == 201, r.text
        return r.json()["id"]

    voice = finding("Voice of the child", child_id=child_a.id)
    recording = finding("Recording")
    made = {
        "overdue": create_action(api, audit, first.id, due_on=due(-40), finding_ids=[voice]),
        "due_soon": create_action(api, audit, second.id, due_on=due(5), finding_ids=[recording]),
        "completed": create_action(api, audit, first.id, due_on=due(-10)),
        "other_audit": create_action(api, other, other_agency, due_on=due(60)),
        "not_accepted": create_action(api, audit, second.id, due_on=due(-3)),
    }
    ids = {name: a["id"] for name, a in made.items()}
    moved(api, ids["overdue"], "agreed")
    for status in ("agreed", "in_progress"):
        moved(api, ids["completed"], status)
    moved(api, ids["completed"], "completed", evidence="Guidance issued.")
    moved(api, ids["other_audit"], "agreed")
    moved(api, ids["other_audit"], "in_progress")
    moved(api, ids["not_accepted"], "not_accepted", reason="Covered elsewhere.")
    ids["get_safe"] = get_safe.id
    ids["other_audit_id"] = other.id
    return ids


def listed(api, **params) -> list[int]:
    r = api.get(f"{API}/actions", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    return sorted(item["id"] for item in body["items"])


def ids_of(actions, *names) -> list[int]:
    return sorted(actions[n] for n in names)


class TestFilters:
    def test_no_filter_lists_everything_soonest_due_first(self, api, actions):
        items = api.get(f"{API}/actions").json()["items"]
        assert [i["id"] for i in items] == [
            actions[n] for n in ("overdue", "completed", "not_accepted", "due_soon", "other_audit")
        ]

    def test_by_audit(self, api, audit, actions):
        assert listed(api, audit_id=audit.id) == ids_of(
            actions, "overdue", "due_soon", "completed", "not_accepted"
        )

    def test_by_owning_agency(self, api, first, actions):
        assert listed(api, agency_id=first.id) == ids_of(actions, "overdue", "completed")

    def test_by_lead_subgroup(self, api, qapp, actions):
        assert listed(api, subgroup_id=actions["get_safe"]) == ids_of(actions, "other_audit")
        assert actions["other_audit"] not in listed(api, subgroup_id=qapp.id)

    def test_by_status(self, api, actions):
        assert listed(api, status="agreed") == ids_of(actions, "overdue")
        assert listed(api, status="in_progress") == ids_of(actions, "other_audit")

    def test_overdue_only(self, api, actions):
        # The completed and not accepted actions are past their dates but not overdue.
        assert listed(api, overdue="yes") == ids_of(actions, "overdue")

    def test_by_theme_of_a_linked_finding(self, api, themes, actions):
        assert listed(api, theme_id=themes["Voice of the child"]) == ids_of(actions, "overdue")
        assert listed(api, theme_id=themes["Recording"]) == ids_of(actions, "due_soon")
        assert listed(api, theme_id=themes["Consent and capacity"]) == []

    def test_filters_combine(self, api, audit, second, actions):
        assert listed(api, audit_id=audit.id, agency_id=second.id, status="proposed") == ids_of(
            actions, "due_soon"
        )

    def test_rows_say_where_each_action_stands(self, api, actions):
        rows = {i["id"]: i for i in api.get(f"{API}/actions").json()["items"]}
        overdue = rows[actions["overdue"]]
        assert (overdue["rag"], overdue["overdue_days"]) == ("red", 40)
        assert overdue["escalated_to"] == ["QAPP", "Executive"]
        assert overdue["themes"] == ["Voice of the child"]
        assert rows[actions["due_soon"]]["rag"] == "amber"
        assert rows[actions["completed"]]["rag"] == "blue"
        assert rows[actions["not_accepted"]]["rag"] == "grey"
        assert rows[actions["other_audit"]]["rag"] == "green"

    def test_a_bad_filter_is_422(self, api):
        assert api.get(f"{API}/actions", params={"status": "done"}).status_code == 422


class TestCounts:
    def test_by_status_and_agency_for_the_filtered_set(self, api, audit, first, second, actions):
        r = api.get(f"{API}/actions/counts", params={"audit_id": audit.id})
        body = r.json()
        assert body["total"] == 4
        assert body["by_status"] == {
            "proposed": 1,
            "agreed": 1,
            "in_progress": 0,
            "completed": 1,
            "impact_evidenced": 0,
            "closed": 0,
            "not_accepted": 1,
        }
        assert {a["agency_id"]: a["count"] for a in body["by_agency"]} == {
            first.id: 2,
            second.id: 2,
        }

    def test_overdue_counts(self, api, actions):
        body = api.get(f"{API}/actions/counts", params={"overdue": "true"}).json()
        assert body["total"] == 1 and body["by_status"]["agreed"] == 1


class TestExports:
    def test_xlsx_has_exactly_the_filtered_rows_typed(self, api, audit, actions):
        r = api.get(f"{API}/actions/export.xlsx", params={"audit_id": audit.id})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert 'filename="learning-actions-2027-03-01.xlsx"' in r.headers["content-disposition"]
        sheet = load_workbook(io.BytesIO(r.content)).active
        header = [c.value for c in sheet[1]]
        assert header == HEADERS
        assert all(c.font.bold for c in sheet[1])
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:M{1 + 4}"
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        assert sorted(row[0] for row in rows) == ids_of(
            actions, "overdue", "due_soon", "completed", "not_accepted"
        )
        first_row = sheet[2]
        column = {name: i for i, name in enumerate(HEADERS)}
        due_cell = first_row[column["Due date"]]
        assert due_cell.is_date and due_cell.value == datetime(2027, 1, 20)
        assert "yyyy" in due_cell.number_format
        assert first_row[column["Last update"]].is_date
        assert first_row[column["ID"]].data_type == "n"
        assert first_row[column["Overdue (days)"]].value == 40
        assert first_row[column["RAG"]].value == "Red"
        assert first_row[column["Escalated to"]].value == "QAPP; Executive"
        assert first_row[column["Themes"]].value == "Voice of the child"
        assert sheet.column_dimensions["B"].width >= 30

    def test_an_empty_export_still_has_its_header(self, api, actions):
        r = api.get(f"{API}/actions/export.xlsx", params={"status": "closed"})
        sheet = load_workbook(io.BytesIO(r.content)).active
        assert sheet.max_row == 1 and [c.value for c in sheet[1]] == HEADERS

    def test_csv_has_the_same_rows_and_columns(self, api, first, actions):
        params = {"agency_id": first.id}
        r = api.get(f"{API}/actions/export.csv", params=params)
        assert r.headers["content-type"].startswith("text/csv")
        assert r.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0] == HEADERS
        xlsx = api.get(f"{API}/actions/export.xlsx", params=params)
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        assert [int(row[0]) for row in rows[1:]] == [
            row[0] for row in sheet.iter_rows(min_row=2, values_only=True)
        ]
        assert rows[1][HEADERS.index("Due date")] == "2027-01-20"
        assert rows[1][HEADERS.index("Overdue (days)")] == "40"

    def test_no_export_names_a_child(self, api, db, audit, actions):
        pseudonyms = [c.pseudonym for c in cohort.list_children(db, audit=audit)]
        xlsx = load_workbook(io.BytesIO(api.get(f"{API}/actions/export.xlsx").content)).active
        cells = [str(v) for row in xlsx.iter_rows(values_only=True) for v in row if v]
        text = api.get(f"{API}/actions/export.csv").content.decode("utf-8-sig")
        for pseudonym in pseudonyms:
            assert not any(pseudonym in c for c in cells)
            assert pseudonym not in text

    def test_a_formula_is_never_run(self, api, audit, first):
        create_action(api, audit, first.id, title='=HYPERLINK("http://evil")', due_on=due(1))
        text = api.get(f"{API}/actions/export.csv").content.decode("utf-8-sig")
        assert "'=HYPERLINK" in text
        sheet = load_workbook(io.BytesIO(api.get(f"{API}/actions/export.xlsx").content)).active
        assert sheet.cell(2, 3).data_type == "s"


def test_the_date_helper_is_relative_to_the_fixed_clock():
    assert due(0) == str(date(2027, 3, 1))
