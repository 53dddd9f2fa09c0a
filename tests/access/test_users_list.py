"""Admin: the accounts as a list, searched by name or email address, filtered by
role, agency and status and sorted with the GOV.UK patterns (a GET form, sortable
column headings with aria-sort), every choice kept in the address and the page links;
a choice not offered is a 422 with the error summary, never a 500."""

from __future__ import annotations

import re
from html import unescape

import pytest

from app.access import service as access
from app.access.models import Role
from tests.helpers.access import signed_in_cookie
from tests.helpers.factories import make_agency

NAMES = re.compile(r'<a class="govuk-link" href="/admin/users/\d+">([^<]+)</a>')
SORTED = re.compile(
    r'aria-sort="(ascending|descending)"><a class="govuk-link" href="([^"]+)">([^<]+)</a>'
)
SUMMARY = re.compile(r'class="govuk-error-summary".*?</ul>', re.S)


def summary_links(html: str) -> list[str]:
    found = SUMMARY.search(html)
    assert found, "no error summary"
    return re.findall(r'href="([^"]+)"', found.group(0))


def names(html: str) -> list[str]:
    return [unescape(n) for n in NAMES.findall(html)]


@pytest.fixture
def people(db):
    """Bea Business (admin, no agency); Pat Police (auditor, Westshire Police);
    Ash Health (auditor, Westshire Health, disabled); Sam Chair (moderator)."""
    police = make_agency(db, name="Westshire Police")
    health = make_agency(db, name="Westshire Health")
    made = {}
    for email, name, role, agency in (
        ("business.unit@example.org", "Bea Business", Role.ADMIN, None),
        ("pat@police.example.org", "Pat Police", Role.AUDITOR, police),
        ("ash@health.example.org", "Ash Health", Role.AUDITOR, health),
        ("chair@example.org", "Sam Chair", Role.MODERATOR, None),
    ):
        made[name] = access.create_user(
            db,
            email=email,
            display_name=name,
            roles={role},
            agency_id=agency.id if agency else None,
        )
    access.update_user(db, user=made["Ash Health"], changes={"active": False})
    db.commit()
    return made | {"police": police, "health": health}


@pytest.fixture
def admin(anonymous_client, db, people):
    anonymous_client.cookies.set("case_audit_session", signed_in_cookie(db, people["Bea Business"]))
    return anonymous_client


def test_search_finds_names_and_email_addresses(admin, people):
    assert names(admin.get("/admin/users?q=POLICE").text) == ["Pat Police"]
    assert names(admin.get("/admin/users?q=health.example").text) == ["Ash Health"]
    page = admin.get("/admin/users?q=sam").text
    assert names(page) == ["Sam Chair"] and 'value="sam"' in page and "1 account found" in page
    assert "No accounts match these filters." in admin.get("/admin/users?q=50%25").text


def test_filters_by_role_agency_and_status(admin, people):
    page = admin.get("/admin/users?role=auditor").text
    assert names(page) == ["Ash Health", "Pat Police"]
    assert '<form method="get" action="/admin/users"' in page
    assert '<option value="auditor" selected>' in page
    police = people["police"].id
    assert names(admin.get(f"/admin/users?agency_id={police}").text) == ["Pat Police"]
    assert names(admin.get("/admin/users?active=no").text) == ["Ash Health"]
    assert names(admin.get("/admin/users?role=auditor&active=yes").text) == ["Pat Police"]


def test_columns_sort_both_ways_keeping_the_filters(admin, people):
    # Unsorted, by email address, as before.
    assert names(admin.get("/admin/users").text) == [
        "Ash Health",
        "Bea Business",
        "Sam Chair",
        "Pat Police",
    ]
    page = admin.get("/admin/users?role=auditor&sort=name").text
    assert names(page) == ["Ash Health", "Pat Police"]
    ((state, href, label),) = SORTED.findall(page)
    assert (state, label) == ("ascending", "Name")
    assert unescape(href) == "/admin/users?role=auditor&sort=-name"
    assert '<input type="hidden" name="sort" value="name">' in page
    assert (
        'aria-sort="none"><a class="govuk-link" href="/admin/users?role=auditor&amp;sort=agency"'
        in page
    )
    page = admin.get(unescape(href)).text
    assert names(page) == ["Pat Police", "Ash Health"]
    assert SORTED.findall(page)[0][0] == "descending"
    by_agency = names(admin.get("/admin/users?sort=-agency").text)
    assert by_agency[:2] == ["Pat Police", "Ash Health"]
    assert names(admin.get("/admin/users?sort=-status").text)[0] == "Ash Health"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("role=owner", "#role"),
        ("agency_id=999999", "#agency_id"),
        ("active=maybe", "#active"),
        ("sort=colour", "#users"),
    ],
)
def test_a_choice_not_offered_is_422(admin, people, query, field):
    r = admin.get(f"/admin/users?{query}")
    assert r.status_code == 422 and summary_links(r.text) == [field]


def test_the_page_links_keep_the_filters(admin, db, people, monkeypatch):
    monkeypatch.setattr("app.access.pages.users.MAX_PER_PAGE", 1)
    page = admin.get("/admin/users?role=auditor&sort=name").text
    assert names(page) == ["Ash Health"]
    assert 'href="/admin/users?role=auditor&amp;sort=name&amp;page=2"' in page
    assert names(admin.get("/admin/users?role=auditor&sort=name&page=2").text) == ["Pat Police"]
