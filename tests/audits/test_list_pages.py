"""The audits and an audit's returns as lists: searched, filtered and sorted with the
GOV.UK patterns, every choice kept in the address; a choice not offered is a 422 with
the error summary, never a 500."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.agencies import service as agencies
from app.audits.models import AuditStatus, Child
from app.returns.models import Return, ReturnStatus
from tests.helpers.access import browse_as
from tests.helpers.audits import API
from tests.helpers.factories import make_audit, make_template
from tests.helpers.statements import page_and_statements

TITLES = re.compile(r'<a class="govuk-link" href="/(?:admin/)?audits/\d+">([^<]+)</a>')
CHILDREN = re.compile(
    r'href="/returns/\d+\?from=[^"]*">([^<]+)<span class="govuk-visually-hidden"> return from ([^<]+)</span>'
)
SORTED = re.compile(
    r'aria-sort="(ascending|descending)"><a class="govuk-link" href="([^"]+)">([^<]+)</a>'
)
SUMMARY = re.compile(r'class="govuk-error-summary".*?</ul>', re.S)


def summary_links(html: str) -> list[str]:
    found = SUMMARY.search(html)
    assert found, "no error summary"
    return re.findall(r'href="([^"]+)"', found.group(0))


def as_role(client, db, role: Role, agency_id=None):
    user = access.create_user(
        db,
        email=f"{role.value}@example.org",
        display_name=role.value,
        roles={role},
        agency_id=agency_id,
    )
    browse_as(client, db, user)
    return client


@pytest.fixture
def three(db):
    """Three audits: "Bruising in babies" (neglect theme, the Practice subgroup, in
    learning), "Alcohol at home" and "Criminal exploitation" (open)."""
    practice = agencies.create_subgroup(db, name="Practice subgroup")
    made = {}
    for title, theme in (
        ("Bruising in babies", "Neglect"),
        ("Alcohol at home", "Parental alcohol use"),
        ("Criminal exploitation", "Exploitation"),
    ):
        audit = make_audit(db, children=1, agencies_count=1)
        audit.title, audit.theme = title, theme
        made[title] = audit
    made["Bruising in babies"].lead_subgroup_id = practice.id
    made["Bruising in babies"].status = AuditStatus.LEARNING
    db.commit()
    return made | {"subgroup": practice}


class TestAuditsList:
    def test_search_finds_titles_and_themes(self, anonymous_client, db, three):
        client = as_role(anonymous_client, db, Role.MODERATOR)
        assert TITLES.findall(client.get("/audits?q=neglect").text) == ["Bruising in babies"]
        assert TITLES.findall(client.get("/audits?q=AT HOME").text) == ["Alcohol at home"]
        page = client.get("/audits?q=nothing+like+it").text
        assert "No audits match these filters." in page

    def test_filters_are_a_get_form_kept_in_the_address(self, anonymous_client, db, three):
        client = as_role(anonymous_client, db, Role.MODERATOR)
        page = client.get(f"/audits?status=learning&subgroup_id={three['subgroup'].id}").text
        assert TITLES.findall(page) == ["Bruising in babies"]
        assert '<form method="get" action="/audits"' in page
        assert '<option value="learning" selected>' in page
        assert TITLES.findall(client.get("/audits?status=open").text) == [
            "Criminal exploitation",
            "Alcohol at home",
        ]
        agency = three["Alcohol at home"].agencies[0]
        assert TITLES.findall(client.get(f"/audits?agency_id={agency.id}").text) == [
            "Alcohol at home"
        ]

    def test_columns_sort_both_ways_keeping_the_filters(self, anonymous_client, db, three):
        client = as_role(anonymous_client, db, Role.MODERATOR)
        page = client.get("/audits?sort=title&status=open").text
        assert TITLES.findall(page) == ["Alcohol at home", "Criminal exploitation"]
        ((state, href, label),) = SORTED.findall(page)
        assert (state, label) == ("ascending", "Audit")
        assert unescape(href) == "/audits?status=open&sort=-title"
        assert '<input type="hidden" name="sort" value="title">' in page
        assert (
            'aria-sort="none"><a class="govuk-link" href="/audits?status=open&amp;sort=status"'
            in page
        )
        page = client.get(unescape(href)).text
        assert TITLES.findall(page) == ["Criminal exploitation", "Alcohol at home"]
        assert SORTED.findall(page)[0][0] == "descending"
        by_stage = TITLES.findall(client.get("/audits?sort=-status").text)
        assert by_stage[0] == "Bruising in babies"

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("status=finished", "#status"),
            ("subgroup_id=999999", "#subgroup_id"),
            ("agency_id=999999", "#agency_id"),
            ("sort=colour", "#audits"),
        ],
    )
    def test_a_choice_not_offered_is_422(self, anonymous_client, db, three, query, field):
        client = as_role(anonymous_client, db, Role.MODERATOR)
        r = client.get(f"/audits?{query}")
        assert r.status_code == 422 and summary_links(r.text) == [field]

    @pytest.mark.parametrize("role", [Role.AUDITOR, Role.AGENCY_LEAD])
    def test_an_agency_filter_is_ignored_for_those_not_offered_it(
        self, anonymous_client, db, three, role
    ):
        # An agency's people are not offered the agency filter (they see only their own
        # agency's audits): an agency in the address is ignored, never an error summary
        # linking to a field the page does not draw.
        own = three["Alcohol at home"].agencies[0]
        other = three["Criminal exploitation"].agencies[0]
        client = as_role(anonymous_client, db, role, agency_id=own.id)
        plain = client.get("/audits")
        assert plain.status_code == 200 and TITLES.findall(plain.text) == ["Alcohol at home"]
        for agency_id in (other.id, own.id, 999999):
            r = client.get(f"/audits?agency_id={agency_id}")
            assert r.status_code == 200, r.text
            assert "govuk-error-summary" not in r.text and 'id="agency_id"' not in r.text
            assert TITLES.findall(r.text) == ["Alcohol at home"]
            assert "No audits match" not in r.text
        sorted_ = client.get(f"/audits?agency_id={other.id}&sort=title&q=alcohol").text
        assert TITLES.findall(sorted_) == ["Alcohol at home"]
        ((_state, href, _label),) = SORTED.findall(sorted_)
        assert unescape(href) == "/audits?q=alcohol&sort=-title"  # the filter not handed on

    def test_a_malformed_id_is_422_not_500(self, anonymous_client, db, three):
        client = as_role(anonymous_client, db, Role.MODERATOR)
        assert client.get("/audits?agency_id=police").status_code == 422

    def test_the_api_sorts_too_and_keeps_its_default(self, client, three):
        default = client.get(f"{API}/audits").json()["items"]
        assert [a["title"] for a in default] == [
            "Criminal exploitation",
            "Alcohol at home",
            "Bruising in babies",
        ]
        by_title = client.get(f"{API}/audits", params={"sort": "-title"}).json()["items"]
        assert [a["title"] for a in by_title] == [
            "Criminal exploitation",
            "Bruising in babies",
            "Alcohol at home",
        ]
        found = client.get(f"{API}/audits", params={"q": "exploitation"}).json()["items"]
        assert [a["title"] for a in found] == ["Criminal exploitation"]
        assert client.get(f"{API}/audits", params={"sort": "colour"}).status_code == 422


class TestAuditsPageQueries:
    def test_a_longer_list_costs_no_more_queries(self, anonymous_client, db):
        """Counts, links and stages come from a fixed number of queries, never one an
        audit: 25 audits take as many statements as 5."""
        version = make_template(db)

        def add(count: int) -> None:
            for n in range(count):
                made = make_audit(
                    db, children=2, agencies_count=1, version=version, open_=n % 3 != 0
                )
                made.theme = f"Theme {n}"
            db.commit()

        def page() -> tuple[str, int]:
            return page_and_statements(client, db, "/audits")

        client = as_role(anonymous_client, db, Role.ADMIN)
        add(5)
        short, few = page()
        add(20)
        long, many = page()
        assert ">5 audits</caption>" in short and ">25 audits</caption>" in long
        assert long.count('class="govuk-tag govuk-tag--grey"') == 9  # the planned ones
        assert many == few


@pytest.fixture
def audit(db):
    """Child A and Child B, each with two agencies; one of Child B's returns submitted."""
    audit = make_audit(db, children=2, agencies_count=2)
    first, second = sorted(audit.agencies, key=lambda a: a.name)
    first.name, second.name = "Westshire Police", "Westshire Health"
    submitted = db.scalar(
        select(Return)
        .join(Child, Child.id == Return.child_id)
        .where(
            Return.audit_id == audit.id, Return.agency_id == first.id, Child.pseudonym == "Child B"
        )
    )
    submitted.status = ReturnStatus.SUBMITTED
    db.commit()
    return audit


class TestReturnsTab:
    def test_filters_and_sorting(self, anonymous_client, db, audit):
        police = next(a for a in audit.agencies if a.name == "Westshire Police")
        client = as_role(anonymous_client, db, Role.MODERATOR)
        page = client.get(f"/audits/{audit.id}/returns").text
        assert CHILDREN.findall(page) == [
            ("Child A", "Westshire Health"),
            ("Child A", "Westshire Police"),
            ("Child B", "Westshire Health"),
            ("Child B", "Westshire Police"),
        ]
        page = client.get(f"/audits/{audit.id}/returns?agency_id={police.id}&sort=-child").text
        assert CHILDREN.findall(page) == [
            ("Child B", "Westshire Police"),
            ("Child A", "Westshire Police"),
        ]
        assert "2 returns of 4" in page
        page = client.get(f"/audits/{audit.id}/returns?status=submitted").text
        assert CHILDREN.findall(page) == [("Child B", "Westshire Police")]
        by_status = client.get(f"/audits/{audit.id}/returns?sort=-status").text
        assert CHILDREN.findall(by_status)[0] == ("Child B", "Westshire Police")

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("status=lost", "#status"),
            ("child_id=999999", "#child_id"),
            ("agency_id=999999", "#agency_id"),
            ("sort=-colour", "#returns"),
        ],
    )
    def test_a_choice_not_offered_is_422(self, anonymous_client, db, audit, query, field):
        client = as_role(anonymous_client, db, Role.MODERATOR)
        r = client.get(f"/audits/{audit.id}/returns?{query}")
        assert r.status_code == 422 and summary_links(r.text) == [field]

    def test_an_auditor_lists_only_their_agencys_returns(self, anonymous_client, db, audit):
        police = next(a for a in audit.agencies if a.name == "Westshire Police")
        client = as_role(anonymous_client, db, Role.AUDITOR, agency_id=police.id)
        page = client.get(f"/audits/{audit.id}/returns").text
        assert {agency for _child, agency in CHILDREN.findall(page)} == {"Westshire Police"}
        assert "Westshire Health" not in page

    def test_an_admin_may_not_list_returns(self, anonymous_client, db, audit):
        client = as_role(anonymous_client, db, Role.ADMIN)
        assert client.get(f"/audits/{audit.id}/returns").status_code == 403
