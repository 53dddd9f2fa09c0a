"""Templates as Excel workbooks (app/audit_templates/sheets.py): a workbook with every
feature imports as the same template its YAML file gives, exports back cell for cell,
and each problem is named by its sheet, row and column and its field. Workbooks are
built in memory with openpyxl."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from app.audit_templates import files, parts, service, sheets
from app.audit_templates.models import TemplateStatus, TemplateVersion
from app.config import get_settings
from app.db import make_sessionmaker
from app.errors import InvalidInput
from audit_tools.cli import app as cli_app
from tests.helpers.audit_templates import API, create_draft, import_yaml, new_content, publish
from tests.helpers.sessions import engine_on

XLSX = {"Content-Type": sheets.MEDIA_TYPE}
NOON = datetime(2026, 3, 9, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


EVERY_FEATURE_YAML = """\
format: case-audit-template/1
name: Exploitation and missing
slug: exploitation-and-missing
theme: Child exploitation
description: |-
  Multi-agency audit of the response to children at risk of exploitation.
  Read the whole file before grading.
method: JTAI
overall_grade: true
evidence_boxes:
  - box: went_well
    label: What worked for the child
    required: true
  - box: impact_on_child
    label: The difference for the child
scale:
  name: Red, amber, green (local)
  levels:
    - code: G
      label: Green
      description: Good practice.
    - code: A
      label: Amber
    - code: R
      label: Red
      description: Needs to improve urgently.
key_areas:
  - title: Identification of risk
    description: From the first concern to the assessment of risk.
    questions:
      - prompt: Was the risk of exploitation identified promptly?
        type: yes_no
        key: risk_identified
        not_applicable: Not applicable
        guidance: Look for the date of the first concern.
      - prompt: What was the level of risk?
        type: single_choice
        key: risk_level
        options: [High, Medium, Low, Not known or unclear]
        not_applicable: Not assessed
        condition: {question: risk_identified, answers: ["yes"]}
      - prompt: Was the case referred to MARAC?
        type: yes_partly_no
        required: false
        condition: {question: risk_level, answers: [High, Medium]}
  - title: Help and protection
    graded: false
    questions:
      - prompt: How many agencies were involved?
        type: integer
        minimum: 0
        maximum: 30
      - prompt: Hours of direct work a week
        type: number
        required: false
        minimum: 0.5
        maximum: 40
      - prompt: When was the child last seen?
        type: date
        not_in_future: true
        within_audit_period: true
      - prompt: Why was the risk unclear?
        type: free_text
        required: false
        condition: {question: risk_level, answers: [Not known or unclear, not_applicable]}
case_questions:
  - prompt: What difference has the multi-agency response made for this child?
    type: free_text
    guidance: |-
      Think about the child's safety.
      And about their voice.
  - prompt: Was the child's voice heard throughout?
    type: yes_partly_no
    not_applicable: Child too young
    condition: {question: risk_identified, answers: ["yes", not_applicable]}
"""

HEADINGS = sheets.COLUMNS["Questions"]


def every_feature_sheets() -> dict[str, list[tuple]]:
    """The same template as EVERY_FEATURE_YAML, laid out as the export writes it."""
    return {
        "Template": [
            ("Setting", "Value"),
            ("Name", "Exploitation and missing"),
            ("Slug", "exploitation-and-missing"),
            ("Theme", "Child exploitation"),
            (
                "Description",
                "Multi-agency audit of the response to children at risk of exploitation.\n"
                "Read the whole file before grading.",
            ),
            ("Method", "JTAI"),
            ("Overall grade", "Yes"),
            ("Scale name", "Red, amber, green (local)"),
        ],
        "Questions": [
            HEADINGS,
            (
                "Identification of risk",
                "Was the risk of exploitation identified promptly?",
                "Yes or no",
                None,
                "Yes",
                "Look for the date of the first concern.",
                "Not applicable",
                "risk_identified",
            ),
            (
                "Identification of risk",
                "What was the level of risk?",
                "One choice from a list",
                "High\nMedium\nLow\nNot known or unclear",
                "Yes",
                None,
                "Not assessed",
                "risk_level",
                "risk_identified is yes",
            ),
            (
                "Identification of risk",
                "Was the case referred to MARAC?",
                "Yes, partly or no",
                None,
                "No",
                None,
                None,
                None,
                "risk_level is High or Medium",
            ),
            (
                "Help and protection",
                "How many agencies were involved?",
                "A whole number",
                None,
                "Yes",
                None,
                None,
                None,
                None,
                0,
                30,
            ),
            (
                "Help and protection",
                "Hours of direct work a week",
                "A number",
                None,
                "No",
                None,
                None,
                None,
                None,
                0.5,
                40,
            ),
            (
                "Help and protection",
                "When was the child last seen?",
                "A date",
                None,
                "Yes",
                *[None] * 6,
                "not in the future; within the audit period",
            ),
            (
                "Help and protection",
                "Why was the risk unclear?",
                "Free text",
                None,
                "No",
                None,
                None,
                None,
                'risk_level is "Not known or unclear" or not_applicable',
            ),
            (
                "Whole case",
                "What difference has the multi-agency response made for this child?",
                "Free text",
                None,
                "Yes",
                "Think about the child's safety.\nAnd about their voice.",
            ),
            (
                "Whole case",
                "Was the child's voice heard throughout?",
                "Yes, partly or no",
                None,
                "Yes",
                None,
                "Child too young",
                None,
                "risk_identified is yes or not_applicable",
            ),
        ],
        "Key areas": [
            ("Title", "Description", "Graded"),
            (
                "Identification of risk",
                "From the first concern to the assessment of risk.",
                "Yes",
            ),
            ("Help and protection", None, "No"),
        ],
        "Scale": [
            ("Code", "Label", "Description"),
            ("G", "Green", "Good practice."),
            ("A", "Amber"),
            ("R", "Red", "Needs to improve urgently."),
        ],
        "Evidence boxes": [
            ("Box", "Label", "Required"),
            ("What went well", "What worked for the child", "Yes"),
            ("The impact on the child", "The difference for the child", "No"),
        ],
    }


def workbook(layout: dict[str, list[tuple]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in layout.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


EVERY_FEATURE = workbook(every_feature_sheets())


def cells(data: bytes) -> dict[str, list[tuple]]:
    """Every sheet's cell values, row by row, without blank cells at the ends of rows."""
    book = load_workbook(io.BytesIO(data))
    found = {}
    for sheet in book.worksheets:
        rows = []
        for row in sheet.iter_rows(values_only=True):
            values = list(row)
            while values and values[-1] is None:
                values.pop()
            rows.append(tuple(values))
        found[sheet.title] = rows
    return found


def import_xlsx(client, data: bytes):
    return client.post(f"{API}/templates/import-workbook", content=data, headers=XLSX)


def export_xlsx(client, version_id: int) -> bytes:
    r = client.get(f"{API}/template-versions/{version_id}/export", params={"format": "xlsx"})
    assert r.status_code == 200, r.text
    return r.content


def content(db, version_id: int) -> dict:
    version = service.get_version(db, version_id=version_id)
    return parts.content_of(version).model_dump()


def without_names(found: dict) -> dict:
    return {k: v for k, v in found.items() if k not in ("name", "slug")}


class TestImport:
    def test_the_workbook_reads_as_its_yaml_file_does(self):
        assert sheets.read_workbook(EVERY_FEATURE) == files.parse(EVERY_FEATURE_YAML)

    def test_every_feature_imports_via_the_api_as_the_same_template_as_yaml(self, client, db):
        r = import_xlsx(client, EVERY_FEATURE)
        assert r.status_code == 201, r.text
        v = r.json()
        assert (v["name"], v["status"], v["number"]) == ("Exploitation and missing", "draft", 1)
        assert [k["graded"] for k in v["key_areas"]] == [True, False]
        assert [q["prompt"][:4] for q in v["case_questions"]] == ["What", "Was "]
        assert [(b["box"], b["required"]) for b in v["evidence_box_list"]] == [
            ("went_well", True),
            ("impact_on_child", False),
        ]
        as_yaml = EVERY_FEATURE_YAML.replace("exploitation-and-missing", "in-yaml").replace(
            "name: Exploitation and missing", "name: In YAML"
        )
        r = import_yaml(client, as_yaml)
        assert r.status_code == 201, r.text
        assert without_names(content(db, v["id"])) == without_names(content(db, r.json()["id"]))

    def test_every_feature_imports_via_the_service(self, db):
        version = sheets.import_workbook(db, EVERY_FEATURE)
        assert version.status == TemplateStatus.DRAFT and version.number == 1
        expected = files.parse(EVERY_FEATURE_YAML).model_dump(exclude={"format"})
        got = parts.content_of(version).model_dump()
        # The file's answers are stored as a return stores them; all else as given.
        assert got == expected
        assert service.publish(db, version=version).status == TemplateStatus.PUBLISHED

    def test_a_workbook_sent_without_its_media_type_is_still_read(self, client):
        r = client.post(
            f"{API}/templates/import",
            content=EVERY_FEATURE,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert r.status_code == 201, r.text

    def test_the_forgiving_spellings(self):
        layout = {
            "template": [("Name", "Forgiving")],
            " QUESTIONS ": [
                ("key area", "QUESTION", "type", "options", "required", "dates"),
                ("Referral", "Prompt?", "yes_partly_no", None, "y"),
                (None, "How?", "single choice", "Phone; Email", True),
                (None, "When?", "date", None, "FALSE", "Not in future"),
                ("whole case", "Difference?", "free text"),
            ],
            "Sheet2": [],
        }
        found = sheets.read_workbook(workbook(layout))
        assert found.name == "Forgiving" and found.evidence_boxes is True
        (area,) = found.key_areas
        assert [q.type.value for q in area.questions] == ["yes_partly_no", "single_choice", "date"]
        assert area.questions[1].options == ["Phone", "Email"]
        assert [q.required for q in area.questions] == [True, True, False]
        assert area.questions[2].not_in_future and not area.questions[2].within_audit_period
        assert [q.prompt for q in found.case_questions] == ["Difference?"]

    def test_a_starting_scale_by_name_and_no_boxes(self):
        layout = every_feature_sheets()
        layout["Template"] = [("Name", "Starting scale"), ("Scale", "rag")]
        del layout["Scale"]
        layout["Evidence boxes"] = [("Box", "Label", "Required")]
        found = sheets.read_workbook(workbook(layout))
        assert found.scale is not None and found.scale.name == "Red, amber, green"
        assert found.evidence_boxes is False


class TestExport:
    def test_xlsx_export_reads_back_as_the_same_content(self, client, db):
        v = import_xlsx(client, EVERY_FEATURE).json()
        r = client.get(f"{API}/template-versions/{v['id']}/export?format=xlsx")
        assert r.status_code == 200
        assert r.headers["content-type"] == sheets.MEDIA_TYPE
        assert r.headers["content-disposition"] == (
            'attachment; filename="exploitation-and-missing-v1.xlsx"'
        )
        read = sheets.read_workbook(r.content).model_dump(exclude={"format"})
        assert read == content(db, v["id"])

    def test_exporting_an_imported_workbook_gives_the_same_cells(self, client):
        v = import_xlsx(client, EVERY_FEATURE).json()
        assert cells(export_xlsx(client, v["id"])) == cells(EVERY_FEATURE)

    def test_the_yaml_export_of_an_imported_workbook_is_the_yaml(self, client):
        v = import_xlsx(client, EVERY_FEATURE).json()
        r = client.get(f"{API}/template-versions/{v['id']}/export")
        assert r.headers["content-type"].startswith("application/yaml")
        assert files.parse(r.text) == files.parse(EVERY_FEATURE_YAML)

    def test_export_then_import_is_the_next_version_with_identical_content(self, client, db):
        v1 = publish(client, import_xlsx(client, EVERY_FEATURE).json()["id"])
        r = import_xlsx(client, export_xlsx(client, v1["id"]))
        assert r.status_code == 201, r.text
        v2 = r.json()
        assert (v2["template_id"], v2["number"]) == (v1["template_id"], 2)
        assert content(db, v2["id"]) == content(db, v1["id"])

    def test_each_shipped_template_round_trips_through_a_workbook(self, db):
        for path in files.library_files():
            version = files.import_text(db, text=path.read_text(encoding="utf-8"))
            data = sheets.write_workbook(version)
            read = sheets.read_workbook(data)
            assert read.model_dump(exclude={"format"}) == parts.content_of(version).model_dump()
            assert read == files.parse(files.export_text(version)), path.name
            assert cells(sheets.workbook_of(read)) == cells(data), path.name

    def test_a_plain_draft_exports_with_the_default_boxes_and_no_box_sheet(self, client, db):
        v = create_draft(client, name="Plain")
        data = export_xlsx(client, v["id"])
        assert list(cells(data)) == ["Template", "Questions", "Key areas", "Scale"]
        assert sheets.read_workbook(data).model_dump(exclude={"format"}) == content(db, v["id"])

    def test_unknown_format_is_422(self, client):
        v = create_draft(client, name="Format")
        r = client.get(f"{API}/template-versions/{v['id']}/export?format=csv")
        assert r.status_code == 422

    def test_a_key_area_titled_whole_case_cannot_be_a_workbook(self, client):
        body = new_content(name="Whole case title")
        body["key_areas"][0]["title"] = "Whole case"
        v = create_draft(client, body)
        r = client.get(f"{API}/template-versions/{v['id']}/export?format=xlsx")
        assert r.status_code == 409
        assert "Whole case" in r.json()["detail"]

    def test_the_api_document_declares_both_formats(self, client):
        document = client.get("/openapi.json").json()
        paths = document["paths"]
        body = paths[f"{API}/templates/import"]["post"]["requestBody"]["content"]
        assert set(body) == {"application/yaml"}
        body = paths[f"{API}/templates/import-workbook"]["post"]["requestBody"]["content"]
        assert set(body) == {sheets.MEDIA_TYPE}
        export = document["paths"][f"{API}/template-versions/{{version_id}}/export"]["get"]
        assert set(export["responses"]["200"]["content"]) == {
            "application/yaml",
            sheets.MEDIA_TYPE,
        }
        (param,) = [p for p in export["parameters"] if p["name"] == "format"]
        assert param["schema"]["enum"] == ["yaml", "xlsx"]


def changed(change) -> bytes:
    layout = every_feature_sheets()
    change(layout)
    return workbook(layout)


def set_cell(sheet: str, row: int, column: str, value):
    """Change one cell of the every-feature layout (row as Excel numbers it)."""

    def change(layout):
        rows = layout[sheet]
        headings = list(rows[0])
        index = headings.index(column) if column in headings else ord(column) - ord("A")
        values = list(rows[row - 1]) + [None] * (len(headings) + 1)
        values[index] = value
        rows[row - 1] = tuple(values)

    return change


def with_sheet(name: str, rows: list[tuple]):
    def change(layout):
        layout[name] = rows

    return change


def without_sheet(name: str):
    def change(layout):
        del layout[name]

    return change


def add_row(sheet: str, row: tuple):
    def change(layout):
        layout[sheet].append(row)

    return change


# (change, field, place): each problem's field and where its message says it is.
PROBLEMS = [
    (
        set_cell("Questions", 3, "Required", "Maybe"),
        "key_areas[0].questions[1].required",
        "Questions sheet, row 3, column Required",
    ),
    (
        set_cell("Questions", 2, "Type", "Essay"),
        "key_areas[0].questions[0].type",
        "Questions sheet, row 2, column Type",
    ),
    (
        set_cell("Questions", 2, "Type", None),
        "key_areas[0].questions[0].type",
        "Questions sheet, row 2, column Type",
    ),
    (
        set_cell("Questions", 2, "Options", "Yes\nNo"),
        "key_areas[0].questions[0]",
        "Questions sheet, row 2",
    ),
    (
        set_cell("Questions", 4, "Asked when", "if the risk is high"),
        "key_areas[0].questions[2].condition",
        "Questions sheet, row 4, column Asked when",
    ),
    (
        set_cell("Questions", 4, "Asked when", "risk_level is Severe"),
        "key_areas[0].questions[2].condition.answers[0]",
        "Questions sheet, row 4, column Asked when",
    ),
    (
        set_cell("Questions", 4, "Asked when", "nothing_earlier is yes"),
        "key_areas[0].questions[2].condition.question",
        "Questions sheet, row 4, column Asked when",
    ),
    (
        set_cell("Questions", 5, "Minimum", "none"),
        "key_areas[1].questions[0].minimum",
        "Questions sheet, row 5, column Minimum",
    ),
    (
        set_cell("Questions", 5, "Minimum", 2.5),
        "key_areas[1].questions[0]",
        "Questions sheet, row 5",
    ),
    (
        set_cell("Questions", 7, "Dates", "next week"),
        "key_areas[1].questions[2].not_in_future",
        "Questions sheet, row 7, column Dates",
    ),
    (
        set_cell("Questions", 8, "Question", None),
        "key_areas[1].questions[3].prompt",
        "Questions sheet, row 8, column Question",
    ),
    (set_cell("Questions", 1, "M", "Colour"), "file", "Questions sheet, row 1, column M"),
    (set_cell("Questions", 9, "N", "stray"), "file", "Questions sheet, row 9, column N"),
    (
        set_cell("Questions", 3, "Key area", "Help and protection"),
        "key_areas[0]",
        "Questions sheet, row 4, column Key area",
    ),
    (
        set_cell("Key areas", 3, "Graded", "Sometimes"),
        "key_areas[1].graded",
        "Key areas sheet, row 3, column Graded",
    ),
    (
        add_row("Key areas", ("Planning", "No questions yet")),
        "key_areas",
        "Key areas sheet, row 4, column Title",
    ),
    (
        add_row("Key areas", ("Whole case",)),
        "key_areas",
        "Key areas sheet, row 4, column Title",
    ),
    (set_cell("Scale", 3, "Code", "G"), "scale", "Scale sheet"),
    (
        set_cell("Scale", 3, "Label", None),
        "scale.levels[1].label",
        "Scale sheet, row 3, column Label",
    ),
    (
        set_cell("Evidence boxes", 2, "Box", "What went badly"),
        "evidence_boxes[0].box",
        "Evidence boxes sheet, row 2, column Box",
    ),
    (
        set_cell("Evidence boxes", 3, "Required", "Perhaps"),
        "evidence_boxes[1].required",
        "Evidence boxes sheet, row 3, column Required",
    ),
    (
        set_cell("Template", 7, "B", "Maybe"),
        "overall_grade",
        "Template sheet, row 7, column Value",
    ),
    (add_row("Template", ("Colour", "Red")), "file", "Template sheet, row 9, column A"),
    (set_cell("Template", 2, "B", None), "name", "Template sheet, row 2, column Value"),
    (without_sheet("Template"), "name", "Template sheet"),
    (set_cell("Template", 8, "B", None), "scale.name", "Template sheet"),
    (add_row("Template", ("Scale", "ofsted")), "scale", "Template sheet, row 9, column Value"),
    (with_sheet("Notes", [("Remember to check",)]), "file", "Workbook"),
    (without_sheet("Questions"), "file", "Workbook"),
    (with_sheet("Questions", [("Key area", "Question")]), "file", "Questions sheet, row 1"),
    (with_sheet("Questions", [HEADINGS]), "key_areas", "Questions sheet"),
]


class TestImportErrors:
    @pytest.mark.parametrize(
        ("change", "field", "place"),
        PROBLEMS,
        ids=[
            "required not yes or no",
            "unknown type",
            "no type",
            "options on yes/no",
            "unreadable condition",
            "condition answer not an option",
            "condition on no earlier key",
            "minimum not a number",
            "whole number with a fraction",
            "unknown date rule",
            "no prompt",
            "unknown column heading",
            "value in a column without heading",
            "key area's questions apart",
            "graded not yes or no",
            "key area without questions",
            "key area titled whole case",
            "scale codes twice",
            "level without label",
            "unknown box",
            "box required not yes or no",
            "overall grade not yes or no",
            "unknown setting",
            "blank name",
            "no template sheet",
            "scale sheet without scale name",
            "starting scale and scale sheet",
            "unknown sheet",
            "no questions sheet",
            "no type column",
            "no questions",
        ],
    )
    def test_each_problem_is_422_naming_its_sheet_row_column_and_field(
        self, client, change, field, place
    ):
        r = import_xlsx(client, changed(change))
        assert r.status_code == 422, r.text
        errors = r.json()["errors"]
        assert any(e["field"] == field and e["message"].startswith(place + ":") for e in errors), (
            errors
        )

    def test_every_problem_is_reported_at_once(self, client):
        data = changed(
            lambda layout: [
                set_cell("Questions", 2, "Type", "Essay")(layout),
                set_cell("Questions", 3, "Required", "Maybe")(layout),
                set_cell("Scale", 3, "Label", None)(layout),
            ]
        )
        r = import_xlsx(client, data)
        assert r.status_code == 422
        assert r.json()["detail"] == "The workbook has 3 problems."
        assert [e["field"] for e in r.json()["errors"]] == [
            "key_areas[0].questions[0].type",
            "key_areas[0].questions[1].required",
            "scale.levels[1].label",
        ]

    @pytest.mark.parametrize(
        "data",
        [
            b"",
            b"format: case-audit-template/1\nname: x\n",
            b"PK\x03\x04 not really a zip",
            bytes(range(256)) * 8,
        ],
        ids=["empty", "yaml", "zip header only", "noise"],
    )
    def test_bytes_that_are_not_a_workbook_are_422(self, client, data):
        r = import_xlsx(client, data)
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == ["file"]
        assert "Excel workbook" in r.json()["detail"]

    def test_a_zip_that_is_not_a_workbook_is_422(self, client):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("hello.txt", "hello")
        r = import_xlsx(client, buffer.getvalue())
        assert r.status_code == 422, r.text
        assert "Excel workbook" in r.json()["detail"]

    def test_a_workbook_over_1_mb_is_422(self, client):
        r = import_xlsx(client, EVERY_FEATURE + b"\0" * 1_000_000)
        assert r.status_code == 422, r.text
        assert "1 MB" in r.json()["detail"]

    def test_a_workbook_that_unpacks_too_big_is_422(self, client):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 40_000_000)
        assert len(buffer.getvalue()) < 1_000_000
        r = import_xlsx(client, buffer.getvalue())
        assert r.status_code == 422, r.text
        assert "too big" in r.json()["detail"]

    def test_a_sheet_of_more_than_2000_rows_is_422(self, client):
        rows = [("Referral", f"Question {n}?", "Free text") for n in range(2_001)]
        r = import_xlsx(client, changed(lambda layout: layout["Questions"].extend(rows)))
        assert r.status_code == 422, r.text
        (error,) = r.json()["errors"]
        assert error["field"] == "file"
        assert error["message"].startswith("Questions sheet, row 2002:")

    def test_refused_workbooks_create_nothing(self, client):
        before = client.get(f"{API}/templates").json()["total"]
        for data in (b"PK\x03\x04", changed(set_cell("Questions", 2, "Type", "Essay"))):
            assert import_xlsx(client, data).status_code == 422
        assert client.get(f"{API}/templates").json()["total"] == before

    def test_read_workbook_raises_invalid_input(self):
        with pytest.raises(InvalidInput) as caught:
            sheets.read_workbook(changed(set_cell("Questions", 3, "Required", "Maybe")))
        assert [f.field for f in caught.value.fields] == ["key_areas[0].questions[1].required"]


class TestConditions:
    @pytest.mark.parametrize(
        ("text", "answers"),
        [
            ("risk_level is High", ["High"]),
            ("risk_level IS High OR medium", ["High", "medium"]),
            ('risk_level is "Phone or email" or Letter', ["Phone or email", "Letter"]),
            ('risk_level is "Said ""or"" twice"', ['Said "or" twice']),
            ('risk_level is The "plan" or Oregon', ['The "plan"', "Oregon"]),
        ],
    )
    def test_conditions_are_read_and_written_back(self, text, answers):
        condition = sheets.parse_condition(text)
        assert condition == {"question": "risk_level", "answers": answers}
        assert sheets.parse_condition(sheets.condition_text(condition)) == condition

    @pytest.mark.parametrize("text", ["risk_level", "risk level is High", 'x is "open'])
    def test_unreadable_conditions_are_none(self, text):
        assert sheets.parse_condition(text) is None


@pytest.fixture
def cli_db(migrated_database, monkeypatch, tmp_path):
    """A new migrated database of its own for the command line (as tests/audit_tools)."""
    url = migrated_database()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("AUDIT_AUDIT_CHECKPOINT_PATH", str(tmp_path / "audit-checkpoints.log"))
    get_settings.cache_clear()
    with engine_on(url) as engine:
        yield make_sessionmaker(engine)
    get_settings.cache_clear()


class TestCommandLine:
    def run(self, *args: str):
        return CliRunner().invoke(cli_app, list(args), catch_exceptions=False)

    def test_import_and_export_a_workbook(self, cli_db, tmp_path):
        source = tmp_path / "every-feature.xlsx"
        source.write_bytes(EVERY_FEATURE)
        result = self.run("templates", "import", str(source))
        assert result.exit_code == 0, result.output
        with cli_db() as session:
            version_id = session.scalar(select(TemplateVersion.id))
        out = tmp_path / "exported.xlsx"
        result = self.run("templates", "export", str(version_id), "-o", str(out))
        assert result.exit_code == 0, result.output
        assert cells(out.read_bytes()) == cells(EVERY_FEATURE)
        by_option = tmp_path / "by-option"
        result = self.run(
            "templates", "export", str(version_id), "--format", "xlsx", "-o", str(by_option)
        )
        assert result.exit_code == 0, result.output
        assert cells(by_option.read_bytes()) == cells(EVERY_FEATURE)
        result = self.run("templates", "export", str(version_id), "--format", "xlsx")
        assert result.exit_code == 1 and "--output" in result.output

    def test_a_bad_workbook_is_refused_with_its_places(self, cli_db, tmp_path):
        source = tmp_path / "bad.xlsx"
        source.write_bytes(changed(set_cell("Questions", 3, "Required", "Maybe")))
        result = self.run("templates", "import", str(source))
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "row 3, column Required" in result.output and "Nothing was saved" in result.output
