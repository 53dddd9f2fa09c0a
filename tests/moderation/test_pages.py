"""The moderation workspace in the browser's terms (form posts, no JavaScript): the
grid by child and by agency, a cell's evidence and decision with the error summary,
sending a return back, and finishing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.access.policy import SYSTEM
from app.audits import service as audits
from app.audits.models import Audit, AuditStatus, audit_agency
from app.moderation import lifecycle
from app.moderation import service as moderation
from app.returns.models import Return, ReturnStatus
from tests.helpers.access import browse_as

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture
def audit(submitted_audit):
    return submitted_audit


def post(client, path, page, **data):
    token = CSRF.search(client.get(page).text).group(1)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def test_open_decide_send_back_and_finish_through_the_pages(moderator, db, audit):
    base = f"/audits/{audit.id}/moderation"
    page = moderator.get(base)
    assert page.status_code == 200 and "Open moderation" in page.text
    assert post(moderator, f"{base}/open", base).status_code == 303
    page = moderator.get(base).text
    assert "0 of 2 children moderated" in page and "To moderate" in page

    returns = db.scalars(select(Return).where(Return.audit_id == audit.id)).all()
    first = returns[0]
    found = moderation.grid(db, actor=moderation_actor(), audit=audit)
    cells = [c for c in found.cells.values() if c.return_id == first.id]
    area = next(c.cell for c in cells if c.cell)
    cell_url = f"{base}/returns/{first.id}/cells/{area}"
    shown = moderator.get(cell_url)
    assert "What went well" in shown.text and "the agency&#39;s own grade" in shown.text
    missing = post(moderator, cell_url, cell_url, level="I")
    assert missing.status_code == 422
    assert 'href="#rationale"' in missing.text
    saved = post(moderator, cell_url, cell_url, level="I", rationale="Not seen.")
    assert saved.status_code == 303
    # Back to the grid showing that child, not every child, with the confirmation.
    assert saved.headers["location"].endswith(f"/moderation?child={first.child_id}")
    assert "The decision has been saved." in moderator.get(saved.headers["location"]).text
    assert "G → I" in moderator.get(base).text

    # Another agency's view, then sending a return back with the note required.
    agency_page = moderator.get(f"{base}?agency={first.agency_id}")
    assert agency_page.status_code == 200 and "every child" in agency_page.text
    send = f"{base}/returns/{first.id}/send-back"
    version = re.search(r'name="version" value="(\d+)"', moderator.get(cell_url).text).group(1)
    empty = post(moderator, send, cell_url, version=version, note="", cell=str(area))
    assert empty.status_code == 422 and "Say what the agency needs to amend" in empty.text
    # The page checks the note as the API does: no control characters.
    nul = post(moderator, send, cell_url, version=version, note="Add\x00 dates", cell=str(area))
    assert nul.status_code == 422 and "must not contain control characters" in nul.text
    assert db.get(Return, first.id).status == ReturnStatus.SUBMITTED
    sent = post(moderator, send, cell_url, version=version, note="Add the visit dates.")
    assert sent.status_code == 303
    db.expire_all()
    assert db.get(Return, first.id).status == ReturnStatus.RETURNED

    refused = post(moderator, f"{base}/finish", base)
    assert refused.status_code == 422 and "grade(s) still to moderate" in refused.text
    assert db.get(Audit, audit.id).status == AuditStatus.MODERATION


def moderation_actor():
    return SYSTEM


def test_agencies_see_the_grid_only_once_moderation_is_open(anonymous_client, db, audit):
    police = audit_agency_ids(db, audit)[0]
    user = access.create_user(
        db, email="a@example.org", display_name="A", roles={Role.AUDITOR}, agency_id=police
    )
    db.commit()
    browse_as(anonymous_client, db, user)
    blind = anonymous_client.get(f"/audits/{audit.id}/moderation")
    assert blind.status_code == 404
    lifecycle.open_moderation(db, audit=audits.get_audit(db, audit_id=audit.id, actor=SYSTEM))
    db.commit()
    shown = anonymous_client.get(f"/audits/{audit.id}/moderation")
    assert shown.status_code == 200
    assert "Open moderation" not in shown.text and "Save decision" not in shown.text


def audit_agency_ids(db, audit) -> list[int]:
    return sorted(
        db.scalars(select(audit_agency.c.agency_id).where(audit_agency.c.audit_id == audit.id))
    )


DMY = ("day", "month", "year")


def test_the_analytics_filters_left_blank_mean_any(moderator):
    dates = "&".join(f"moderated_{end}-{part}=" for end in ("from", "to") for part in DMY)
    page = moderator.get(f"/analytics?agency_id=&template_id=&key_area=&{dates}")
    assert page.status_code == 200 and "What moderation shows" in page.text
    # The dates are GOV.UK date inputs, read by the one date reader.
    bad = moderator.get(
        "/analytics?moderated_from-day=31&moderated_from-month=2&moderated_from-year=2026"
    )
    # A filter refused is a 422 (as unknown weights are), shown with the error summary.
    assert bad.status_code == 422 and 'href="#moderated_from-day"' in bad.text
    assert "The start date must be a real date" in bad.text
    backwards = moderator.get(
        "/analytics?moderated_from-day=1&moderated_from-month=6&moderated_from-year=2026"
        "&moderated_to-day=1&moderated_to-month=5&moderated_to-year=2026"
    )
    assert "The end date must be on or after the start date" in backwards.text
