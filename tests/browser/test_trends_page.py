"""In a real browser: trends across the demo's two years as the QAPP's moderator reads
them (a headline, an accessible chart and its table for each figure), photographed for
the README; and the business unit drafting an inspection readiness pack from the
briefings page. axe finds nothing on any of them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")


def test_the_moderator_reads_two_years_of_trends(page_as, live_server, shot):
    page = page_as("moderator", for_axe=True)
    page.goto(f"{live_server}/analytics")
    # In the service navigation, and from the analytics.
    assert page.locator('a[href^="/trends"]').count() >= 2
    page.goto(f"{live_server}/trends")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Trends")
    grades = page.get_by_role("heading", name="Agencies' own and moderated grades").first
    expect(grades).to_be_visible()
    expect(page.get_by_text("Moderated grades of Good or better").first).to_be_visible()
    # Each chart names its data for a screen reader; each figure has its table.
    expect(page.locator("svg[role=img] title").first).to_contain_text("2025-26")
    assert page.locator("table").count() >= 5
    assert axe_violations(page) == [], "the trends page"
    # The filters and the first figure: the page runs to many screens.
    page.set_viewport_size({"width": 1100, "height": 1500})
    shot(page, "trends-page", full_page=False)


def test_the_business_unit_drafts_an_inspection_readiness_pack(page_as, live_server):
    page = page_as("admin", for_axe=True)
    page.goto(f"{live_server}/briefings")
    page.get_by_role("link", name="Draft an inspection readiness pack").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Draft an inspection readiness pack")
    assert axe_violations(page) == [], "the new pack page"
    page.get_by_role("button", name="Draft the pack").click()
    expect(page.get_by_text("Inspection readiness pack:").first).to_be_visible()
    expect(
        page.get_by_text("What do we know about the quality and impact of practice?").first
    ).to_be_visible()
    assert axe_violations(page) == [], "the pack in the editor"
