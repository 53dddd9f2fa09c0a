"""A whole audit's answers (app/returns/audit_data.py): each choice and number question
counted across the submitted returns, "not applicable" and unasked questions left out
of the percentages; every return as a row of a CSV or XLSX file; only what the reader
may read; every read in the audit log; and the page that shows the counts."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import openpyxl
import pytest
import time_machine
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.auditlog import pending
from app.auditlog.models import AuditEvent
from tests.helpers.access import bearer, browse_as, token_holder
from tests.helpers.audit_templates import create_draft, publish
from tests.helpers.audits import API, add_child, create_audit, open_audit, return_ids, save_return
from tests.helpers.factories import OFSTED, make_agency
from tests.helpers.statements import statements

NOW = datetime(2026, 7, 15, 12, tzinfo=UTC)
TODAY = "2026-07-15"

CONTENT = {
    "name": "Answers across an audit",
    "theme": "Testing",
    "overall_grade": True,
    "scale": OFSTED,
    "evidence_boxes": [
        {"box": "went_well", "label": "Strengths"},
        {"box": "impact_on_child", "label": "Impact"},
    ],
    "key_areas": [
        {
            "title": "Risk",
            "graded": True,
            "questions": [
                {
                    "prompt": "Was a strategy discussion held?",
                    "type": "yes_no",
                    "not_applicable": "Not applicable",
                },
                {
                    "prompt": "How high was the risk?",
                    "type": "single_choice",
                    "key": "risk",
                    "options": ["High", "Low"],
                },
                {
                    "prompt": "Was the case referred to MARAC?",
                    "type": "yes_partly_no",
                    "condition": {"question": "risk", "answers": ["High"]},
                },
                {
                    "prompt": "How many agencies attended?",
                    "type": "integer",
                    "required": False,
                },
                {"prompt": "What did the child say?", "type": "free_text", "required": False},
            ],
        },
        {
            "title": "Planning",
            "graded": True,
            "questions": [
                {"prompt": "Was the plan timely?", "type": "yes_partly_no"},
                {
                    "prompt": "Was a review held?",
                    "type": "yes_no",
                    "required": False,
                    "not_applicable": "Not appropriate",
                },
            ],
        },
    ],
    "case_questions": [
        {"prompt": "Did the response make a difference?", "type": "yes_no"},
    ],
}

HEADER = [
    "Child",
    "Agency",
    "Status",
    "Reason not received",
    "Risk: Was a strategy discussion held?",
    "Risk: How high was the risk?",
    "Risk: Was the case referred to MARAC?",
    "Risk: How many agencies attended?",
    "Risk: What did the child say?",
    "Risk: Strengths",
    "Risk: Impact",
    "Risk: grade",
    "Planning: Was the plan timely?",
    "Planning: Was a review held?",
    "Planning: Strengths",
    "Planning: Impact",
    "Planning: grade",
    "The whole case: Did the response make a difference?",
    "Overall grade",
]
GOOD, RI = "Good", "Requires improvement to be good"
# Each return's row as the open audit's files show it (no moderated grades yet).
ROWS = {
    ("Child A", "Police"): [
        "Child A", "Police", "Submitted", "",
        "Yes", "High", "Partly", "3", "'-- said very little", "'=SUM(A1)", "Seen weekly", GOOD,
        "Yes", "Not appropriate", "", "", GOOD,
        "Yes", GOOD,
    ],
    ("Child A", "School"): [
        "Child A", "School", "Submitted", "",
        "Not applicable", "Low", "", "5", "", "", "", RI,
        "No", "", "", "", RI,
        "No", RI,
    ],
    ("Child B", "Police"): [
        "Child B", "Police", "Submitted", "",
        "No", "High", "No", "", "", "", "", GOOD,
        "Partly", "", "", "", GOOD,
        "Yes", GOOD,
    ],
    ("Child B", "School"): [
        "Child B", "School", "In progress", "",
        "Yes", "", "", "", "", "", "", "",
        "", "", "", "", "",
        "", "",
    ],
    ("Child C", "Police"): [
        "Child C", "Police", "Not started", "",
        "", "", "", "", "", "", "", "",
        "", "", "", "", "",
        "", "",
    ],
}  # fmt: skip


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def world(client, db, monkeypatch):
    """An open audit of the template above: Child A and Child B with the police and the
    school, Child C with the police alone. Three returns submitted, one in progress,
    one not started. Then the API is signed in for real (tokens below)."""
    client.event_hooks["request"].append(lambda _request: db.expire_all())
    version = create_draft(client, CONTENT)
    publish(client, version["id"])
    risk, planning = version["key_areas"]
    strategy, level, marac, attended, said = (q["id"] for q in risk["questions"])
    timely, review = (q["id"] for q in planning["questions"])
    (difference,) = (q["id"] for q in version["case_questions"])
    police = client.post(f"{API}/agencies", json={"name": "Police", "kind": "police"}).json()
    school = client.post(f"{API}/agencies", json={"name": "School", "kind": "education"}).json()
    audit = create_audit(
        client,
        version["id"],
        title="Answers audit",
        returns_due_on="2026-08-14",
        agency_ids=[police["id"], school["id"]],
    )
    both = [police["id"], school["id"]]
    a = return_ids(add_child(client, audit["id"], "Child A", both))
    b = return_ids(add_child(client, audit["id"], "Child B", both))
    c = return_ids(add_child(client, audit["id"], "Child C", [police["id"]]))
    open_audit(client, audit["id"])

    def answers(**given) -> list[dict]:
        ids = {
            "strategy": strategy,
            "level": level,
            "marac": marac,
            "attended": attended,
            "said": said,
            "timely": timely,
            "review": review,
            "difference": difference,
        }
        return [{"question_id": ids[name], "value": value} for name, value in given.items()]

    def graded(risk_grade: str, planning_grade: str) -> dict:
        return {
            "grades": [
                {"key_area_id": risk["id"], "level": risk_grade},
                {"key_area_id": planning["id"], "level": planning_grade},
            ],
            "overall_grade": risk_grade,
        }

    save_return(
        client,
        a[police["id"]],
        answers=answers(
            strategy="yes",
            level="High",
            marac="partly",
            attended="3",
            said="-- said very little",
            timely="yes",
            review="Not appropriate",
            difference="yes",
        ),
        evidence=[
            {"key_area_id": risk["id"], "went_well": "=SUM(A1)", "impact_on_child": "Seen weekly"}
        ],
        **graded("G", "G"),
    )
    save_return(
        client,
        a[school["id"]],
        # Low risk: the MARAC question is not asked, so it needs no answer.
        answers=answers(
            strategy="Not applicable", level="Low", attended="5", timely="no", difference="no"
        ),
        **graded("RI", "RI"),
    )
    save_return(
        client,
        b[police["id"]],
        answers=answers(strategy="no", level="High", marac="no", timely="partly", difference="yes"),
        **graded("G", "G"),
    )
    # In progress: never counted.
    save_return(client, b[school["id"]], submit=False, answers=answers(strategy="yes"))
    monkeypatch.undo()  # the system, for the set-up only
    return {
        "audit": audit,
        "version": version,
        "police": police,
        "school": school,
        "returns": {"a": a, "b": b, "c": c},
        "risk": risk,
    }


def _token(db, role: Role, name: str, agency_id: int | None = None) -> dict:
    return bearer(token_holder(db, role, name, agency_id=agency_id)[1])


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _figures(body: dict) -> dict[str, dict]:
    return {q["prompt"]: q for q in body["questions"]}


def _shares(question: dict) -> list[tuple[str, int, float | None]]:
    return [(s["label"], s["count"], s["percentage"]) for s in question["answers"]]


class TestSummary:
    def test_counts_and_percentages_leave_out_not_applicable_and_unasked(self, client, db, world):
        moderator = _token(db, Role.MODERATOR, "Moderator M")
        r = client.get(f"{API}/audits/{world['audit']['id']}/answers", headers=moderator)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["audit_id"] == world["audit"]["id"] and body["returns"] == 3
        figures = _figures(body)
        # Key areas in order, then the whole case; free text is not counted.
        assert list(figures) == [
            "Was a strategy discussion held?",
            "How high was the risk?",
            "Was the case referred to MARAC?",
            "How many agencies attended?",
            "Was the plan timely?",
            "Was a review held?",
            "Did the response make a difference?",
        ]
        strategy = figures["Was a strategy discussion held?"]
        assert _shares(strategy) == [("Yes", 1, 50.0), ("No", 1, 50.0)]
        assert [s["value"] for s in strategy["answers"]] == ["yes", "no"]
        assert (strategy["asked"], strategy["answered"]) == (3, 2)
        assert (strategy["not_applicable"], strategy["not_answered"]) == (1, 0)
        assert strategy["section"] == "Risk" and strategy["key_area_id"] == world["risk"]["id"]
        assert strategy["numbers"] is None and strategy["type"] == "yes_no"
        risk = figures["How high was the risk?"]
        assert risk["key"] == "risk"
        assert _shares(risk) == [("High", 2, 66.7), ("Low", 1, 33.3)]
        # Asked only where the risk was high: the school's return does not count.
        marac = figures["Was the case referred to MARAC?"]
        assert _shares(marac) == [("Yes", 0, 0.0), ("Partly", 1, 50.0), ("No", 1, 50.0)]
        assert (marac["asked"], marac["answered"], marac["not_answered"]) == (2, 2, 0)
        attended = figures["How many agencies attended?"]
        assert attended["answers"] == [] and attended["not_answered"] == 1
        assert attended["numbers"] == {"count": 2, "minimum": 3.0, "maximum": 5.0, "mean": 4.0}
        timely = figures["Was the plan timely?"]
        assert _shares(timely) == [("Yes", 1, 33.3), ("Partly", 1, 33.3), ("No", 1, 33.3)]
        # Only "not appropriate": no percentage at all.
        review = figures["Was a review held?"]
        assert _shares(review) == [("Yes", 0, None), ("No", 0, None)]
        assert (review["not_applicable"], review["not_answered"]) == (1, 2)
        case = figures["Did the response make a difference?"]
        assert case["section"] == "The whole case" and case["key_area_id"] is None
        assert _shares(case) == [("Yes", 2, 66.7), ("No", 1, 33.3)]

    def test_an_agency_auditor_counts_only_their_own_agencys_returns(self, client, db, world):
        school = _token(db, Role.AUDITOR, "School Auditor", world["school"]["id"])
        body = client.get(f"{API}/audits/{world['audit']['id']}/answers", headers=school).json()
        assert body["returns"] == 1
        figures = _figures(body)
        assert _shares(figures["How high was the risk?"]) == [("High", 0, 0.0), ("Low", 1, 100.0)]
        assert figures["Was the case referred to MARAC?"]["asked"] == 0
        assert _shares(figures["Was the case referred to MARAC?"]) == [
            ("Yes", 0, None),
            ("Partly", 0, None),
            ("No", 0, None),
        ]


class TestFiles:
    def test_the_csv_has_every_return_the_reader_may_read(self, client, db, world):
        moderator = _token(db, Role.MODERATOR, "Moderator M")
        audit_id = world["audit"]["id"]
        r = client.get(f"{API}/audits/{audit_id}/answers.csv", headers=moderator)
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        assert r.headers["content-disposition"] == (
            f'attachment; filename="audit-{audit_id}-answers-{TODAY}.csv"'
        )
        rows = _csv(r)
        # Moderators may see moderation once the audit is open: its columns, empty yet.
        header = _with_moderated(HEADER)
        assert rows[0] == header
        assert rows[1:] == [_with_moderated_row(row) for row in ROWS.values()]

    def test_an_agency_auditor_gets_only_their_agencys_rows_and_no_moderation(
        self, client, db, world
    ):
        police = _token(db, Role.AUDITOR, "Police Auditor", world["police"]["id"])
        rows = _csv(client.get(f"{API}/audits/{world['audit']['id']}/answers.csv", headers=police))
        assert rows[0] == HEADER
        assert rows[1:] == [row for key, row in ROWS.items() if key[1] == "Police"]

    def test_the_xlsx_holds_the_same_with_numbers_as_numbers(self, client, db, world):
        moderator = _token(db, Role.MODERATOR, "Moderator M")
        audit_id = world["audit"]["id"]
        r = client.get(f"{API}/audits/{audit_id}/answers.xlsx", headers=moderator)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        assert f"audit-{audit_id}-answers-{TODAY}.xlsx" in r.headers["content-disposition"]
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        assert sheet.title == "Answers"
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{_column_letter(len(_with_moderated(HEADER)))}6"
        cells = [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
        assert cells[0] == _with_moderated(HEADER)
        first = dict(zip(cells[0], cells[1], strict=True))
        assert first["Risk: How many agencies attended?"] == 3
        # No formula in a workbook: text is written as text, unquoted.
        assert first["Risk: Strengths"] == "=SUM(A1)"
        assert first["Risk: What did the child say?"] == "-- said very little"
        assert first["Planning: Was a review held?"] == "Not appropriate"
        assert cells[2][4] == "Not applicable" and cells[2][6] == ""

    def test_moderated_grades_and_returns_left_out(self, client, db, world, monkeypatch):
        audit_id = world["audit"]["id"]
        a_police = world["returns"]["a"][world["police"]["id"]]
        b_school = world["returns"]["b"][world["school"]["id"]]
        moderator = _token(db, Role.MODERATOR, "Moderator M")
        assert (
            client.post(f"{API}/audits/{audit_id}/moderation/open", headers=moderator).status_code
            == 200
        )
        decided = client.post(
            f"{API}/audits/{audit_id}/moderation/decisions",
            json={
                "return_id": a_police,
                "key_area_id": world["risk"]["id"],
                "level": "RI",
                "rationale": "The plan was late.",
            },
            headers=moderator,
        )
        assert decided.status_code == 201, decided.text
        left_out = client.post(
            f"{API}/returns/{b_school}/exclude",
            json={"reason": "Not received in time"},
            headers=moderator,
        )
        assert left_out.status_code == 200, left_out.text
        rows = _csv(client.get(f"{API}/audits/{audit_id}/answers.csv", headers=moderator))
        found = {(row[0], row[1]): dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
        assert found["Child A", "Police"]["Risk: moderated grade"] == RI
        assert found["Child A", "Police"]["Risk: grade"] == GOOD
        assert found["Child A", "Police"]["Moderated overall grade"] == ""
        assert found["Child B", "School"]["Status"] == "Not received"
        assert found["Child B", "School"]["Reason not received"] == "Not received in time"
        # In moderation each agency reads every submitted return, and no one's not in
        # (the school's own, left out, neither).
        school = _token(db, Role.AUDITOR, "School Auditor", world["school"]["id"])
        rows = _csv(client.get(f"{API}/audits/{audit_id}/answers.csv", headers=school))
        assert [(row[0], row[1]) for row in rows[1:]] == [
            ("Child A", "Police"),
            ("Child A", "School"),
            ("Child B", "Police"),
        ]
        assert "Risk: moderated grade" in rows[0]
        # The summary still counts the three submitted returns.
        body = client.get(f"{API}/audits/{audit_id}/answers", headers=moderator).json()
        assert body["returns"] == 3


def _with_moderated(header: list[str]) -> list[str]:
    out = []
    for name in header:
        out.append(name)
        if name.endswith(": grade"):
            out.append(name.replace(": grade", ": moderated grade"))
        elif name == "Overall grade":
            out.append("Moderated overall grade")
    return out


def _with_moderated_row(row: list[str]) -> list[str]:
    out = []
    for name, cell in zip(HEADER, row, strict=True):
        out.append(cell)
        if name.endswith(": grade") or name == "Overall grade":
            out.append("")
    return out


def _column_letter(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class TestNeedToKnow:
    @pytest.mark.parametrize("path", ["answers", "answers.csv", "answers.xlsx"])
    def test_without_the_permission_403(self, client, db, world, path):
        admin = _token(db, Role.ADMIN, "Admin A")  # plans audits; reads no return
        r = client.get(f"{API}/audits/{world['audit']['id']}/{path}", headers=admin)
        assert r.status_code == 403 and r.json()["code"] == "forbidden"

    @pytest.mark.parametrize("path", ["answers", "answers.csv"])
    def test_an_audit_they_cannot_see_is_404(self, client, db, world, path):
        elsewhere = make_agency(db, name="Elsewhere").id  # takes no part in the audit
        other = _token(db, Role.AUDITOR, "Elsewhere Auditor", elsewhere)
        r = client.get(f"{API}/audits/{world['audit']['id']}/{path}", headers=other)
        assert r.status_code == 404

    def test_each_read_is_one_row_in_the_audit_log(self, client, db, world):
        police = _token(db, Role.AUDITOR, "Police Auditor", world["police"]["id"])
        audit_id = world["audit"]["id"]
        pending.seal(db)
        before = db.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
        assert client.get(f"{API}/audits/{audit_id}/answers.csv", headers=police).status_code == 200
        assert client.get(f"{API}/audits/{audit_id}/answers", headers=police).status_code == 200
        pending.seal(db)  # as when the log is read
        rows = db.scalars(
            select(AuditEvent).where(AuditEvent.id > before).order_by(AuditEvent.id)
        ).all()
        police_returns = sorted(r[world["police"]["id"]] for r in world["returns"].values())
        counted = sorted(world["returns"][c][world["police"]["id"]] for c in ("a", "b"))
        assert [(e.action, e.object_type, e.object_id, e.after) for e in rows] == [
            ("audit.answers_read", "audit", audit_id, {"view": "rows", "return_ids": police_returns}),
            ("audit.answers_read", "audit", audit_id, {"view": "summary", "return_ids": counted}),
        ]  # fmt: skip
        assert {e.user_label for e in rows} == {"police.auditor@example.org"}


class TestPage:
    def test_the_overview_links_to_the_page_and_the_page_to_the_files(self, client, db, world):
        user = access.create_user(
            db, email="moderator.page@example.org", display_name="M", roles={Role.MODERATOR}
        )
        browse_as(client, db, user)
        audit_id = world["audit"]["id"]
        overview = client.get(f"/audits/{audit_id}").text
        assert f'href="/audits/{audit_id}/answers">Answers across the audit</a>' in overview
        page = client.get(f"/audits/{audit_id}/answers")
        assert page.status_code == 200, page.text
        text = re.sub(r"\s+", " ", page.text)
        assert f'href="/audits/{audit_id}"' in text  # back to the overview
        assert "From 3 submitted returns you can read." in text
        assert "Not applicable: 1 (not counted in the percentages)" in text
        assert "Not appropriate: 1 (not counted in the percentages)" in text
        assert re.search(r"High\s*</th>\s*<td[^>]*>\s*2\s*</td>\s*<td[^>]*>\s*67%", page.text)
        assert "The whole case" in text and "Asked in 2 returns." in text
        for kind, words in (("xlsx", "Excel"), ("csv", "CSV")):
            link = f'href="/api/v1/audits/{audit_id}/answers.{kind}" download>'
            assert f"{link}Download all answers ({words})</a>" in text
            # The browser's session is enough to download.
            assert client.get(f"{API}/audits/{audit_id}/answers.{kind}").status_code == 200

    def test_someone_who_reads_no_returns_has_no_link_and_no_page(self, client, db, world):
        user = access.create_user(
            db, email="admin.page@example.org", display_name="A", roles={Role.ADMIN}
        )
        browse_as(client, db, user)
        audit_id = world["audit"]["id"]
        assert "Answers across the audit" not in client.get(f"/audits/{audit_id}").text
        assert client.get(f"/audits/{audit_id}/answers").status_code == 403


class TestQueries:
    @pytest.mark.parametrize("path", ["answers", "answers.csv"])
    def test_as_many_statements_for_five_returns_as_for_three(self, client, db, world, path):
        # Each read loads every return at once: no statement per return.
        moderator = _token(db, Role.MODERATOR, "Moderator M")
        police = _token(db, Role.AUDITOR, "Police Auditor", world["police"]["id"])
        url = f"{API}/audits/{world['audit']['id']}/{path}"
        for headers in (police, moderator):  # each token's first use is recorded
            assert client.get(url, headers=headers).status_code == 200
        counted = []
        for headers in (police, moderator):  # 3 returns, then 5
            with statements(db) as seen:
                assert client.get(url, headers=headers).status_code == 200
            counted.append(len(seen))
        assert counted[0] == counted[1], counted
