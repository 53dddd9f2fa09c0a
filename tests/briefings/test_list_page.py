"""The editors' list of briefings: searched by title, filtered by status and kind and
sorted with the GOV.UK patterns (a GET form, sortable column headings with
aria-sort), every choice kept in the address; a choice not offered is a 422 with the
error summary, never a 500."""

from __future__ import annotations

import re
from html import unescape

import pytest

from app.access import service as access
from app.access.models import Role
from app.access.policy import SYSTEM
from app.audits.models import AuditStatus
from app.briefings import workflow
from app.briefings.models import BriefingKind, Marking, VersionStatus
from tests.helpers.access import browse_as
from tests.helpers.factories import make_audit

TITLES = re.compile(r'<a class="govuk-link" href="/briefings/versions/\d+">([^<]+)</a>')
SORTED = re.compile(
    r'aria-sort="(ascending|descending)"><a class="govuk-link" href="([^"]+)">([^<]+)</a>'
)
SUMMARY = re.compile(r'class="govuk-error-summary".*?</ul>', re.S)

NEGLECT = "Learning from neglect"
BRUISING = "Bruising in babies: report to QAPP"
ALCOHOL = "Alcohol at home: report to QAPP"


def summary_links(html: str) -> list[str]:
    found = SUMMARY.search(html)
    assert found, "no error summary"
    return re.findall(r'href="([^"]+)"', found.group(0))


@pytest.fixture
def editor(anonymous_client, db):
    user = access.create_user(
        db, email="chair@example.org", display_name="QAPP Chair", roles={Role.MODERATOR}
    )
    browse_as(anonymous_client, db, user)
    return anonymous_client


@pytest.fixture
def three(db):
    """Two audits in learning and, made through the workflow in this order: NEGLECT (a
    learning briefing, submitted) and BRUISING (a subgroup report, draft) on the
    first; ALCOHOL (a subgroup report, draft) on the second."""
    first = make_audit(db, children=1, agencies_count=1)
    second = make_audit(db, children=1, agencies_count=1)
    first.title, second.title = "Bruising in babies", "Alcohol at home"
    for audit in (first, second):
        audit.status = AuditStatus.LEARNING
    db.flush()
    made = {}
    for audit, title, kind in (
        (first, NEGLECT, BriefingKind.BRIEFING),
        (first, BRUISING, BriefingKind.SUBGROUP_REPORT),
        (second, ALCOHOL, BriefingKind.SUBGROUP_REPORT),
    ):
        made[title] = workflow.create(
            db,
            audit=audit,
            kind=kind,
            title=title,
            marking=Marking.OFFICIAL,
            public=False,
            actor=SYSTEM,
        )
    made[NEGLECT].status = VersionStatus.SUBMITTED
    db.commit()
    return made | {"first": first, "second": second}


def titles(html: str) -> list[str]:
    return [unescape(t) for t in TITLES.findall(html)]


def test_newest_first_and_search_finds_titles(editor, three):
    assert titles(editor.get("/briefings").text) == [ALCOHOL, BRUISING, NEGLECT]
    page = editor.get("/briefings?q=REPORT+TO").text
    assert titles(page) == [ALCOHOL, BRUISING]
    assert "2 briefings found" in page and 'value="REPORT TO"' in page
    assert "No briefings match these filters." in editor.get("/briefings?q=100%25").text


def test_filters_by_status_and_kind(editor, three):
    page = editor.get("/briefings?status=submitted").text
    assert titles(page) == [NEGLECT]
    assert '<form method="get" action="/briefings"' in page
    assert '<option value="submitted" selected>' in page
    assert titles(editor.get("/briefings?kind=subgroup-report&status=draft").text) == [
        ALCOHOL,
        BRUISING,
    ]
    assert titles(editor.get("/briefings?kind=briefing").text) == [NEGLECT]


def test_one_audits_briefings_keep_their_audit(editor, three):
    audit_id = three["first"].id
    page = editor.get(f"/briefings?audit_id={audit_id}&kind=subgroup-report").text
    assert titles(page) == [BRUISING]
    assert f'<input type="hidden" name="audit_id" value="{audit_id}">' in page
    found = re.findall(r'aria-sort="\w+"><a class="govuk-link" href="([^"]+)">([^<]+)</a>', page)
    head = {label: href for href, label in found}
    assert (
        unescape(head["Title"]) == f"/briefings?audit_id={audit_id}&kind=subgroup-report&sort=title"
    )


def test_columns_sort_both_ways_keeping_the_filters(editor, three):
    page = editor.get("/briefings?kind=subgroup-report&sort=title").text
    assert titles(page) == [ALCOHOL, BRUISING]
    ((state, href, label),) = SORTED.findall(page)
    assert (state, label) == ("ascending", "Title")
    assert unescape(href) == "/briefings?kind=subgroup-report&sort=-title"
    assert '<input type="hidden" name="sort" value="title">' in page
    page = editor.get(unescape(href)).text
    assert titles(page) == [BRUISING, ALCOHOL]
    assert SORTED.findall(page)[0][0] == "descending"
    assert titles(editor.get("/briefings?sort=audit").text)[0] == ALCOHOL
    assert titles(editor.get("/briefings?sort=-status").text)[0] == NEGLECT


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=lost", "#status"), ("kind=poster", "#kind"), ("sort=colour", "#briefings")],
)
def test_a_choice_not_offered_is_422(editor, three, query, field):
    r = editor.get(f"/briefings?{query}")
    assert r.status_code == 422 and summary_links(r.text) == [field]
