"""Helpers shared by the tests of findings, themes and learning actions
(tests/findings, tests/actions); their fixtures are in tests/helpers/action_fixtures.py."""

from __future__ import annotations

import re
from datetime import date, timedelta

from app.access.policy import SYSTEM
from app.audits import service as audits
from app.findings import service as findings
from app.findings.models import Finding

API = "/api/v1"
# The fixed day the tests' clock reads: every due date below is relative to it.
TODAY = date(2027, 3, 1)
EXECUTIVE_AFTER = 28
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
SUMMARY = re.compile(r'class="govuk-error-summary".*?</ul>', re.S)


def fields(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


def action_body(audit, agency_id: int, **extra) -> dict:
    return {
        "audit_id": audit.id,
        "title": "Record the child's words at every strategy discussion",
        "owning_agency_id": agency_id,
        "owner_name": "Jo Bloggs, Head of Safeguarding",
        "due_on": str(TODAY + timedelta(days=30)),
        "success_measure": "A dip sample of 10 strategy minutes shows the child's words in 9.",
        **extra,
    }


def create_action(client, audit, agency_id: int, headers: dict | None = None, **extra) -> dict:
    r = client.post(f"{API}/actions", json=action_body(audit, agency_id, **extra), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def move(client, action_id: int, status: str, headers: dict | None = None, **extra):
    return client.post(
        f"{API}/actions/{action_id}/status", json={"status": status, **extra}, headers=headers
    )


def moved(client, action_id: int, status: str, headers: dict | None = None, **extra) -> dict:
    r = move(client, action_id, status, headers, **extra)
    assert r.status_code == 200, r.text
    return r.json()


def token(client, path: str) -> str:
    """The CSRF token of the form on the page at ``path``."""
    return CSRF.search(client.get(path).text).group(1)


def summary_links(html: str) -> list[str]:
    """Where each message of the page's GOV.UK error summary links to."""
    found = SUMMARY.search(html)
    assert found, "no error summary"
    return re.findall(r'<a href="([^"]+)"', found.group(0))


def make_finding(db, audit, **about) -> Finding:
    """An area for improvement recorded on ``audit`` (committed)."""
    full = audits.get_audit(db, audit_id=audit.id, actor=SYSTEM)
    made = findings.create_finding(
        db,
        actor=SYSTEM,
        audit=full,
        kind="area_for_improvement",
        statement="Consent to share was not recorded.",
        **about,
    )
    db.commit()
    return made
