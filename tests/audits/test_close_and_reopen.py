"""Closing an audit in learning (its actions closed, or with a reason) and reopening it
(with a reason), over the API and on the overview; both are in the audit log."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.access.policy import SYSTEM
from app.actions import service as actions
from app.actions.models import ActionStatus
from app.auditlog.models import AuditEvent
from app.audits import service as audits
from app.audits.models import Audit, AuditStatus
from tests.helpers.access import browse_as
from tests.helpers.audits import API, fields
from tests.helpers.factories import make_audit

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
SUMMARY = re.compile(r'class="govuk-error-summary".*?</ul>', re.S)


@pytest.fixture
def learning(db) -> Audit:
    audit = make_audit(db, children=1, agencies_count=1)
    audit.status = AuditStatus.LEARNING
    db.commit()  # as a request would have: a refused request rolls back to here
    return audit


def add_action(db, audit: Audit, status: ActionStatus):
    audit = audits.get_audit(db, audit_id=audit.id, actor=SYSTEM)
    action = actions.create_action(
        db,
        actor=SYSTEM,
        audit=audit,
        title="Record the child's words at every strategy discussion",
        owning_agency_id=audit.agencies[0].id,
        owner_name="A Person",
        due_on=date.today() + timedelta(days=30),
        success_measure="A dip sample shows the child's words.",
    )
    action.status = status
    db.commit()
    return action


def events(db, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


class TestCloseApi:
    def test_with_no_open_action_no_reason_is_needed(self, client, db, learning):
        add_action(db, learning, ActionStatus.CLOSED)
        add_action(db, learning, ActionStatus.NOT_ACCEPTED)
        r = client.post(f"{API}/audits/{learning.id}/close", json={})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "closed" and r.json()["closed_at"]
        assert r.json()["close_reason"] == ""
        (event,) = events(db, "audit.close")
        assert event.before == {"status": "learning"}
        assert event.after["reason"] == "" and event.after["open_actions"] == 0

    def test_an_open_action_needs_a_reason(self, client, db, learning):
        add_action(db, learning, ActionStatus.IN_PROGRESS)
        refused = client.post(f"{API}/audits/{learning.id}/close", json={"reason": "  "})
        assert refused.status_code == 422 and fields(refused) == {"reason"}
        assert "1 learning action is not closed yet" in refused.json()["errors"][0]["message"]
        reason = "The partnership's priorities moved; the action continues in the plan."
        r = client.post(f"{API}/audits/{learning.id}/close", json={"reason": reason})
        assert r.status_code == 200 and r.json()["close_reason"] == reason
        (event,) = events(db, "audit.close")
        assert event.after["reason"] == reason and event.after["open_actions"] == 1

    @pytest.mark.parametrize("status", [AuditStatus.OPEN, AuditStatus.MODERATION])
    def test_only_an_audit_in_learning_closes(self, client, db, learning, status):
        learning.status = status
        db.commit()
        r = client.post(f"{API}/audits/{learning.id}/close", json={"reason": "Done."})
        assert r.status_code == 409 and r.json()["code"] == "wrong_state"

    def test_a_closed_audit_cannot_be_changed(self, client, learning):
        client.post(f"{API}/audits/{learning.id}/close", json={"reason": "Done."})
        r = client.patch(f"{API}/audits/{learning.id}", json={"title": "Another"})
        assert r.status_code == 409

    def test_bad_bodies_are_422(self, client, learning):
        for body in ({"reason": "a\x00b"}, {"reason": 3}, {"reason": "x" * 20_001}):
            r = client.post(f"{API}/audits/{learning.id}/close", json=body)
            assert r.status_code == 422 and fields(r) == {"reason"}, body


class TestReopenApi:
    def test_reopening_needs_a_reason_and_clears_the_closing(self, client, db, learning):
        client.post(f"{API}/audits/{learning.id}/close", json={"reason": "Done."})
        for body in ({}, {"reason": ""}, {"reason": "   "}):
            r = client.post(f"{API}/audits/{learning.id}/reopen", json=body)
            assert r.status_code == 422 and fields(r) == {"reason"}, body
        reason = "An action's impact needs another look."
        r = client.post(f"{API}/audits/{learning.id}/reopen", json={"reason": reason})
        assert r.status_code == 200, r.text
        audit = r.json()
        assert audit["status"] == "learning"
        assert audit["closed_at"] is None and audit["close_reason"] == ""
        (event,) = events(db, "audit.reopen")
        assert event.before["status"] == "closed" and event.before["close_reason"] == "Done."
        assert event.after == {"status": "learning", "reason": reason}

    def test_only_a_closed_audit_reopens(self, client, learning):
        r = client.post(f"{API}/audits/{learning.id}/reopen", json={"reason": "Why not."})
        assert r.status_code == 409


# --- the pages -----------------------------------------------------------------------


def sign_in(client, db, role: Role):
    user = access.create_user(
        db, email=f"{role.value}@example.org", display_name=role.value, roles={role}
    )
    browse_as(client, db, user)
    client.event_hooks["request"].append(lambda _request: db.expire_all())
    return client


class TestClosePages:
    def test_an_admin_closes_and_reopens_from_the_overview(self, anonymous_client, db, learning):
        add_action(db, learning, ActionStatus.AGREED)
        db.commit()
        admin = sign_in(anonymous_client, db, Role.ADMIN)
        overview = f"/audits/{learning.id}"
        page = admin.get(overview).text
        assert "Close this audit" in page and "1 of 1 learning action is not closed yet" in page
        token = CSRF.search(page).group(1)

        refused = admin.post(f"{overview}/close", data={"csrf_token": token, "reason": ""})
        assert refused.status_code == 422
        assert re.findall(r'href="([^"]+)"', SUMMARY.search(refused.text).group(0)) == ["#reason"]
        assert db.get(Audit, learning.id).status == AuditStatus.LEARNING

        closed = admin.post(f"{overview}/close", data={"csrf_token": token, "reason": "Done."})
        assert closed.status_code == 200 and "The audit is closed." in closed.text
        assert "Reopen this audit" in closed.text and "Done." in closed.text
        assert db.get(Audit, learning.id).status == AuditStatus.CLOSED

        again = admin.post(f"{overview}/close", data={"csrf_token": token, "reason": "Done."})
        assert again.status_code == 409

        blank = admin.post(f"{overview}/reopen", data={"csrf_token": token, "reopen_reason": ""})
        assert blank.status_code == 422 and "Say why the audit is reopened" in blank.text
        reopened = admin.post(
            f"{overview}/reopen", data={"csrf_token": token, "reopen_reason": "Look again."}
        )
        assert reopened.status_code == 200 and "back in learning" in reopened.text
        assert db.get(Audit, learning.id).status == AuditStatus.LEARNING
        assert [e.after["reason"] for e in events(db, "audit.reopen")] == ["Look again."]

    def test_a_moderator_has_no_close_form_and_is_refused(self, anonymous_client, db, learning):
        db.commit()
        moderator = sign_in(anonymous_client, db, Role.MODERATOR)
        page = moderator.get(f"/audits/{learning.id}").text
        assert "Close this audit" not in page
        token = CSRF.search(page).group(1)
        r = moderator.post(f"/audits/{learning.id}/close", data={"csrf_token": token})
        assert r.status_code == 403
