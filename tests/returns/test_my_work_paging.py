"""My work a page of audits at a time: however many audits are open at once, a page
holds at most AUDITS_PER_PAGE audit groups (to do first, then done), the counts are of
every page, and the API pages the same way."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from app.audits import cohort, lifecycle
from app.audits import service as audits
from app.returns import work
from app.returns.models import Return, ReturnStatus
from tests.helpers.access import actor_of, enrolled_auditor, sign_in_with_the_form
from tests.helpers.factories import make_template
from tests.helpers.statements import page_and_statements

HEADINGS = re.compile(r'<h3 class="govuk-heading-s govuk-!-margin-bottom-1">([^<]+)</h3>')


@pytest.fixture
def busy(db, anonymous_client, monkeypatch):
    """The auditor's agency in five open audits (Audit A to Audit E, due a day apart,
    Audit A first; one return of Audit E done), two audit groups a page."""
    monkeypatch.setattr(work, "AUDITS_PER_PAGE", 2)
    user, first = enrolled_auditor(db)
    first.title = "Audit A"
    first.returns_due_on = date.today() + timedelta(days=1)
    for n, title in enumerate(("Audit B", "Audit C", "Audit D", "Audit E"), start=2):
        made = audits.create_audit(
            db,
            template_version_id=first.template_version_id,
            title=title,
            returns_due_on=date.today() + timedelta(days=n),
            agency_ids=[user.agency_id],
        )
        for child in ("Child A", "Child B"):
            cohort.add_child(db, audit=made, pseudonym=child, agency_ids=[user.agency_id])
        lifecycle.open_audit(db, audit=made, confirm=True)
        if title == "Audit E":
            db.flush()
            done = db.query(Return).filter(Return.audit_id == made.id).first()
            done.status = ReturnStatus.SUBMITTED
    db.commit()
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    sign_in_with_the_form(anonymous_client, user)
    return user, anonymous_client


def test_each_page_holds_at_most_a_page_of_audits(db, busy):
    user, browser = busy
    pages = [work.my_work(db, actor=actor_of(user), today=date.today(), page=n) for n in (1, 2, 3)]
    shown = [[(g.title, done) for done in (False, True) for g in (p.done if done else p.to_do)]
             for p in pages]  # fmt: skip
    assert shown == [
        [("Audit A", False), ("Audit B", False)],
        [("Audit C", False), ("Audit D", False)],
        [("Audit E", False), ("Audit E", True)],
    ]
    for page in pages:
        assert (page.pages, page.to_do_count, page.done_count) == (3, 9, 1)
    # A page past the last shows the last.
    assert work.my_work(db, actor=actor_of(user), today=date.today(), page=9).page == 3


def test_the_page_links_to_the_next_and_the_previous(busy):
    _user, browser = busy
    first = browser.get("/my-work").text
    assert HEADINGS.findall(first) == ["Audit A", "Audit B"]
    assert "9 returns to do" in first and "1 done" in first
    assert "Page 1 of 3" in first and 'href="/my-work?page=2"' in first
    second = browser.get("/my-work?page=2").text
    assert HEADINGS.findall(second) == ["Audit C", "Audit D"]
    assert 'href="/my-work?page=1"' in second and 'href="/my-work?page=3"' in second
    assert browser.get("/my-work?page=0").status_code == 422


def test_the_api_pages_the_same_way(busy):
    _user, browser = busy
    body = browser.get("/api/v1/me/work", params={"page": 3}).json()
    assert (body["page"], body["pages"]) == (3, 3)
    assert [a["title"] for a in body["to_do"]] == ["Audit E"]
    assert [a["title"] for a in body["done"]] == ["Audit E"]
    assert body["counts"] == {"to_do": 9, "overdue": 0, "done": 1}


def test_more_audits_on_more_templates_cost_no_more_queries(db, anonymous_client):
    """Each return's progress needs its template's key areas: read for every template
    on the page at once, so five audits on five templates take as many statements
    as two on two."""
    user, first = enrolled_auditor(db)

    def add(count: int) -> None:
        for n in range(count):
            made = audits.create_audit(
                db,
                template_version_id=make_template(db).id,
                title=f"Audit {n}",
                returns_due_on=date.today() + timedelta(days=n + 2),
                agency_ids=[user.agency_id],
            )
            cohort.add_child(db, audit=made, pseudonym="Child A", agency_ids=[user.agency_id])
            lifecycle.open_audit(db, audit=made, confirm=True)
        db.commit()

    def page() -> tuple[str, int]:
        return page_and_statements(anonymous_client, db, "/my-work")

    sign_in_with_the_form(anonymous_client, user)
    add(1)
    short, few = page()
    add(3)
    long, many = page()
    assert len(HEADINGS.findall(short)) == 2 and len(HEADINGS.findall(long)) == 5
    assert many == few
