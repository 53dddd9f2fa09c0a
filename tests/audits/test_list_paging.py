"""The audits list a page at a time (50 a page), with GOV.UK's pagination: every page
link keeps the filters and the sort; the filter form does not carry the page, so a
new filter starts at the first; the caption counts every page's audits."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
import time_machine

from app.access import service as access
from app.access.models import Role
from app.audits.models import Audit, AuditStatus
from app.audits.pages.overview import AUDITS_PER_PAGE
from tests.helpers.access import browse_as
from tests.helpers.factories import make_template

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
TITLES = re.compile(r'<a class="govuk-link" href="/audits/\d+">([^<]+)</a>')
PAGE_LINK = re.compile(
    r'<a class="govuk-link govuk-pagination__link" href="([^"]+)" rel="(prev|next)"'
)
NUMBERS = re.compile(
    r'<a class="govuk-link govuk-pagination__link" href="([^"]+)" aria-label="Page (\d+)"'
    r'( aria-current="page")?>'
)


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def moderator(anonymous_client, db):
    """Someone who sees every audit, each title linking to its overview."""
    user = access.create_user(
        db, email="moderator@example.org", display_name="Moderator", roles={Role.MODERATOR}
    )
    browse_as(anonymous_client, db, user)
    return anonymous_client


@pytest.fixture
def many(db):
    """120 audits, "Audit 001" the oldest to "Audit 120" the newest: the even ones open,
    the odd ones planned. Rows, not made through the service: the list is under test."""
    version = make_template(db)
    db.add_all(
        Audit(
            template_version_id=version.id,
            title=f"Audit {n:03}",
            status=AuditStatus.OPEN if n % 2 == 0 else AuditStatus.PLANNED,
            returns_due_on=date(2026, 12, 7),
            created_at=NOW - timedelta(minutes=200 - n),
        )
        for n in range(1, 121)
    )
    db.commit()


def links(html: str) -> dict[str, str]:
    """The Previous and Next links' addresses, by rel."""
    return {rel: unescape(href) for href, rel in PAGE_LINK.findall(html)}


def numbers(html: str) -> list[tuple[int, str, bool]]:
    """The numbered page links: number, address, whether it is this page."""
    return [(int(n), unescape(href), bool(now)) for href, n, now in NUMBERS.findall(html)]


def titles(*ns: int) -> list[str]:
    return [f"Audit {n:03}" for n in ns]


def test_fifty_a_page_newest_first(moderator, many):
    assert AUDITS_PER_PAGE == 50
    page = moderator.get("/audits").text
    assert TITLES.findall(page) == titles(*range(120, 70, -1))
    assert ">120 audits</caption>" in page  # every page's audits, not this page's
    assert links(page) == {"next": "/audits?page=2"}
    assert numbers(page) == [
        (1, "/audits?page=1", True),
        (2, "/audits?page=2", False),
        (3, "/audits?page=3", False),
    ]
    assert 'name="page"' not in page  # a new filter starts at the first page


def test_the_page_links_keep_the_search_and_the_sort(moderator, many):
    page = moderator.get("/audits?q=audit&sort=title").text
    assert TITLES.findall(page) == titles(*range(1, 51))
    assert ">120 audits found</caption>" in page
    assert links(page) == {"next": "/audits?q=audit&sort=title&page=2"}
    middle = moderator.get(links(page)["next"]).text
    assert TITLES.findall(middle) == titles(*range(51, 101))
    assert links(middle) == {
        "prev": "/audits?q=audit&sort=title&page=1",
        "next": "/audits?q=audit&sort=title&page=3",
    }
    last = moderator.get(links(middle)["next"]).text
    assert TITLES.findall(last) == titles(*range(101, 121))
    assert ">120 audits found</caption>" in last
    assert links(last) == {"prev": "/audits?q=audit&sort=title&page=2"}
    assert [(n, now) for n, _href, now in numbers(last)] == [(1, False), (2, False), (3, True)]


def test_a_filter_and_a_page(moderator, many):
    page = moderator.get("/audits?status=open&sort=-title&page=2").text
    assert TITLES.findall(page) == titles(*range(20, 0, -2))
    assert ">60 audits found</caption>" in page
    assert links(page) == {"prev": "/audits?status=open&sort=-title&page=1"}
    assert '<option value="open" selected>' in page


def test_a_page_past_the_last_is_empty_and_leads_back(moderator, many):
    r = moderator.get("/audits?status=open&page=7")
    assert r.status_code == 200 and TITLES.findall(r.text) == []
    assert "There are only 2 pages of audits that match these filters." in r.text
    assert links(r.text) == {"prev": "/audits?status=open&page=2"}
    assert moderator.get("/audits?page=0").status_code == 422


def test_one_page_draws_no_pagination(moderator, many):
    page = moderator.get("/audits?q=audit 11").text
    assert TITLES.findall(page) == titles(*range(119, 109, -1))
    assert "govuk-pagination" not in page


def test_many_pages_number_the_ends_and_the_neighbours(moderator, many, monkeypatch):
    # GOV.UK's numbered pagination: the first and last pages, this one and those either
    # side of it, each gap an ellipsis.
    monkeypatch.setattr("app.audits.pages.overview.AUDITS_PER_PAGE", 10)
    page = moderator.get("/audits?page=6").text
    assert [(n, now) for n, _href, now in numbers(page)] == [
        (1, False),
        (5, False),
        (6, True),
        (7, False),
        (12, False),
    ]
    assert page.count("govuk-pagination__item--ellipsis") == 2
    assert TITLES.findall(page) == titles(*range(70, 60, -1))
