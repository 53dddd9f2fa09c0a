"""A whole moderation over the API: opening (the reveal), every cell decided, some
changed with a rationale, one return sent back and resubmitted, the audit moving to
learning, and the agencies' own grades kept beside the moderated ones."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.auditlog.models import AuditEvent
from app.audits.models import AuditStatus, audit_agency
from app.moderation.models import ModeratedGrade
from app.returns.models import Grade, Return, ReturnStatus
from tests.helpers.factories import make_audit

API = "/api/v1"


@pytest.fixture(autouse=True)
def fresh_reads(client, db):
    client.event_hooks["request"].append(lambda _request: db.expire_all())


@pytest.fixture
def audit(db):
    return make_audit(db, children=2, agencies_count=2)


@pytest.fixture
def template(client, audit):
    return client.get(f"{API}/template-versions/{audit.template_version_id}").json()


def complete(template: dict, version: int, grade: str = "G") -> dict:
    answers, grades = [], []
    for key_area in template["key_areas"]:
        yes_no, _text, when = key_area["questions"]
        answers += [
            {"question_id": yes_no["id"], "value": "yes"},
            {"question_id": when["id"], "value": "2024-02-29"},
        ]
        grades.append({"key_area_id": key_area["id"], "level": grade})
    return {"version": version, "answers": answers, "grades": grades, "overall_grade": grade}


def submit_all(client, audit, template, grade="G"):
    returns = client.get(f"{API}/audits/{audit.id}/returns").json()["items"]
    for r in returns:
        saved = client.put(f"{API}/returns/{r['id']}/draft", json=complete(template, 1, grade))
        assert saved.status_code == 200, saved.text
        done = client.post(f"{API}/returns/{r['id']}/submit", json={"version": 2})
        assert done.status_code == 200, done.text
    return returns


def decide(client, audit, return_id, key_area_id, level, rationale=""):
    return client.post(
        f"{API}/audits/{audit.id}/moderation/decisions",
        json={
            "return_id": return_id,
            "key_area_id": key_area_id,
            "level": level,
            "rationale": rationale,
        },
    )


def test_a_whole_moderation(client, db, audit, template):
    returns = submit_all(client, audit, template)
    assert client.post(f"{API}/audits/{audit.id}/moderation/finish").status_code == 409

    opened = client.post(f"{API}/audits/{audit.id}/moderation/open")
    assert opened.status_code == 200, opened.text
    grid = opened.json()
    areas = [a["key_area_id"] for a in grid["areas"]]
    assert areas == [k["id"] for k in template["key_areas"]] + [None]  # overall last
    assert len(grid["cells"]) == 4 * 3 and grid["counts"]["to moderate"] == 12
    assert {c["self_grade"] for c in grid["cells"]} == {"G"}

    first, second = returns[0]["id"], returns[1]["id"]
    # Changing a grade needs a rationale; agreeing does not.
    refused = decide(client, audit, first, areas[0], "RI")
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {"rationale"}
    assert decide(client, audit, first, areas[0], "X").status_code == 422
    lowered = decide(client, audit, first, areas[0], "RI", "No strategy discussion was held.")
    assert lowered.status_code == 201, lowered.text
    assert lowered.json()["shift"] == 1 and lowered.json()["self_grade"] == "G"
    raised = decide(client, audit, first, None, "O", "Consistently child-focused.")
    assert raised.json()["shift"] == -1
    # Deciding a cell again supersedes the earlier decision; both are kept.
    again = decide(client, audit, first, areas[0], "I", "The child was not seen for weeks.")
    history = client.get(f"{API}/returns/{first}/moderation").json()
    first_cell = [d for d in history if d["key_area_id"] == areas[0]]
    assert [d["moderated_grade"] for d in first_cell] == ["I", "RI"]
    assert first_cell[0]["id"] == again.json()["id"] and first_cell[0]["superseded_at"] is None
    assert first_cell[1]["superseded_at"] is not None

    # Agree every other cell.
    for cell in client.get(f"{API}/audits/{audit.id}/moderation").json()["cells"]:
        if cell["state"] == "to moderate":
            r = decide(client, audit, cell["return_id"], cell["key_area_id"], cell["self_grade"])
            assert r.status_code == 201, r.text
    grid = client.get(f"{API}/audits/{audit.id}/moderation").json()
    assert all(c["moderated"] for c in grid["children"])
    statuses = {r.status for r in db.scalars(select(Return).where(Return.audit_id == audit.id))}
    assert statuses == {ReturnStatus.MODERATED}

    # One return is sent back, amended and resubmitted: the cell whose own grade the
    # agency changed needs moderating again, the others keep their decisions.
    version = client.get(f"{API}/returns/{second}").json()["version"]
    back = client.post(
        f"{API}/returns/{second}/reopen",
        json={"version": version, "note": "Please add the date of the strategy discussion."},
    )
    assert back.status_code == 200, back.text
    child_of_second = back.json()["child"]["id"]
    grid = client.get(f"{API}/audits/{audit.id}/moderation").json()
    assert not next(c for c in grid["children"] if c["id"] == child_of_second)["moderated"]
    assert decide(client, audit, second, areas[0], "G").status_code == 409  # not submitted
    amended = complete(template, back.json()["version"])
    amended["grades"][0]["level"] = "O"
    saved = client.put(f"{API}/returns/{second}/draft", json=amended)
    assert saved.status_code == 200, saved.text
    client.post(f"{API}/returns/{second}/submit", json={"version": saved.json()["version"]})
    cells = {
        c["key_area_id"]: c
        for c in client.get(f"{API}/audits/{audit.id}/moderation").json()["cells"]
        if c["return_id"] == second
    }
    assert cells[areas[0]]["state"] == "self-grade changed"
    assert cells[areas[1]]["state"] == "agreed"
    assert client.post(f"{API}/audits/{audit.id}/moderation/finish").status_code == 422
    assert decide(client, audit, second, areas[0], "G", "Good, not outstanding.").status_code == 201

    finished = client.post(f"{API}/audits/{audit.id}/moderation/finish")
    assert finished.status_code == 200, finished.text
    assert finished.json()["status"] == AuditStatus.LEARNING
    assert decide(client, audit, first, areas[1], "G").status_code == 409  # final now

    # The self-grades survive beside the moderated ones.
    own = db.scalar(select(Grade).where(Grade.return_id == first, Grade.key_area_id == areas[0]))
    assert own.level_id != own.return_id and own is not None
    kept = db.scalars(
        select(ModeratedGrade).where(
            ModeratedGrade.return_id == first, ModeratedGrade.key_area_id == areas[0]
        )
    ).all()
    assert len(kept) == 2 and all(d.self_level_id == own.level_id for d in kept)
    actions = {e.action for e in db.scalars(select(AuditEvent))}
    assert {"audit.open_moderation", "moderation.decide", "audit.finish_moderation"} <= actions


def test_open_needs_a_submitted_return_and_an_open_audit(client, db, audit):
    refused = client.post(f"{API}/audits/{audit.id}/moderation/open")
    assert refused.status_code == 422
    planned = make_audit(db, open_=False)
    assert client.post(f"{API}/audits/{planned.id}/moderation/open").status_code == 409


def _token(db, role, agency_id=None) -> dict:
    """Headers that sign in as a new person with ``role`` (real authentication)."""
    user = access.create_user(
        db,
        email=f"{role.value}.{agency_id}@example.org",
        display_name=role.value,
        roles={role},
        agency_id=agency_id,
    )
    _row, plain = access.create_token(db, user=user, name="tests", days=1)
    db.commit()
    return {"Authorization": f"Bearer {plain}"}


def test_blind_until_moderation_opens_then_revealed_read_only(
    client, anonymous_client, db, audit, template, monkeypatch
):
    agency_ids = sorted(
        db.scalars(select(audit_agency.c.agency_id).where(audit_agency.c.audit_id == audit.id))
    )
    returns = submit_all(client, audit, template)
    monkeypatch.undo()  # from here on, real people
    other = next(r for r in returns if r["agency"]["id"] != agency_ids[0])
    web = anonymous_client
    auditor = _token(db, Role.AUDITOR, agency_ids[0])
    moderator = _token(db, Role.MODERATOR)
    # Blind: no grid, and another agency's return does not exist for them.
    assert web.get(f"{API}/audits/{audit.id}/moderation", headers=auditor).status_code == 404
    assert web.get(f"{API}/returns/{other['id']}", headers=auditor).status_code == 404
    assert web.get(f"{API}/audits/{audit.id}/moderation", headers=moderator).status_code == 200

    opened = web.post(f"{API}/audits/{audit.id}/moderation/open", headers=moderator)
    assert opened.status_code == 200, opened.text
    grid = web.get(f"{API}/audits/{audit.id}/moderation", headers=auditor)
    assert grid.status_code == 200
    assert sorted({c["agency_id"] for c in grid.json()["cells"]}) == agency_ids
    assert web.get(f"{API}/returns/{other['id']}", headers=auditor).status_code == 200
    # Read-only: they cannot moderate, nor change another agency's return.
    decision = {"return_id": other["id"], "level": "G"}
    url = f"{API}/audits/{audit.id}/moderation/decisions"
    assert web.post(url, json=decision, headers=auditor).status_code == 403
    body = complete(template, 3)
    changed = web.put(f"{API}/returns/{other['id']}/draft", json=body, headers=auditor)
    assert changed.status_code in (403, 404)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "audit.open_moderation"))
    assert event.after["revealed_to_agencies"] == agency_ids


def test_an_agency_not_in_the_audit_never_sees_its_grid(
    client, anonymous_client, db, audit, template, monkeypatch
):
    submit_all(client, audit, template)
    client.post(f"{API}/audits/{audit.id}/moderation/open")
    monkeypatch.undo()
    outsider_agency = make_audit(db, children=1, agencies_count=1).agencies[0]
    outsider = _token(db, Role.AUDITOR, outsider_agency.id)
    url = f"{API}/audits/{audit.id}/moderation"
    assert anonymous_client.get(url, headers=outsider).status_code == 404
