"""The action tracker as a list: searched, filtered and sorted with the GOV.UK patterns
(a GET form, sortable column headings with aria-sort), every choice kept in the
address; a choice not offered is a 422 with the error summary, never a 500."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from app.access.policy import SYSTEM
from app.actions import service
from app.actions.models import ActionStatus
from app.audits import service as audits
from tests.helpers.actions import TODAY, summary_links
from tests.helpers.statements import page_and_statements

TITLES = re.compile(r'<a class="govuk-link" href="/actions/\d+">([^<]+)</a>')
SORTED = re.compile(
    r'aria-sort="(ascending|descending)"><a class="govuk-link" href="([^"]+)">([^<]+)</a>'
)

VOICE = "Add the child's voice to strategy minutes"
HEALTH = "Invite health to strategy discussions"
SUPERVISION = "Record supervision of neglect cases"


@pytest.fixture
def three(db, audit, first, second):
    """Three actions made through the service: VOICE (Westshire Police, agreed, 40 days
    overdue), HEALTH (Westshire Health, proposed, due in 60 days) and SUPERVISION
    (Westshire Police, proposed, due in a week: due soon)."""
    first.name, second.name = "Westshire Police", "Westshire Health"
    full = audits.get_audit(db, audit_id=audit.id, actor=SYSTEM)
    made = {}
    for title, agency, days, words in (
        (VOICE, first, -40, "Minutes record what the child said"),
        (HEALTH, second, 60, "Health attends strategy discussions"),
        (SUPERVISION, first, 7, "Supervision notes name the child's lived experience"),
    ):
        made[title] = service.create_action(
            db,
            actor=SYSTEM,
            audit=full,
            title=title,
            description=words,
            owning_agency_id=agency.id,
            owner_name="Jo Bloggs",
            due_on=TODAY + timedelta(days=days),
            success_measure="Seen in the next audit",
        )
    service.change_status(db, actor=SYSTEM, action=made[VOICE], to=ActionStatus.AGREED)
    db.commit()
    return made


def test_search_finds_the_actions_words(moderator, three):
    page = moderator.get("/actions?q=STRATEGY").text
    assert TITLES.findall(unescape(page)) == [VOICE, HEALTH]
    assert (
        '<input class="govuk-input govuk-!-width-two-thirds" id="q" name="q" type="search"' in page
    )
    assert 'value="STRATEGY"' in page
    # The description's words count too; the downloads export exactly what is shown.
    page = moderator.get("/actions?q=lived+experience").text
    assert TITLES.findall(unescape(page)) == [SUPERVISION]
    assert 'href="/api/v1/actions/export.csv?q=lived+experience"' in page
    assert (
        "There are no learning actions matching these filters."
        in moderator.get("/actions?q=nothing+like+it").text
    )


def test_a_filter_within_a_search(moderator, three, first):
    page = moderator.get(f"/actions?q=strategy&agency_id={first.id}").text
    assert TITLES.findall(unescape(page)) == [VOICE]
    assert f'<option value="{first.id}" selected>' in page


def test_columns_sort_both_ways_keeping_the_filters(moderator, three, first):
    # Unsorted, the soonest due comes first and the Due column says so.
    page = moderator.get("/actions").text
    assert TITLES.findall(unescape(page)) == [VOICE, SUPERVISION, HEALTH]
    assert [(s, label) for s, _h, label in SORTED.findall(page)] == [("ascending", "Due")]

    page = moderator.get(f"/actions?agency_id={first.id}&sort=title").text
    assert TITLES.findall(unescape(page)) == [VOICE, SUPERVISION]
    ((state, href, label),) = SORTED.findall(page)
    assert (state, label) == ("ascending", "Action and audit")
    assert unescape(href) == f"/actions?agency_id={first.id}&sort=-title"
    assert '<input type="hidden" name="sort" value="title">' in page
    assert (
        f'aria-sort="none"><a class="govuk-link" href="/actions?agency_id={first.id}&amp;sort=rag"'
        in page
    )
    page = moderator.get(unescape(href)).text
    assert TITLES.findall(unescape(page)) == [SUPERVISION, VOICE]
    assert SORTED.findall(page)[0][0] == "descending"


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("rag", [VOICE, SUPERVISION, HEALTH]),  # overdue, due soon, on track
        ("-rag", [HEALTH, SUPERVISION, VOICE]),
        ("status", [SUPERVISION, HEALTH, VOICE]),  # proposed (soonest due first), agreed
        ("-status", [VOICE, SUPERVISION, HEALTH]),
        ("agency", [HEALTH, VOICE, SUPERVISION]),
        ("-due_on", [HEALTH, SUPERVISION, VOICE]),
    ],
)
def test_each_column_sorts(moderator, three, sort, expected):
    assert TITLES.findall(unescape(moderator.get(f"/actions?sort={sort}").text)) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=done", "#status"),
        ("audit_id=999999", "#audit_id"),
        ("agency_id=999999", "#agency_id"),
        ("subgroup_id=999999", "#subgroup_id"),
        ("theme_id=999999", "#theme_id"),
        ("sort=colour", "#actions"),
        ("sort=-id", "#actions"),
    ],
)
def test_a_choice_not_offered_is_422(moderator, three, query, field):
    r = moderator.get(f"/actions?{query}")
    assert r.status_code == 422 and summary_links(r.text) == [field]


def test_the_api_searches_too(api, three):
    found = api.get("/api/v1/actions", params={"q": "strategy"}).json()["items"]
    assert [a["title"] for a in found] == [VOICE, HEALTH]


def test_a_longer_tracker_costs_no_more_queries(db, moderator, audit, first, second):
    """Each row's audit, agency, standing and escalation come from a fixed number of
    queries, never one an action: 25 actions take as many statements as 5."""

    def add(count: int) -> None:
        full = audits.get_audit(db, audit_id=audit.id, actor=SYSTEM)
        for n in range(count):
            made = service.create_action(
                db,
                actor=SYSTEM,
                audit=full,
                title=f"Action {n}",
                description="Words",
                owning_agency_id=(first, second)[n % 2].id,
                owner_name="Jo Bloggs",
                due_on=TODAY + timedelta(days=40 * (n % 3) - 50),  # overdue, soon, later
                success_measure="Seen in the next audit",
            )
            if n % 4 == 0:
                service.change_status(db, actor=SYSTEM, action=made, to=ActionStatus.AGREED)
        db.commit()

    def page() -> tuple[str, int]:
        html, count = page_and_statements(moderator, db, "/actions")
        return unescape(html), count

    add(5)
    short, few = page()
    add(20)
    long, many = page()
    assert len(TITLES.findall(short)) == 5 and len(TITLES.findall(long)) == 25
    assert "QAPP" in long  # overdue ones are escalated to the lead subgroup
    assert many == few
