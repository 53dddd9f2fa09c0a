"""The trends page, its API and its downloads, on the partnership in
tests/trends/conftest.py: the page's figures (headline, chart, table), its filters
refused in its own words (400, never 500), the JSON, and the XLSX and CSV holding the
same rows as the figures, typed."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from app.access import service as access
from app.access.models import Role
from app.access.policy import SYSTEM
from app.trends import export, service
from app.trends.figures import Filters
from tests.helpers.access import browse_as

API = "/api/v1/trends"


@pytest.fixture
def api(client, db):
    """The API as the service itself (every permission, every audit)."""
    client.event_hooks["request"].append(lambda _request: db.expire_all())
    return client


def browser(anonymous_client, db, role: Role, agency_id: int | None = None):
    """``anonymous_client`` signed in as a new person with ``role``."""
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    user = access.create_user(
        db,
        email=f"{role.value}.{agency_id}@example.org",
        display_name=role.value,
        roles={role},
        agency_id=agency_id,
    )
    db.commit()
    browse_as(anonymous_client, db, user)
    return anonymous_client


class TestPage:
    def test_every_figure_with_its_headline_chart_and_table(self, anonymous_client, db, ids):
        page = browser(anonymous_client, db, Role.MODERATOR).get("/trends")
        assert page.status_code == 200
        html = page.text.replace("&#39;", "'").replace("&#x27;", "'")
        assert (
            "Moderated grades of Good or better rose from 38% in 2025-26 to 75% in 2026-27." in html
        )
        assert 'id="chart-grades"' in html and 'role="img"' in html
        assert html.count('<table class="govuk-table"') == 8
        assert 'class="govuk-back-link"' in html
        # The period as read, in the filter form; the downloads carry it.
        assert 'name="date_from-year" type="text" value="2025"' in html
        assert f"{API}.xlsx?date_from=2025-04-01&amp;date_to=2026-11-23&amp;by=year" in html

    def test_a_figure_s_table_beside_its_chart(self, anonymous_client, db, ids):
        html = browser(anonymous_client, db, Role.SCRUTINEER).get("/trends?by=quarter").text
        agreement = html.split('id="agreement"')[1].split('id="repeat-themes"')[0]
        assert "<svg" in agreement and "31% to 86%" in agreement
        assert "Apr-Jun 2025" in agreement

    def test_an_agency_lead_sees_small_counts_as_fewer_than(self, anonymous_client, db, ids):
        html = browser(anonymous_client, db, Role.AGENCY_LEAD, ids.police).get("/trends").text
        assert "fewer than 5" in html and "not shown" in html

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            (
                "date_from-day=31&date_from-month=2&date_from-year=2026",
                "The start date must be a real date",
            ),
            ("date_to-day=1&date_to-month=4", "The end date must include a year"),
            (
                "date_from-day=1&date_from-month=4&date_from-year=2026"
                "&date_to-day=1&date_to-month=3&date_to-year=2026",
                "The end date must be on or after the start date",
            ),
            ("by=week", "Choose by year or by quarter"),
            ("agency_id=abc", "Choose an agency from the list"),
            ("subgroup_id=99999999999", "Choose a lead subgroup from the list"),
            ("theme=%00", "Choose a theme from the list"),
        ],
    )
    def test_filters_that_cannot_be_read_are_a_400_with_the_error_summary(
        self, anonymous_client, db, ids, query, message
    ):
        page = browser(anonymous_client, db, Role.MODERATOR).get(f"/trends?{query}")
        assert page.status_code == 400
        assert 'class="govuk-error-summary' in page.text and message in page.text
        assert "<title>Error: " in page.text and 'id="grades"' not in page.text

    def test_linked_from_the_moderation_analytics(self, anonymous_client, db, ids):
        html = browser(anonymous_client, db, Role.MODERATOR).get("/analytics").text
        assert "/trends?from=" in html

    def test_not_for_practitioners(self, anonymous_client, db, ids):
        assert browser(anonymous_client, db, Role.PRACTITIONER).get("/trends").status_code == 403


class TestApi:
    def test_every_figure_as_json(self, api, ids):
        found = api.get(API, params={"by": "year"})
        assert found.status_code == 200, found.text
        body = found.json()
        assert (body["date_from"], body["date_to"], body["by"]) == (
            "2025-04-01",
            "2026-11-23",
            "year",
        )
        assert [p["label"] for p in body["periods"]] == ["2025-26", "2026-27"]
        figures = {f["key"]: f for f in body["figures"]}
        grades = figures["grades"]
        assert grades["rows"][1] == ["2025-26", "Good", 4, 0.5, 3, 0.375]
        assert grades["table"]["rows"][1] == ["2025-26", "Good", "4", "50%", "3", "38%"]
        assert grades["columns"][3] == {"heading": "Own: share", "kind": "share"}
        assert grades["suppressed"] is False and grades["chart"]["kind"] == "stacked_bars"
        kept = figures["agreement"]["rows"][0]
        assert kept[:4] == ["All agencies", "2025-26", 8, 0.625]
        assert kept[4] == pytest.approx([0.3057, 0.8632], abs=1e-4)
        assert figures["repeat-themes"]["rows"][1] == [
            "Voice of the child",
            "Moderation started",
            "2025-06-10",
            "2026-06-15",
        ]

    def test_a_period_that_ends_before_it_starts_is_a_422(self, api, ids):
        refused = api.get(API, params={"date_from": "2026-04-01", "date_to": "2026-03-31"})
        assert refused.status_code == 422
        assert [e["field"] for e in refused.json()["errors"]] == ["date_to"]
        assert api.get(API, params={"by": "week"}).status_code == 422
        assert api.get(API, params={"agency_id": "0"}).status_code == 422

    def test_an_agency_lead_s_counts_are_suppressed(self, anonymous_client, db, ids):
        user = access.create_user(
            db,
            email="lead@example.org",
            display_name="Lead",
            roles={Role.AGENCY_LEAD},
            agency_id=ids.police,
        )
        _row, token = access.create_token(db, user=user, name="tests", days=1)
        db.commit()
        anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
        body = anonymous_client.get(API, headers={"Authorization": f"Bearer {token}"}).json()
        figures = {f["key"]: f for f in body["figures"]}
        assert figures["grades"]["suppressed"] is True
        assert figures["agreement"]["rows"][0][2] == "not shown"


def _expected(value):
    """A figure's value as openpyxl reads it back: a date as a datetime, a float to the
    last bit or so (a workbook keeps 15 significant digits)."""
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-12)
    return value


class TestDownloads:
    def test_the_workbook_holds_each_figure_s_rows_typed(self, api, db, ids):
        trends = service.report(db, actor=SYSTEM, filters=Filters(), threshold=5)
        response = api.get(f"{API}.xlsx")
        assert response.status_code == 200
        assert response.headers["content-type"] == export.XLSX
        assert (
            'filename="trends-2025-04-01-to-2026-11-23.xlsx"'
            in response.headers["content-disposition"]
        )
        book = load_workbook(io.BytesIO(response.content))
        assert book.sheetnames[0] == "About these figures"
        assert len(book.worksheets) == 1 + len(trends.figures)
        for figure, sheet in zip(trends.figures, book.worksheets[1:], strict=True):
            rows = list(sheet.iter_rows(values_only=True))
            assert list(rows[0]) == [heading for heading, _c in export.columns(figure)]
            assert [list(r) for r in rows[1:]] == [
                [_expected(v) for v in export.cells(figure, row)] for row in figure.rows
            ], figure.key
            assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
        grades = book.worksheets[1]
        assert grades["D3"].value == 0.5 and grades["D3"].number_format == "0%"
        assert grades["C3"].value == 4 and isinstance(grades["C3"].value, int)
        agreement = book.worksheets[2]
        assert [c.value for c in agreement[1]][4:6] == [
            "Kept: 95% interval (low)",
            "Kept: 95% interval (high)",
        ]

    def test_the_csv_holds_every_figure_a_figure_column_first(self, api, ids):
        response = api.get(f"{API}.csv", params={"by": "year"})
        assert response.status_code == 200
        assert response.content.startswith(b"\xef\xbb\xbf")
        lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert lines[0] == [
            "Figure",
            "Period",
            "Grade",
            "Agencies' own grades",
            "Own: share",
            "Moderated grades",
            "Moderated: share",
        ]
        assert [
            "Agencies' own and moderated grades",
            "2025-26",
            "Good",
            "4",
            "50%",
            "3",
            "37.5%",
        ] in lines
        assert ["Findings by theme", "Information sharing", "2", "0"] in lines
        headers = [line for line in lines if line and line[0] == "Figure"]
        assert len(headers) == 8
