"""The whole audit in one Excel workbook (app/audits/workbook.py, ``GET
/api/v1/audits/{id}/export.xlsx``): its sheets, with real types, frozen headers and
filters; exactly what the reader may see (a moderator, a scrutineer, an agency's
auditor before, during and after moderation); one row in the audit log for the
download; the same refusals as the audit's other routes; and the link on the audit's
page."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import openpyxl
import pytest
import time_machine
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.audit_templates import service as templates
from app.audit_templates.schemas import TemplateContent
from app.auditlog import pending
from app.auditlog.models import AuditEvent
from app.audits import lifecycle
from app.audits import service as audits
from app.audits.models import AuditStatus
from app.audits.workbook import SHEETS
from tests.helpers.access import bearer, browse_as, token_holder
from tests.helpers.audit_templates import create_draft, publish
from tests.helpers.audits import (
    API,
    add_child,
    create_audit,
    open_audit,
    return_ids,
    save_return,
    set_status,
)
from tests.helpers.factories import OFSTED, make_agency, template_content

NOW = datetime(2026, 7, 15, 12, tzinfo=UTC)
TODAY = "2026-07-15"
GOOD, RI = "Good", "Requires improvement to be good"

CONTENT = {
    "name": "Whole audit workbook",
    "theme": "Testing",
    "overall_grade": True,
    "scale": OFSTED,
    "evidence_boxes": [{"box": "went_well", "label": "Strengths"}],
    "key_areas": [
        {
            "title": "Referral",
            "graded": True,
            "questions": [
                {"prompt": "Was the referral timely?", "type": "yes_partly_no"},
                {"prompt": "How many agencies attended?", "type": "integer", "required": False},
            ],
        },
        {
            "title": "Planning",
            "graded": True,
            "questions": [{"prompt": "Was the plan timely?", "type": "yes_partly_no"}],
        },
    ],
}


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def world(client, db, monkeypatch):
    """An open audit: Child A and Child B with the police and the school, Child C with
    the police alone. Three returns submitted (Child A's two, Child B's police), the
    school's for Child B in progress, the police's for Child C not started. A finding
    about the whole audit, one about Child C, and a learning action for the police.
    Then the API is signed in for real (tokens below)."""
    client.event_hooks["request"].append(lambda _request: db.expire_all())
    version = create_draft(client, CONTENT)
    publish(client, version["id"])
    referral, planning = version["key_areas"]
    timely, attended = (q["id"] for q in referral["questions"])
    (planned,) = (q["id"] for q in planning["questions"])
    police = client.post(f"{API}/agencies", json={"name": "Police", "kind": "police"}).json()
    school = client.post(f"{API}/agencies", json={"name": "School", "kind": "education"}).json()
    subgroup = client.post(f"{API}/subgroups", json={"name": "QAPP"}).json()
    theme = client.post(f"{API}/themes", json={"name": "Sharing plans (test)"}).json()
    audit = create_audit(
        client,
        version["id"],
        title="Neglect audit",
        theme="Neglect",
        lead_subgroup_id=subgroup["id"],
        returns_due_on="2026-08-14",
        moderation_meeting_on="2026-08-28",
        period_from="2026-01-01",
        period_to="2026-03-31",
        agency_ids=[police["id"], school["id"]],
    )
    both = [police["id"], school["id"]]
    a = return_ids(
        add_child(client, audit["id"], "Child A", both, age_band="10-13", context_tags=["neglect"])
    )
    b = return_ids(add_child(client, audit["id"], "Child B", both, age_band="5-9"))
    c = return_ids(add_child(client, audit["id"], "Child C", [police["id"]], age_band="14-15"))
    open_audit(client, audit["id"])

    def graded(referral_grade: str, planning_grade: str, overall: str) -> dict:
        return {
            "grades": [
                {"key_area_id": referral["id"], "level": referral_grade},
                {"key_area_id": planning["id"], "level": planning_grade},
            ],
            "overall_grade": overall,
        }

    def answers(**given: str) -> list[dict]:
        ids = {"timely": timely, "attended": attended, "planned": planned}
        return [{"question_id": ids[name], "value": value} for name, value in given.items()]

    save_return(
        client,
        a[police["id"]],
        answers=answers(timely="yes", attended="3", planned="yes"),
        evidence=[{"key_area_id": referral["id"], "went_well": "Seen the same day"}],
        **graded("G", "G", "G"),
    )
    save_return(
        client,
        a[school["id"]],
        answers=answers(timely="no", planned="partly"),
        **graded("RI", "RI", "RI"),
    )
    save_return(
        client,
        b[police["id"]],
        answers=answers(timely="partly", planned="no"),
        **graded("G", "RI", "RI"),
    )
    save_return(client, b[school["id"]], submit=False, answers=answers(timely="yes"))
    children = {
        c["pseudonym"]: c["id"]
        for c in client.get(f"{API}/audits/{audit['id']}/children").json()["items"]
    }
    general = client.post(
        f"{API}/audits/{audit['id']}/findings",
        json={
            "kind": "good_practice",
            "statement": "Referrals were acted on the same day.",
            "theme_ids": [theme["id"]],
            "key_area_id": referral["id"],
        },
    )
    assert general.status_code == 201, general.text
    about_c = client.post(
        f"{API}/audits/{audit['id']}/findings",
        json={
            "kind": "area_for_improvement",
            "statement": "The plan was not shared with the police.",
            "child_id": children["Child C"],
            "confirm_identifying": True,
        },
    )
    assert about_c.status_code == 201, about_c.text
    action = client.post(
        f"{API}/actions",
        json={
            "audit_id": audit["id"],
            "title": "Share strategy minutes",
            "owning_agency_id": police["id"],
            "owner_name": "A Manager",
            "due_on": "2026-09-30",
            "success_measure": "Minutes shared in every case audited next time.",
            "finding_ids": [general.json()["id"]],
            "confirm_identifying": True,
        },
    )
    assert action.status_code == 201, action.text
    monkeypatch.undo()  # the system, for the set-up only
    return {
        "audit": audit,
        "police": police,
        "school": school,
        "referral": referral,
        "returns": {"a": a, "b": b, "c": c},
        "findings": [general.json()["id"], about_c.json()["id"]],
        "action": action.json()["id"],
    }


def _token(db, role: Role, name: str, agency_id: int | None = None) -> dict:
    return bearer(token_holder(db, role, name, agency_id=agency_id)[1])


def _workbook(response) -> openpyxl.Workbook:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return openpyxl.load_workbook(io.BytesIO(response.content))


def _export(client, world, headers) -> openpyxl.Workbook:
    return _workbook(
        client.get(f"{API}/audits/{world['audit']['id']}/export.xlsx", headers=headers)
    )


def _cells(sheet) -> list[list]:
    return [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]


def _records(sheet) -> list[dict]:
    """Each row under the header as {header: value}."""
    header, *rows = _cells(sheet)
    return [dict(zip(header, row, strict=True)) for row in rows]


def _about(book) -> dict[str, list]:
    found: dict[str, list] = {}
    for item, detail in _cells(book["About"])[1:]:
        found.setdefault(item, []).append(detail)
    return found


def _moderate(client, db, world) -> dict:
    """Open moderation and change the police's referral grade for Child A, as the chair."""
    moderator = _token(db, Role.MODERATOR, "Moderator M")
    audit_id = world["audit"]["id"]
    opened = client.post(f"{API}/audits/{audit_id}/moderation/open", headers=moderator)
    assert opened.status_code == 200, opened.text
    decided = client.post(
        f"{API}/audits/{audit_id}/moderation/decisions",
        json={
            "return_id": world["returns"]["a"][world["police"]["id"]],
            "key_area_id": world["referral"]["id"],
            "level": "RI",
            "rationale": "The strategy discussion was a week late.",
        },
        headers=moderator,
    )
    assert decided.status_code == 201, decided.text
    return moderator


def _answers_file(client, world, headers) -> list[list]:
    """The audit's answers file (api.returns.audit_data) for the same reader."""
    r = client.get(f"{API}/audits/{world['audit']['id']}/answers.xlsx", headers=headers)
    return _cells(_workbook(r)["Answers"])


class TestTheFile:
    def test_sheets_frozen_headers_filters_and_real_types(self, client, db, world):
        moderator = _token(db, Role.MODERATOR, "Moderator M")
        audit_id = world["audit"]["id"]
        r = client.get(f"{API}/audits/{audit_id}/export.xlsx", headers=moderator)
        assert r.headers["content-disposition"] == (
            f'attachment; filename="audit-{audit_id}-{TODAY}.xlsx"'
        )
        book = _workbook(r)
        assert tuple(book.sheetnames) == SHEETS
        for sheet in book.worksheets:
            assert sheet.freeze_panes == "A2", sheet.title
            if sheet.title == "About":
                assert sheet.auto_filter.ref is None
            else:
                width = len(next(sheet.iter_rows(values_only=True)))
                assert sheet.auto_filter.ref.startswith("A1:"), sheet.title
                assert sheet.auto_filter.ref.endswith(str(sheet.max_row)), sheet.title
                assert width == sheet.max_column
            assert all(cell.font.b for cell in next(sheet.iter_rows())), sheet.title
        about = _about(book)
        assert about["Audit"] == ["Neglect audit"] and about["Audit ID"] == [audit_id]
        assert about["Theme"] == ["Neglect"] and about["Lead subgroup"] == ["QAPP"]
        assert about["Template"] == ["Whole audit workbook"] and about["Template version"] == [1]
        assert about["Agencies taking part"] == ["Police; School"]
        assert about["Stage"] == ["Open for returns"]
        # Dates are Excel dates (openpyxl reads them as datetimes); counts are numbers.
        assert about["Returns due"] == [datetime(2026, 8, 14)]
        assert about["Period looked at, from"] == [datetime(2026, 1, 1)]
        assert about["Moderation meeting"] == [datetime(2026, 8, 28)]
        (exported,) = about["Exported"]
        assert isinstance(exported, datetime) and exported.date() == date(2026, 7, 15)
        assert about["Exported by"] == ["Moderator M"] and about["As seen by"] == ["moderator"]
        assert about["Left out"] == ["Nothing: you may read the whole audit."]
        assert about["Sheets"] == ["; ".join(SHEETS)]
        cohort = _records(book["Cohort"])
        assert cohort == [
            {
                "Child": "Child A",
                "Age band": "10-13",
                "Context": "neglect",
                "Agencies involved": "Police; School",
                "Returns expected": 2,
            },
            {
                "Child": "Child B",
                "Age band": "5-9",
                "Context": "",
                "Agencies involved": "Police; School",
                "Returns expected": 2,
            },
            {
                "Child": "Child C",
                "Age band": "14-15",
                "Context": "",
                "Agencies involved": "Police",
                "Returns expected": 1,
            },
        ]
        first = _records(book["Returns"])[0]
        assert first["Referral: How many agencies attended?"] == 3
        assert first["Referral: Strengths"] == "Seen the same day"
        progress = _records(book["Progress"])
        assert progress == [
            {
                "Agency": "Police",
                "Expected": 3,
                "Not started": 1,
                "In progress": 0,
                "Sent back": 0,
                "Submitted": 2,
                "Moderated": 0,
            },
            {
                "Agency": "School",
                "Expected": 2,
                "Not started": 0,
                "In progress": 1,
                "Sent back": 0,
                "Submitted": 1,
                "Moderated": 0,
            },
        ]
        (action,) = _records(book["Actions"])
        assert action["ID"] == world["action"] and isinstance(action["ID"], int)
        assert action["Title"] == "Share strategy minutes"
        assert action["Owning agency"] == "Police"
        assert action["Due date"] == datetime(2026, 9, 30)
        assert action["Overdue (days)"] == 0 and action["Themes"] == "Sharing plans (test)"
        assert "Audit" not in action  # the whole workbook is one audit's
        findings = _records(book["Findings"])
        assert [(f["ID"], f["Kind"], f["Statement"]) for f in findings] == [
            (
                world["findings"][1],
                "Area for improvement",
                "The plan was not shared with the police.",
            ),
            (world["findings"][0], "Good practice", "Referrals were acted on the same day."),
        ]
        assert findings[0]["Child"] == "Child C" and findings[1]["Key area"] == "Referral"
        assert findings[1]["Themes"] == "Sharing plans (test)"
        assert findings[1]["Learning actions (IDs)"] == str(world["action"])
        assert isinstance(findings[0]["Recorded at"], datetime)

    def test_no_text_is_a_formula(self, client, db, world):
        # A statement that looks like a formula stays text (strings_to_formulas off).
        moderator = _token(db, Role.MODERATOR, "Moderator M")
        r = client.post(
            f"{API}/audits/{world['audit']['id']}/findings",
            json={"kind": "good_practice", "statement": '=HYPERLINK("http://x")'},
            headers=moderator,
        )
        assert r.status_code == 201, r.text
        book = _export(client, world, moderator)
        statements = [f["Statement"] for f in _records(book["Findings"])]
        assert '=HYPERLINK("http://x")' in statements
        assert all(cell.data_type != "f" for row in book["Findings"].iter_rows() for cell in row)


class TestNeedToKnow:
    def test_a_moderator_has_everything_with_moderated_grades_and_rationale(
        self, client, db, world
    ):
        moderator = _moderate(client, db, world)
        book = _export(client, world, moderator)
        # The returns sheet is the audit's answers file, with its moderated grades.
        assert _cells(book["Returns"]) == _answers_file(client, world, moderator)
        header = _cells(book["Returns"])[0]
        assert "Referral: moderated grade" in header and "Moderated overall grade" in header
        grades = _records(book["Grades"])
        assert list(grades[0]) == [
            "Child",
            "Agency",
            "Status",
            "Key area",
            "Own grade",
            "Own evidence: Strengths",
            "Moderated grade",
            "Moderation",
            "Levels moved (+ worse)",
            "Moderator's rationale",
            "Decided by",
            "Decided at",
        ]
        # Five returns, each with two graded key areas and the overall grade.
        assert len(grades) == 15
        changed = grades[0]
        decided_at = changed.pop("Decided at")
        assert isinstance(decided_at, datetime) and decided_at.date() == date(2026, 7, 15)
        assert changed == {
            "Child": "Child A",
            "Agency": "Police",
            "Status": "Submitted",
            "Key area": "Referral",
            "Own grade": GOOD,
            "Own evidence: Strengths": "Seen the same day",
            "Moderated grade": RI,
            "Moderation": "Changed",
            "Levels moved (+ worse)": 1,
            "Moderator's rationale": "The strategy discussion was a week late.",
            "Decided by": "moderator.m@example.org",
        }
        assert [(g["Key area"], g["Own grade"], g["Moderation"]) for g in grades[1:3]] == [
            ("Planning", GOOD, "To moderate"),
            ("Overall", GOOD, "To moderate"),
        ]
        states = {(g["Child"], g["Agency"]): g["Moderation"] for g in grades}
        assert states["Child B", "School"] == "Not submitted"
        assert states["Child C", "Police"] == "Not submitted"
        assert len(_records(book["Findings"])) == 2 and len(_records(book["Actions"])) == 1
        assert len(_records(book["Cohort"])) == 3
        assert _about(book)["Stage"] == ["Moderation"]

    def test_a_scrutineer_reads_what_a_moderator_does(self, client, db, world):
        moderator = _moderate(client, db, world)
        scrutineer = _token(db, Role.SCRUTINEER, "Scrutineer S")
        theirs, chairs = _export(client, world, scrutineer), _export(client, world, moderator)
        # The policy gives a scrutineer every return and moderation (read-only).
        for name in SHEETS[1:]:
            assert _cells(theirs[name]) == _cells(chairs[name]), name
        assert _cells(theirs["Returns"]) == _answers_file(client, world, scrutineer)
        about = _about(theirs)
        assert about["As seen by"] == ["scrutineer"]
        assert about["Left out"] == ["Nothing: you may read the whole audit."]
        assert "Moderated grade" in _cells(theirs["Grades"])[0]

    def test_an_auditor_while_returns_are_open_has_only_their_agencys(self, client, db, world):
        school = _token(db, Role.AUDITOR, "School Auditor", world["school"]["id"])
        book = _export(client, world, school)
        returns = _cells(book["Returns"])
        assert returns == _answers_file(client, world, school)
        assert [(row[0], row[1], row[2]) for row in returns[1:]] == [
            ("Child A", "School", "Submitted"),
            ("Child B", "School", "In progress"),
        ]
        assert not any("moderated" in h.lower() for h in returns[0])
        grades = _records(book["Grades"])
        assert list(grades[0]) == [
            "Child",
            "Agency",
            "Status",
            "Key area",
            "Own grade",
            "Own evidence: Strengths",
        ]
        assert {g["Agency"] for g in grades} == {"School"} and len(grades) == 6
        # Only the children the school was involved with, and only its involvement.
        assert [(c["Child"], c["Agencies involved"]) for c in _records(book["Cohort"])] == [
            ("Child A", "School"),
            ("Child B", "School"),
        ]
        # The finding about Child C (the police's alone) is left out.
        assert [f["ID"] for f in _records(book["Findings"])] == [world["findings"][0]]
        assert [p["Agency"] for p in _records(book["Progress"])] == ["School"]
        assert [a["ID"] for a in _records(book["Actions"])] == [world["action"]]
        about = _about(book)
        assert about["As seen by"] == ["auditor of School"]
        assert about["Left out"] == [
            "Only what School may see: the returns it may read at this stage of the audit, "
            "the children it was involved with, and the findings about them.",
            "Moderated grades: agencies see them only while the audit is in moderation.",
        ]

    def test_an_auditor_in_moderation_reads_what_the_policy_reveals(self, client, db, world):
        _moderate(client, db, world)
        school = _token(db, Role.AUDITOR, "School Auditor", world["school"]["id"])
        book = _export(client, world, school)
        returns = _cells(book["Returns"])
        # Exactly the answers file's rows: in moderation each agency taking part reads
        # every submitted return, and its own still to come (app/access/policy.py).
        assert returns == _answers_file(client, world, school)
        assert [(row[0], row[1]) for row in returns[1:]] == [
            ("Child A", "Police"),
            ("Child A", "School"),
            ("Child B", "Police"),
            ("Child B", "School"),
        ]
        # ...and the grid, read-only: the moderated grades with their rationale.
        grades = _records(book["Grades"])
        assert {(g["Child"], g["Agency"]) for g in grades} == {
            ("Child A", "Police"),
            ("Child A", "School"),
            ("Child B", "Police"),
            ("Child B", "School"),
        }
        assert grades[0]["Moderator's rationale"] == "The strategy discussion was a week late."
        # The cohort, the findings and the actions are as before.
        assert [c["Child"] for c in _records(book["Cohort"])] == ["Child A", "Child B"]
        assert [f["ID"] for f in _records(book["Findings"])] == [world["findings"][0]]

    def test_an_auditor_once_the_audit_is_in_learning_reads_no_return(self, client, db, world):
        _moderate(client, db, world)
        set_status(db, world["audit"]["id"], AuditStatus.LEARNING)
        db.commit()
        school = _token(db, Role.AUDITOR, "School Auditor", world["school"]["id"])
        book = _export(client, world, school)
        assert _cells(book["Returns"]) == _answers_file(client, world, school)
        assert len(_cells(book["Returns"])) == 1  # the header alone
        assert _records(book["Grades"]) == []
        assert "Moderated grade" not in _cells(book["Grades"])[0]
        # The chair still reads every return and decision.
        chair = _token(db, Role.MODERATOR, "Chair C")
        assert len(_records(_export(client, world, chair)["Grades"])) == 15


class TestAnAuditAboutAgencies:
    def test_each_agency_is_its_case(self, client, db, monkeypatch):
        content = TemplateContent.model_validate({**template_content(), "subject": "agency"})
        version = templates.create_draft(db, content=content)
        templates.publish(db, version=version)
        police, school = make_agency(db, name="Police"), make_agency(db, name="School")
        audit = audits.create_audit(
            db,
            template_version_id=version.id,
            title="Self-assessment",
            returns_due_on=date(2026, 8, 14),
            agency_ids=[police.id, school.id],
        )
        lifecycle.open_audit(db, audit=audit, confirm=True)
        db.commit()
        monkeypatch.undo()
        moderator = _token(db, Role.MODERATOR, "Moderator M")
        book = _export(client, {"audit": {"id": audit.id}}, moderator)
        assert _cells(book["Cohort"]) == [
            ["Agency", "Its return"],
            ["Police", "Not started"],
            ["School", "Not started"],
        ]
        # No child: each return's case is its agency.
        assert _cells(book["Returns"])[0][:2] == ["Agency", "Status"]
        grades = _records(book["Grades"])
        assert list(grades[0])[:3] == ["Agency", "Status", "Key area"]
        assert [(g["Agency"], g["Key area"]) for g in grades[:3]] == [
            ("Police", "Key area 1"),
            ("Police", "Key area 2"),
            ("Police", "Overall"),
        ]
        assert _cells(book["Findings"])[0][6] == "Case"
        assert _about(book)["Its cases"] == ["Agencies"]


class TestRefusalsAndTheLog:
    def test_the_business_unit_gets_the_audit_without_its_returns(self, client, db, world):
        admin = _token(db, Role.ADMIN, "Admin A")  # plans audits; reads no return
        book = _workbook(
            client.get(f"{API}/audits/{world['audit']['id']}/export.xlsx", headers=admin)
        )
        assert tuple(book.sheetnames) == SHEETS
        assert _records(book["Returns"]) == [] and _records(book["Grades"]) == []
        assert _records(book["Cohort"]) and _records(book["Progress"])
        assert "your role reads no return" in " ".join(_about(book)["Left out"])

    def test_without_the_permission_403(self, client, db, world):
        nobody = _token(db, Role.PRACTITIONER, "Practitioner P")  # reads the library only
        r = client.get(f"{API}/audits/{world['audit']['id']}/export.xlsx", headers=nobody)
        assert r.status_code == 403 and r.json()["code"] == "forbidden"

    def test_an_audit_they_cannot_see_is_404(self, client, db, world):
        elsewhere = make_agency(db, name="Elsewhere").id  # takes no part in the audit
        other = _token(db, Role.AUDITOR, "Elsewhere Auditor", elsewhere)
        r = client.get(f"{API}/audits/{world['audit']['id']}/export.xlsx", headers=other)
        assert r.status_code == 404
        assert client.get(f"{API}/audits/999999/export.xlsx", headers=other).status_code == 404

    def test_the_download_is_one_row_in_the_audit_log(self, client, db, world):
        police = _token(db, Role.AUDITOR, "Police Auditor", world["police"]["id"])
        audit_id = world["audit"]["id"]
        pending.seal(db)
        before = db.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
        r = client.get(f"{API}/audits/{audit_id}/export.xlsx", headers=police)
        assert r.status_code == 200
        pending.seal(db)  # as when the log is read
        rows = db.scalars(
            select(AuditEvent).where(AuditEvent.id > before).order_by(AuditEvent.id)
        ).all()
        police_returns = sorted(r[world["police"]["id"]] for r in world["returns"].values())
        assert [(e.action, e.object_type, e.object_id, e.after) for e in rows] == [
            (
                "audit.exported",
                "audit",
                audit_id,
                {"file": "xlsx", "sheets": list(SHEETS), "return_ids": police_returns},
            )
        ]
        assert rows[0].user_label == "police.auditor@example.org"


class TestPage:
    def test_the_overview_links_to_the_workbook(self, client, db, world):
        user = access.create_user(
            db, email="moderator.page@example.org", display_name="M", roles={Role.MODERATOR}
        )
        browse_as(client, db, user)
        audit_id = world["audit"]["id"]
        overview = client.get(f"/audits/{audit_id}").text
        link = f'href="/api/v1/audits/{audit_id}/export.xlsx" download>'
        assert f"{link}Download the whole audit (Excel)</a>" in overview
        # The browser's session is enough to download.
        book = _workbook(client.get(f"{API}/audits/{audit_id}/export.xlsx"))
        assert tuple(book.sheetnames) == SHEETS

    def test_the_business_unit_has_the_link_too(self, client, db, world):
        user = access.create_user(
            db, email="admin.page@example.org", display_name="A", roles={Role.ADMIN}
        )
        browse_as(client, db, user)
        overview = client.get(f"/audits/{world['audit']['id']}")
        assert overview.status_code == 200
        assert "Download the whole audit (Excel)" in overview.text
