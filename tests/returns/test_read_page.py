"""The read-only return: the whole return on one page for whoever may read it but not
change it, with the agency's own grades, the moderated grades and their reasons beside
them, its versions, a way back to where the reader came from, and print styles."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.auditlog import pending
from app.auditlog.models import AuditEvent
from app.returns.models import Return
from tests.helpers.access import browse_as
from tests.helpers.factories import make_audit
from tests.moderation.test_moderation import decide, submit_all

API = "/api/v1"
REASON = "No strategy discussion was held, though the risk was known."


@pytest.fixture
def audit(db):
    return make_audit(db, children=1, agencies_count=2)


@pytest.fixture
def moderated(client, db, audit, monkeypatch):
    """Every return submitted; in moderation, the first key area of the first agency's
    return moderated down with a reason. Then the API is signed in for real again."""
    client.event_hooks["request"].append(lambda _request: db.expire_all())
    template = client.get(f"{API}/template-versions/{audit.template_version_id}").json()
    returns = submit_all(client, audit, template, grade="G")
    assert client.post(f"{API}/audits/{audit.id}/moderation/open").status_code == 200
    first = min(r["id"] for r in returns)
    area = template["key_areas"][0]
    assert decide(client, audit, first, area["id"], "RI", REASON).status_code == 201
    monkeypatch.undo()  # the system, for the set-up only
    client.cookies.clear()
    return db.get(Return, first), template


def sign_in(client, db, role: Role, agency_id: int | None = None) -> None:
    user = access.create_user(
        db,
        email=f"{role.value}@example.org",
        display_name=f"A {role.value}",
        roles={role},
        agency_id=agency_id,
    )
    browse_as(client, db, user)


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.SCRUTINEER])
def test_every_answer_and_both_grades_side_by_side(client, db, moderated, role):
    return_, template = moderated
    sign_in(client, db, role)
    page = client.get(f"/returns/{return_.id}").text
    # Every question as the template words it, each answer as the auditor gave it.
    for key_area in template["key_areas"]:
        assert key_area["title"] in page
        for question in key_area["questions"]:
            assert question["prompt"] in page
    assert len(re.findall(r">\s*Yes\s*<", page)) == len(template["key_areas"])
    assert "29 February 2024" in page
    # The three boxes of evidence of each key area, even when empty.
    assert page.count("What went well") == len(template["key_areas"])
    # The agency's grade, and the moderated one with its reason, who and when.
    assert page.count("Agency&#39;s own grade") == len(template["key_areas"]) + 1
    assert "Moderated grade" in page and "(changed from Good)" in page and REASON in page
    assert "Moderation is under way" in page
    # Nothing to change: no form but signing out, no Change links.
    assert page.count("<form") == 2  # signing out, and the timeout warning's
    assert ">Change<" not in page
    # The versions, and a way to what changed.
    assert "Version 1, submitted by" in page
    assert f"/returns/{return_.id}/versions?from=/returns/{return_.id}" in page


def test_the_read_is_logged(client, db, moderated):
    return_, _template = moderated
    sign_in(client, db, Role.SCRUTINEER)
    client.get(f"/returns/{return_.id}")
    pending.seal(db)  # as when the log is read
    reads = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "return.read", AuditEvent.object_id == return_.id
        )
    ).all()
    assert [e.user_label for e in reads] == ["scrutineer@example.org"]


def test_the_back_link_goes_where_the_reader_came_from_and_only_within_the_service(
    client, db, moderated, audit
):
    return_, _template = moderated
    sign_in(client, db, Role.MODERATOR)
    came = f"/audits/{audit.id}/moderation?child=1"
    page = client.get(f"/returns/{return_.id}", params={"from": came}).text
    back = re.findall(r'<a href="([^"]*)" class="govuk-back-link">Back</a>', page)
    assert [href.replace("&amp;", "&") for href in back] == [came]
    # From the moderation grid's cell page, the link carries the way back.
    cell = client.get(f"/audits/{audit.id}/moderation/returns/{return_.id}/cells/0").text
    assert f"/returns/{return_.id}?from=/audits/{audit.id}/moderation/returns/" in cell
    # Another site, or anything not a path here, is ignored: back to the audit.
    for elsewhere in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)"):
        page = client.get(f"/returns/{return_.id}", params={"from": elsewhere}).text
        assert re.findall(r'<a href="([^"]*)" class="govuk-back-link"', page) == [
            f"/audits/{audit.id}"
        ]
        assert not re.search(r'href="(//|https?:|javascript:)', page)


def test_the_agencys_own_auditor_reads_a_submitted_return_and_is_told_why(
    client, db, audit, monkeypatch
):
    template = client.get(f"{API}/template-versions/{audit.template_version_id}").json()
    returns = submit_all(client, audit, template)
    monkeypatch.undo()
    own = db.get(Return, returns[0]["id"])
    sign_in(client, db, Role.AUDITOR, agency_id=own.agency_id)
    page = client.get(f"/returns/{own.id}").text
    assert "Your agency has submitted this return" in page
    assert "Moderated grade" not in page  # not moderated: nothing yet to show
    assert 'href="/my-work" class="govuk-back-link"' in page


def test_it_prints_as_it_reads(client, db, moderated):
    return_, _template = moderated
    sign_in(client, db, Role.SCRUTINEER)
    page = client.get(f"/returns/{return_.id}").text
    # A print button, shown by the page's script only where it works.
    assert "data-print hidden" in page and "Print this return" in page
    css = client.get("/static/service.css").text
    printing = css[css.index("@media print") :]
    for hidden in (".govuk-template__header", ".govuk-back-link", ".app-no-print"):
        assert hidden in printing
