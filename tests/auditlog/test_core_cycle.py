"""Each state change in the core cycle writes exactly one audit-log row (a child
added with agencies: one for the child and one per involvement), in the request's
transaction, holding only what changed; reading a return writes one row too."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.returns.models import Return
from tests.helpers.auditlog import API, when
from tests.helpers.factories import make_audit, template_content
from tests.returns.test_api import complete_body


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


class TestCoreCycle:
    def test_each_change_writes_one_row_with_what_changed(self, api, log):
        police = ok(api.post(f"{API}/agencies", json={"name": "Police", "kind": "police"}), 201)
        row = log.one("agency.create", "agency", police["id"])
        assert row.before is None
        assert row.after == {"name": "Police", "kind": "police", "active": True}
        school = ok(api.post(f"{API}/agencies", json={"name": "School", "kind": "education"}), 201)
        log.one("agency.create", "agency", school["id"])

        draft = ok(api.post(f"{API}/templates", json=template_content(name="Neglect")), 201)
        row = log.one("template.create_draft", "template_version", draft["id"])
        assert row.before is None
        assert {k: row.after[k] for k in ("name", "number", "status", "theme")} == {
            "name": "Neglect",
            "number": 1,
            "status": "draft",
            "theme": "Testing",
        }
        assert row.after["key_areas"] == ["Key area 1", "Key area 2"]
        assert row.after["questions"] == 6
        assert [lv["code"] for lv in row.after["scale"]["levels"]] == ["O", "G", "RI", "I"]

        ok(api.patch(f"{API}/template-versions/{draft['id']}", json={"theme": "Neglect"}))
        row = log.one("template.update", "template_version", draft["id"])
        assert (row.before, row.after) == ({"theme": "Testing"}, {"theme": "Neglect"})

        published = ok(api.post(f"{API}/template-versions/{draft['id']}/publish"))
        row = log.one("template.publish", "template_version", draft["id"])
        assert row.before == {"status": "draft", "published_at": None}
        assert row.after["status"] == "published"
        assert when(row.after["published_at"]) == when(published["published_at"])
        assert set(row.after) == {"status", "published_at"}

        due = str(date.today() + timedelta(days=14))
        audit = ok(
            api.post(
                f"{API}/audits",
                json={
                    "template_version_id": draft["id"],
                    "title": "Neglect audit",
                    "returns_due_on": due,
                    "agency_ids": [police["id"], school["id"]],
                },
            ),
            201,
        )
        row = log.one("audit.create", "audit", audit["id"])
        assert row.after == {
            "template_version_id": draft["id"],
            "subject": "child",
            "title": "Neglect audit",
            "theme": "Neglect",
            "description": "",
            "status": "planned",
            "returns_due_on": due,
            "lead_sign_off": False,
            "agency_ids": sorted([police["id"], school["id"]]),
        }

        child = ok(
            api.post(
                f"{API}/audits/{audit['id']}/children",
                json={
                    "pseudonym": "Child A",
                    "age_band": "5-9",
                    "agency_ids": [police["id"], school["id"]],
                },
            ),
            201,
        )
        child_row, *involvement_rows = log.new()
        assert (child_row.action, child_row.object_type, child_row.object_id) == (
            "child.create",
            "child",
            child["id"],
        )
        assert child_row.after == {
            "audit_id": audit["id"],
            "pseudonym": "Child A",
            "age_band": "5-9",
            "context_tags": [],
        }
        assert [(r.action, r.object_type) for r in involvement_rows] == [
            ("involvement.create", "involvement")
        ] * 2
        assert {r.object_id for r in involvement_rows} == {i["id"] for i in child["involvements"]}
        assert [r.after for r in involvement_rows] == [
            {"audit_id": audit["id"], "child_id": child["id"], "agency_id": police["id"]},
            {"audit_id": audit["id"], "child_id": child["id"], "agency_id": school["id"]},
        ]

        opened = ok(api.post(f"{API}/audits/{audit['id']}/open", json={"confirm": True}))
        row = log.one("audit.open", "audit", audit["id"])
        assert row.before == {"status": "planned", "opened_at": None}
        assert row.after["status"] == "open" and row.after["opened_at"]
        assert set(row.after) == {"status", "opened_at", "warnings_confirmed"}
        assert opened["status"] == "open"

        template = ok(api.get(f"{API}/template-versions/{draft['id']}"))
        return_id = ok(api.get(f"{API}/audits/{audit['id']}/returns"))["items"][0]["id"]
        log.nothing()  # listing returns and reading a template change nothing
        question = template["key_areas"][0]["questions"][0]["id"]
        body = {"version": 1, "answers": [{"question_id": question, "value": "partly"}]}
        ok(api.put(f"{API}/returns/{return_id}/draft", json=body))
        row = log.one("return.save_draft", "return", return_id)
        assert row.before == {"status": "not_started", "version": 1, f"answer:{question}": None}
        assert row.after == {"status": "draft", "version": 2, f"answer:{question}": "partly"}

        ok(api.put(f"{API}/returns/{return_id}/draft", json=complete_body(template, 2)))
        row = log.one("return.save_draft", "return", return_id)
        assert row.before[f"answer:{question}"] == "partly"
        assert row.after[f"answer:{question}"] == "yes"
        assert row.after["overall_grade"] == "G" and row.before["overall_grade"] is None

        ok(api.post(f"{API}/returns/{return_id}/submit", json={"version": 3}))
        row = log.one("return.submit", "return", return_id)
        assert (row.before, row.after) == (
            {"status": "draft", "version": 3},
            {"status": "submitted", "version": 4},
        )

        note = "Please add the strategy discussion."
        ok(api.post(f"{API}/returns/{return_id}/reopen", json={"version": 4, "note": note}))
        row = log.one("return.reopen", "return", return_id)
        assert row.before == {"status": "submitted", "version": 4, "amendment_note": None}
        assert row.after == {
            "status": "returned_for_amendment",
            "version": 5,
            "amendment_note": note,
        }


class TestWhoAndWhere:
    def test_a_row_says_who_from_where_and_in_which_request(self, api, log):
        response = api.post(f"{API}/agencies", json={"name": "Probation", "kind": "probation"})
        row = log.one("agency.create", "agency", response.json()["id"])
        assert row.user_id is None and row.user_label == "system"  # the `client` fixture
        assert row.request_id == response.headers["X-Request-ID"]
        assert row.client_address == "testclient"
        assert row.at is not None and len(row.hash) == 64

    def test_a_signed_in_reader_is_named(self, anonymous_client, db, log, people):
        audit = make_audit(db, children=1, agencies_count=1)
        return_id = audit_return_id(db, audit.id)
        log.start()
        scrutineer = people["scrutineer"]
        r = anonymous_client.get(f"{API}/returns/{return_id}", headers=scrutineer["headers"])
        assert r.status_code == 200, r.text
        row = log.one("return.read", "return", return_id)
        assert row.user_id == scrutineer["id"]
        assert row.user_label == "scrutineer@example.org"


def audit_return_id(db, audit_id: int) -> int:
    return db.scalar(select(Return.id).where(Return.audit_id == audit_id).limit(1))


class TestReadingAReturn:
    @pytest.fixture
    def return_id(self, db):
        return audit_return_id(db, make_audit(db, children=1, agencies_count=1).id)

    def test_reading_a_return_writes_a_read_row(self, api, log, return_id):
        log.start()
        assert api.get(f"{API}/returns/{return_id}").status_code == 200
        row = log.one("return.read", "return", return_id)
        assert row.before is None and row.after is None

    def test_each_read_is_logged(self, api, log, return_id):
        log.start()
        for _ in range(3):
            api.get(f"{API}/returns/{return_id}")
        assert [r.action for r in log.new()] == ["return.read"] * 3

    def test_a_return_that_is_not_there_logs_no_read(self, api, log):
        assert api.get(f"{API}/returns/999999").status_code == 404
        log.nothing()
