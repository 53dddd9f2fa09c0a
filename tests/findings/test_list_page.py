"""An audit's findings as a list: searched, filtered by kind and theme and sorted with
the GOV.UK patterns (a GET form, sortable column headings with aria-sort), every
choice kept in the address; a choice not offered is a 422 with the error summary."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from app.access.policy import SYSTEM
from app.audits import cohort
from app.audits import service as audits
from app.findings import service as findings
from app.findings.models import FindingKind, Theme
from tests.helpers.actions import summary_links

# A row's kind and statement cells (the cells after the finding's number).
STATEMENTS = re.compile(
    r'<td class="govuk-table__cell">([^<]+)</td>\s*'
    r'<td class="govuk-table__cell">([^<]+)</td>\s*<td class="govuk-table__cell">(?:[^<]*)</td>'
)
SORTED = re.compile(
    r'aria-sort="(ascending|descending)"><a class="govuk-link" href="([^"]+)">([^<]+)</a>'
)
IDS = re.compile(r'id="finding-(\d+)"')

CONSENT = "Consent to share was not recorded."
VOICE = "The child's voice was heard at every meeting."
MINUTES = "Minutes of strategy meetings were missing."


def statements(html: str) -> list[str]:
    """The findings' statements, in the table's order."""
    return [statement for _kind, statement in STATEMENTS.findall(unescape(html))]


@pytest.fixture
def three(db, audit):
    """Two areas for improvement (CONSENT tagged Recording, MINUTES) and one good
    practice (VOICE, tagged Voice of the child, about Child A), made through the
    service in that order."""
    full = audits.get_audit(db, audit_id=audit.id, actor=SYSTEM)
    theme = {t.name: t.id for t in db.scalars(select(Theme))}
    child_a = next(c for c in cohort.list_children(db, audit=audit) if c.pseudonym == "Child A")
    made = {}
    for kind, statement, about in (
        (FindingKind.AREA_FOR_IMPROVEMENT, CONSENT, {"theme_ids": [theme["Recording"]]}),
        (
            FindingKind.GOOD_PRACTICE,
            VOICE,
            {"theme_ids": [theme["Voice of the child"]], "child_id": child_a.id},
        ),
        (FindingKind.AREA_FOR_IMPROVEMENT, MINUTES, {}),
    ):
        made[statement] = findings.create_finding(
            db, actor=SYSTEM, audit=full, kind=kind, statement=statement, **about
        )
    db.commit()
    return made | {"themes": theme}


def test_lists_areas_for_improvement_first(moderator, audit, three):
    page = moderator.get(f"/audits/{audit.id}/findings").text
    assert statements(page) == [CONSENT, MINUTES, VOICE]
    assert "3 findings" in page
    assert [int(i) for i in IDS.findall(page)] == [three[s].id for s in (CONSENT, MINUTES, VOICE)]


def test_search_finds_the_statements_words(moderator, audit, three):
    page = moderator.get(f"/audits/{audit.id}/findings?q=MEETING").text
    assert statements(page) == [MINUTES, VOICE]
    assert "2 findings of 3" in page
    assert 'value="MEETING"' in page
    page = moderator.get(f"/audits/{audit.id}/findings?q=50%25").text
    assert "No findings match these filters." in page


def test_filters_by_kind_and_theme(moderator, audit, three):
    page = moderator.get(f"/audits/{audit.id}/findings?kind=good_practice").text
    assert statements(page) == [VOICE]
    assert '<select class="govuk-select govuk-!-width-full" id="filter-kind" name="kind">' in page
    assert '<option value="good_practice" selected>' in page
    recording = three["themes"]["Recording"]
    page = moderator.get(f"/audits/{audit.id}/findings?theme_id={recording}").text
    assert statements(page) == [CONSENT]
    page = moderator.get(
        f"/audits/{audit.id}/findings?theme_id={recording}&kind=good_practice"
    ).text
    assert "No findings match these filters." in page


def test_columns_sort_both_ways_keeping_the_filters(moderator, audit, three):
    base = f"/audits/{audit.id}/findings"
    page = moderator.get(f"{base}?kind=area_for_improvement&sort=statement").text
    assert statements(page) == [CONSENT, MINUTES]
    ((state, href, label),) = SORTED.findall(page)
    assert (state, label) == ("ascending", "What was found")
    assert unescape(href) == f"{base}?kind=area_for_improvement&sort=-statement"
    assert '<input type="hidden" name="sort" value="statement">' in page
    assert (
        f'aria-sort="none"><a class="govuk-link" href="{base}?kind=area_for_improvement&amp;sort=id"'
        in page
    )
    page = moderator.get(unescape(href)).text
    assert statements(page) == [MINUTES, CONSENT]
    assert SORTED.findall(page)[0][0] == "descending"
    assert statements(moderator.get(f"{base}?sort=-id").text) == [MINUTES, VOICE, CONSENT]
    assert statements(moderator.get(f"{base}?sort=-kind").text) == [VOICE, CONSENT, MINUTES]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=praise", "#filter-kind"),
        ("theme_id=999999", "#filter-theme"),
        ("sort=colour", "#findings"),
    ],
)
def test_a_choice_not_offered_is_422(moderator, audit, three, query, field):
    r = moderator.get(f"/audits/{audit.id}/findings?{query}")
    assert r.status_code == 422 and summary_links(r.text) == [field]
