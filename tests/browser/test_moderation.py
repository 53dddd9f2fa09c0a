"""In a real browser: a moderator works through the grid of the demo's Front Door
audit (in moderation), meets the error summary when changing a grade without a
rationale, and sees what moderation shows; a police auditor sees the revealed grid
read-only. axe finds nothing on any of these pages; the grid, the analytics and the
read-only return are photographed for the README."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")


def check(page, what: str) -> None:
    assert axe_violations(page) == [], what


def moderation_url(page, base: str, title: str) -> str:
    page.goto(f"{base}/audits")
    page.get_by_role("link", name=title).click()
    page.get_by_role("link", name="Moderate the grades").click()
    return page.url.split("?")[0]


def test_a_moderator_moderates_a_cell_and_sees_the_analytics(page_as, live_server, shot):
    page = page_as("moderator", for_axe=True)
    grid = moderation_url(page, live_server, "Front Door referrals from schools: monthly audit")
    expect(page.get_by_text("children moderated")).to_be_visible()
    check(page, "grid")
    shot(page, "moderation-grid")

    cell = page.locator("td", has_text="To moderate").first.locator("a").first
    cell.click()
    expect(page.get_by_role("heading", name="Decision")).to_be_visible()
    cell_page = page.url
    check(page, "cell")
    own = page.get_by_label("(the agency's own grade)", exact=False).input_value()
    other = next(c for c in ["O", "G", "RI", "I"] if c != own)
    page.locator(f"input[name=level][value={other}]").check()
    page.get_by_role("button", name="Save decision").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    assert "reason" in summary.inner_text()
    check(page, "cell with the error summary")
    page.get_by_label("Rationale").fill("The record shows no visit within the timescale.")
    page.get_by_role("button", name="Save decision").click()
    expect(page.get_by_text("The decision has been saved.")).to_be_visible()

    # The whole return, read-only, with the decision and its reason beside the
    # agency's grade; Back returns to the cell.
    page.goto(cell_page)
    page.get_by_role("link", name="Read the whole return from").click()
    expect(page.get_by_text("The record shows no visit within the timescale.")).to_be_visible()
    expect(page.get_by_role("button", name="Print this return")).to_be_visible()
    check(page, "the read-only return")
    shot(page, "read-only-return")
    page.get_by_role("link", name="Back").click()
    assert page.url == cell_page
    page.goto(grid)

    page.get_by_role("link", name="Westshire Police").first.click()
    assert "every child" in page.get_by_role("heading", level=2).first.inner_text()
    check(page, "one agency across the children")

    page.goto(grid)
    page.get_by_role("link", name="What moderation shows: grades and agreement").click()
    expect(page.get_by_text("Gwet's AC1").first).to_be_visible()
    check(page, "the audit's analytics")
    page.goto(f"{live_server}/analytics")
    check(page, "analytics across audits")
    shot(page, "moderation-analytics")
    page.get_by_label("Agency", exact=True).select_option(label="Westshire Police")
    page.get_by_role("button", name="Apply filters").click()
    assert "agency_id=" in page.url
    expect(page.get_by_role("heading", name="What moderation shows")).to_be_visible()
    expect(page.get_by_role("heading", name="By agency")).to_be_visible()
    check(page, "filtered analytics")


def test_a_police_auditor_sees_the_revealed_grid_read_only(page_as, live_server):
    page = page_as("auditor", for_axe=True)
    page.goto(f"{live_server}/audits")
    page.get_by_role("link", name="Front Door referrals from schools: monthly audit").click()
    page.get_by_role("link", name="See the moderation grid").click()
    expect(page.get_by_text("Westshire schools and colleges").first).to_be_visible()
    assert page.get_by_role("button", name="Finish moderation").count() == 0
    check(page, "revealed grid")
    # On the cell's own page (not the grid while it is still leaving): no decision to save.
    with page.expect_navigation():
        page.locator(".app-grade-cell").first.click()
    assert page.get_by_role("button", name="Save decision").count() == 0
    check(page, "a revealed cell")
