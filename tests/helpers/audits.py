"""Helpers shared by the tests of audits over HTTP (tests/audits: planning, the cohort,
opening, listing and progress); fixtures are in tests/audits/conftest.py."""

from __future__ import annotations

from app.audits.models import Audit, AuditStatus

API = "/api/v1"
NO_RETURNS = {
    "expected": 0,
    "not_started": 0,
    "draft": 0,
    "submitted": 0,
    "returned_for_amendment": 0,
    "moderated": 0,
}


def fields(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


def counts(**nonzero: int) -> dict:
    return {**NO_RETURNS, **nonzero}


def create_audit(client, version_id: int, **body) -> dict:
    r = client.post(
        f"{API}/audits", json={"template_version_id": version_id, "title": "Audit", **body}
    )
    assert r.status_code == 201, r.text
    return r.json()


def add_child(client, audit_id: int, pseudonym: str, agency_ids=(), **body) -> dict:
    r = client.post(
        f"{API}/audits/{audit_id}/children",
        json={"pseudonym": pseudonym, "agency_ids": list(agency_ids), **body},
    )
    assert r.status_code == 201, r.text
    return r.json()


def children(client, audit_id: int) -> list[dict]:
    r = client.get(f"{API}/audits/{audit_id}/children")
    assert r.status_code == 200, r.text
    assert r.json()["total"] == len(r.json()["items"])
    return r.json()["items"]


def get_audit(client, audit_id: int) -> dict:
    r = client.get(f"{API}/audits/{audit_id}")
    assert r.status_code == 200, r.text
    return r.json()


def open_audit(client, audit_id: int) -> dict:
    """Open the audit, confirming its warnings (test agencies mostly have no auditors)."""
    r = client.post(f"{API}/audits/{audit_id}/open", json={"confirm": True})
    assert r.status_code == 200, r.text
    return r.json()


def key_areas(client, version_id: int) -> list[dict]:
    return client.get(f"{API}/template-versions/{version_id}").json()["key_areas"]


def start_draft(client, return_id: int, version_id: int) -> dict:
    """Save one answer, which turns a not-started return into a draft (version 2)."""
    first_question = key_areas(client, version_id)[0]["questions"][0]["id"]
    r = client.put(
        f"{API}/returns/{return_id}/draft",
        json={"version": 1, "answers": [{"question_id": first_question, "value": "yes"}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "draft"
    return r.json()


def submit_complete(client, return_id: int, version_id: int) -> dict:
    """Answer every required question, grade every key area and overall, then submit."""
    answers, grades = [], []
    for area in key_areas(client, version_id):
        yes_partly_no, _free_text, meeting_date = area["questions"]
        answers += [
            {"question_id": yes_partly_no["id"], "value": "partly"},
            {"question_id": meeting_date["id"], "value": "2024-03-01"},
        ]
        grades.append({"key_area_id": area["id"], "level": "RI"})
    current = client.get(f"{API}/returns/{return_id}").json()["version"]
    r = client.put(
        f"{API}/returns/{return_id}/draft",
        json={"version": current, "answers": answers, "grades": grades, "overall_grade": "G"},
    )
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/returns/{return_id}/submit", json={"version": r.json()["version"]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted"
    return r.json()


def set_status(db, audit_id: int, status: AuditStatus) -> None:
    audit = db.get(Audit, audit_id)
    audit.status = status
    db.flush()


def return_ids(child: dict) -> dict[int, int]:
    """agency id -> return id for one child."""
    return {inv["agency_id"]: inv["return_id"] for inv in child["involvements"]}


def save_return(client, return_id: int, *, submit: bool = True, **body) -> dict:
    """Save a return's draft with ``body`` (answers, evidence, grades) at its current
    version, then submit it unless asked not to; the last answer's body."""
    current = client.get(f"{API}/returns/{return_id}").json()["version"]
    r = client.put(f"{API}/returns/{return_id}/draft", json={"version": current, **body})
    assert r.status_code == 200, r.text
    if submit:
        r = client.post(
            f"{API}/returns/{return_id}/submit",
            json={"version": r.json()["version"], "confirm_identifying": True},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "submitted"
    return r.json()
