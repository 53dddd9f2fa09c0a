"""The audit log over HTTP: admins and scrutineers list, filter and download it;
nobody else may, and nothing here changes it."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.auditlog.models import AuditEvent
from app.returns.models import Return
from tests.helpers.auditlog import API
from tests.helpers.factories import make_audit


@pytest.fixture
def web(anonymous_client, db):
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


@pytest.fixture
def history(db, people) -> dict:
    """An audit set up by the system, and one of its returns read by the scrutineer."""
    audit = make_audit(db, children=1, agencies_count=2)
    return_id = db.scalar(select(Return.id).where(Return.audit_id == audit.id).limit(1))
    db.commit()
    return {"audit": audit, "return_id": return_id}


def get(web, person: dict, path: str = "/audit-log", **params):
    return web.get(f"{API}{path}", params=params, headers=person["headers"])


class TestWhoMayRead:
    @pytest.mark.parametrize("role", ["admin", "scrutineer"])
    @pytest.mark.parametrize("path", ["/audit-log", "/audit-log.csv"])
    def test_admin_and_scrutineer_may(self, web, people, role, path):
        assert get(web, people[role], path).status_code == 200

    @pytest.mark.parametrize("role", ["auditor", "moderator"])
    @pytest.mark.parametrize("path", ["/audit-log", "/audit-log.csv"])
    def test_others_are_refused(self, web, people, role, path):
        r = get(web, people[role], path)
        assert r.status_code == 403
        assert "text/csv" not in r.headers["content-type"]

    @pytest.mark.parametrize("path", ["/audit-log", "/audit-log.csv"])
    def test_signed_out_is_401(self, web, path):
        assert web.get(f"{API}{path}").status_code == 401

    def test_reading_the_log_is_itself_logged_and_changes_nothing_else(self, web, db, people, log):
        # The log can show what returns said, so reading it is recorded like reading one.
        log.start()
        get(web, people["admin"], action="return.read")
        get(web, people["scrutineer"], "/audit-log.csv")
        rows = log.new()
        assert [(r.action, r.user_label) for r in rows] == [
            ("audit_log.search", "admin@example.org"),
            ("audit_log.export", "scrutineer@example.org"),
        ]
        assert rows[0].after == {"action": "return.read"}


class TestListAndFilter:
    def test_newest_first_with_total_and_pages(self, web, db, people, history):
        everything = list(db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())))
        body = get(web, people["admin"], per_page=5).json()
        assert body["total"] == len(everything)
        assert [e["id"] for e in body["items"]] == [e.id for e in everything[:5]]
        # That search was logged: it is now the newest row.
        everything = list(db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())))
        assert everything[0].action == "audit_log.search"
        page2 = get(web, people["admin"], per_page=5, page=2).json()
        assert [e["id"] for e in page2["items"]] == [e.id for e in everything[5:10]]
        first = body["items"][0]
        assert set(first) >= {
            "at",
            "user_id",
            "user_label",
            "action",
            "object_type",
            "object_id",
            "before",
            "after",
            "request_id",
            "client_address",
        }

    def test_by_user(self, web, people, history):
        scrutineer = people["scrutineer"]
        get(web, scrutineer, f"/returns/{history['return_id']}")
        body = get(web, people["admin"], user_id=scrutineer["id"]).json()
        assert [(e["action"], e["object_id"]) for e in body["items"]] == [
            ("return.read", history["return_id"])
        ]
        assert body["items"][0]["user_label"] == "scrutineer@example.org"

    def test_by_action_and_object(self, web, people, history):
        audit = history["audit"]
        by_action = get(web, people["scrutineer"], action="audit.open").json()
        assert [(e["object_type"], e["object_id"]) for e in by_action["items"]] == [
            ("audit", audit.id)
        ]
        by_object = get(web, people["scrutineer"], object_type="audit", object_id=audit.id).json()
        assert [e["action"] for e in by_object["items"]] == ["audit.open", "audit.create"]
        by_type = get(web, people["scrutineer"], object_type="involvement").json()
        assert by_type["total"] == 2
        assert get(web, people["scrutineer"], action="no.such").json()["total"] == 0

    def test_by_date_range(self, web, db, people, history):
        times = sorted(db.scalars(select(AuditEvent.at)))
        start, end = times[0], times[-1]
        admin = people["admin"]
        everything = len(times)
        inclusive = get(web, admin, **{"from": start.isoformat(), "to": end.isoformat()})
        assert inclusive.json()["total"] == everything
        later = get(web, admin, **{"from": (end + timedelta(seconds=1)).isoformat()})
        assert later.json()["total"] == 0
        earlier = get(web, admin, to=(start - timedelta(seconds=1)).isoformat())
        assert earlier.json()["total"] == 0
        # Without an offset a time is UTC.
        naive = (end + timedelta(seconds=1)).replace(tzinfo=None).isoformat()
        assert get(web, admin, **{"from": naive}).json()["total"] == 0
        # Everything up to then, and the searches just made (each one is logged).
        assert get(web, admin, to=naive).json()["total"] >= everything

    def test_a_range_that_ends_before_it_starts_is_422(self, web, people):
        r = get(web, people["admin"], **{"from": "2025-02-01", "to": "2025-01-01"})
        assert r.status_code == 422

    @pytest.mark.parametrize(
        "params",
        [{"user_id": 0}, {"object_id": "x"}, {"from": "yesterday"}, {"action": "a\nb"}],
    )
    def test_bad_filters_are_422(self, web, people, params):
        assert get(web, people["admin"], **params).status_code == 422


def parse_csv(response) -> list[dict]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


class TestCsv:
    def test_a_header_row_then_one_row_per_event_oldest_first(self, web, db, people, history):
        r = get(web, people["scrutineer"], "/audit-log.csv")
        assert r.headers["content-type"].startswith("text/csv")
        disposition = r.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="audit-log-')
        assert disposition.endswith('.csv"')
        first_line = r.content.decode("utf-8-sig").splitlines()[0]
        assert first_line == (
            "when,user,action,object type,object id,before,after,request id,client address"
        )
        rows = parse_csv(r)
        events = list(db.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        # Everything up to the export, whose own row is written after the file.
        assert events[-1].action == "audit_log.export"
        assert [row["action"] for row in rows] == [e.action for e in events[:-1]]
        opened = next(row for row in rows if row["action"] == "audit.open")
        assert opened["object type"] == "audit"
        assert opened["object id"] == str(history["audit"].id)
        assert opened["user"] == "system"
        assert json.loads(opened["before"]) == {"opened_at": None, "status": "planned"}
        assert json.loads(opened["after"])["status"] == "open"
        assert ", " not in opened["before"]  # compact JSON

    def test_filters_apply_and_request_and_address_are_included(self, web, people, history):
        get(web, people["scrutineer"], f"/returns/{history['return_id']}")
        r = get(web, people["admin"], "/audit-log.csv", action="return.read")
        [row] = parse_csv(r)
        assert row["object id"] == str(history["return_id"])
        assert row["user"] == "scrutineer@example.org"
        assert row["before"] == "" and row["after"] == ""
        assert len(row["request id"]) == 32 and row["client address"] == "testclient"

    def test_a_cell_that_a_spreadsheet_would_run_is_defused(self, web, db, people, history):
        # A legal address that Excel would take for a formula, as the reader's label.
        reader = access.create_user(
            db, email="=1+1@example.org", display_name="Odd", roles={Role.SCRUTINEER}
        )
        _row, plain = access.create_token(db, user=reader, name="csv", days=1)
        db.commit()
        path = f"{API}/returns/{history['return_id']}"
        assert web.get(path, headers={"Authorization": f"Bearer {plain}"}).status_code == 200
        r = get(web, people["admin"], "/audit-log.csv", user_id=reader.id)
        [row] = parse_csv(r)
        assert row["user"] == "'=1+1@example.org"
        assert row["action"] == "return.read"
