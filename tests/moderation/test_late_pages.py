"""Opening moderation with returns not in, through the pages: each one must be waited
for or left out (with a reason) before moderation opens; leaving out and including
again from the workspace, each with a reason."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auditlog.models import AuditEvent
from app.audits.models import Audit, AuditStatus
from app.returns.models import Return, ReturnStatus
from tests.helpers.actions import CSRF
from tests.helpers.factories import make_audit
from tests.moderation.test_moderation import complete


@pytest.fixture
def audit(client, db, monkeypatch):
    """An open audit with two of its four returns submitted."""
    audit = make_audit(db, children=2, agencies_count=2)
    template = client.get(f"/api/v1/template-versions/{audit.template_version_id}").json()
    for r in client.get(f"/api/v1/audits/{audit.id}/returns").json()["items"][:2]:
        client.put(f"/api/v1/returns/{r['id']}/draft", json=complete(template, 1))
        client.post(f"/api/v1/returns/{r['id']}/submit", json={"version": 2})
    monkeypatch.undo()
    db.commit()
    return db.get(Audit, audit.id)


def test_each_return_not_in_is_waited_for_or_left_out(moderator, db, audit):
    base = f"/audits/{audit.id}/moderation"
    late = db.scalars(
        select(Return).where(Return.audit_id == audit.id, Return.status != ReturnStatus.SUBMITTED)
    ).all()
    page = moderator.get(f"{base}/open")
    assert page.status_code == 200 and "2 returns are not in yet" in page.text
    token = CSRF.search(page.text).group(1)
    first, second = late
    refused = moderator.post(
        f"{base}/open",
        data={"csrf_token": token, f"late-{first.id}": "leave"},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert f'href="#reason-{first.id}"' in refused.text  # a reason is needed to leave out
    assert f'href="#late-{second.id}"' in refused.text  # and a choice for each
    db.expire_all()
    assert db.get(Audit, audit.id).status == AuditStatus.OPEN

    opened = moderator.post(
        f"{base}/open",
        data={
            "csrf_token": token,
            f"late-{first.id}": "leave",
            f"reason-{first.id}": "Records not available",
            f"late-{second.id}": "wait",
        },
        follow_redirects=False,
    )
    assert opened.status_code == 303
    db.expire_all()
    assert db.get(Audit, audit.id).status == AuditStatus.MODERATION
    assert db.get(Return, first.id).excluded_reason == "Records not available"
    workspace = moderator.get(base).text
    assert "1 return is still to come" in workspace
    assert "Records not available" in workspace and "Include it again" in workspace
    assert "waiting for it" in workspace and "Leave it out" in workspace

    # Include the first again, then leave out the second, each with a reason.
    include = f"{base}/returns/{first.id}/include"
    empty = moderator.post(
        include,
        data={"csrf_token": CSRF.search(moderator.get(include).text).group(1), "reason": ""},
        follow_redirects=False,
    )
    assert empty.status_code == 422 and "Give the reason" in empty.text
    back = moderator.post(
        include,
        data={"csrf_token": CSRF.search(moderator.get(include).text).group(1), "reason": "Sent"},
        follow_redirects=False,
    )
    assert back.status_code == 303
    leave = f"{base}/returns/{second.id}/leave-out"
    left = moderator.post(
        leave,
        data={"csrf_token": CSRF.search(moderator.get(leave).text).group(1), "reason": "Late"},
        follow_redirects=False,
    )
    assert left.status_code == 303
    db.expire_all()
    assert db.get(Return, first.id).excluded_at is None
    assert db.get(Return, second.id).excluded_reason == "Late"


def test_bad_choices_are_errors_not_failures(moderator, db, audit):
    base = f"/audits/{audit.id}/moderation"
    late = db.scalars(
        select(Return).where(Return.audit_id == audit.id, Return.status != ReturnStatus.SUBMITTED)
    ).all()
    submitted = db.scalars(
        select(Return).where(Return.audit_id == audit.id, Return.status == ReturnStatus.SUBMITTED)
    ).first()
    page = moderator.get(f"{base}/open")
    token = CSRF.search(page.text).group(1)
    nul = moderator.post(
        f"{base}/open",
        data={
            "csrf_token": token,
            f"late-{late[0].id}": "leave",
            f"reason-{late[0].id}": "Late\x00",
            f"late-{late[1].id}": "wait",
        },
        follow_redirects=False,
    )
    assert nul.status_code == 422 and "must not contain control characters" in nul.text
    assert (
        moderator.post(
            f"{base}/open",
            data={"csrf_token": token, f"late-{late[0].id}": "wait", f"late-{late[1].id}": "wait"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    # A return that is in, or no return at all: nothing to leave out (404, not a failure).
    for return_id in (submitted.id, 999_999):
        gone = moderator.post(
            f"{base}/returns/{return_id}/leave-out",
            data={"csrf_token": token, "reason": ""},
            follow_redirects=False,
        )
        assert gone.status_code == 404
    waits = db.scalars(select(AuditEvent).where(AuditEvent.action == "moderation.wait_for")).one()
    assert waits.after == {"return_ids": sorted(r.id for r in late)}


def test_a_return_left_out_reads_as_not_received_everywhere(moderator, db, audit):
    base = f"/audits/{audit.id}/moderation"
    late = db.scalars(
        select(Return).where(Return.audit_id == audit.id, Return.status != ReturnStatus.SUBMITTED)
    ).all()
    page = moderator.get(f"{base}/open")
    token = CSRF.search(page.text).group(1)
    data = {"csrf_token": token, f"late-{late[1].id}": "wait"}
    data |= {f"late-{late[0].id}": "leave", f"reason-{late[0].id}": "Records unavailable"}
    assert moderator.post(f"{base}/open", data=data, follow_redirects=False).status_code == 303
    overview = moderator.get(f"/audits/{audit.id}").text
    assert "Not received" in overview
    returns_tab = moderator.get(f"/audits/{audit.id}/returns").text
    assert returns_tab.count("Not received") == 1
    analytics = moderator.get(f"{base}/analytics").text
    assert "1 return was not received and is not in these figures" in analytics
    assert "(Records unavailable)" in analytics
    listed = moderator.get(f"/api/v1/audits/{audit.id}/returns").json()["items"]
    left = next(r for r in listed if r["id"] == late[0].id)
    assert left["not_received"] is True and left["not_received_reason"] == "Records unavailable"
    assert sum(r["not_received"] for r in listed) == 1
