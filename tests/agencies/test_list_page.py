"""Admin: the agencies as a list, searched by name, filtered by kind and status and
sorted with the GOV.UK patterns (a GET form, sortable column headings with
aria-sort), every choice kept in the address; a choice not offered is a 422 with the
error summary, never a 500."""

from __future__ import annotations

import re
from html import unescape

import pytest

from app.access import service as access
from app.access.models import Role
from app.agencies import service as agencies
from app.agencies.models import AgencyKind
from tests.helpers.access import browse_as
from tests.helpers.factories import make_agency

NAMES = re.compile(r'<th scope="row" class="govuk-table__header">([^<]+)</th>')
SORTED = re.compile(
    r'aria-sort="(ascending|descending)"><a class="govuk-link" href="([^"]+)">([^<]+)</a>'
)
SUMMARY = re.compile(r'class="govuk-error-summary".*?</ul>', re.S)


def summary_links(html: str) -> list[str]:
    found = SUMMARY.search(html)
    assert found, "no error summary"
    return re.findall(r'href="([^"]+)"', found.group(0))


def names(html: str) -> list[str]:
    return [unescape(n).strip() for n in NAMES.findall(html)]


@pytest.fixture
def admin(anonymous_client, db):
    """Westshire Police, Westshire Health (community health) and Eastshire Police
    (deactivated); an admin browsing."""
    make_agency(db, name="Westshire Police", kind=AgencyKind.POLICE)
    make_agency(db, name="Westshire Health", kind=AgencyKind.COMMUNITY_HEALTH)
    east = make_agency(db, name="Eastshire Police", kind=AgencyKind.POLICE)
    agencies.update_agency(db, agency=east, changes={"active": False})
    user = access.create_user(db, email="a@example.org", display_name="A", roles={Role.ADMIN})
    browse_as(anonymous_client, db, user)
    return anonymous_client


def test_search_and_filters(admin):
    page = admin.get("/admin/agencies?q=POLICE").text
    assert names(page) == ["Eastshire Police", "Westshire Police"]
    assert 'value="POLICE"' in page and "2 agencies found" in page
    page = admin.get("/admin/agencies?kind=police&active=yes").text
    assert names(page) == ["Westshire Police"]
    assert '<option value="police" selected>' in page
    assert names(admin.get("/admin/agencies?active=no").text) == ["Eastshire Police"]
    assert "No agencies match these filters." in admin.get("/admin/agencies?q=50%25").text


def test_columns_sort_both_ways_keeping_the_filters(admin):
    assert names(admin.get("/admin/agencies").text) == [
        "Eastshire Police",
        "Westshire Health",
        "Westshire Police",
    ]
    page = admin.get("/admin/agencies?q=westshire&sort=name").text
    ((state, href, label),) = SORTED.findall(page)
    assert (state, label) == ("ascending", "Agency")
    assert unescape(href) == "/admin/agencies?q=westshire&sort=-name"
    assert '<input type="hidden" name="sort" value="name">' in page
    page = admin.get(unescape(href)).text
    assert names(page) == ["Westshire Police", "Westshire Health"]
    assert SORTED.findall(page)[0][0] == "descending"
    assert names(admin.get("/admin/agencies?sort=-status").text)[0] == "Eastshire Police"
    assert names(admin.get("/admin/agencies?sort=kind").text)[0] == "Westshire Health"


@pytest.mark.parametrize(
    ("query", "field"),
    [("kind=bakery", "#kind"), ("active=maybe", "#active"), ("sort=colour", "#agencies")],
)
def test_a_choice_not_offered_is_422(admin, query, field):
    r = admin.get(f"/admin/agencies?{query}")
    assert r.status_code == 422 and summary_links(r.text) == [field]
