"""In a real browser: a moderator records findings on the demo audit, proposes
learning actions from them through the pages (meeting the error summary on the way),
agrees one, and reads the tracker with filters applied; an admin keeps the themes.
axe finds nothing on any of these pages, and the tracker is photographed."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")

DEMO_AUDIT = "Identification of need and risk: multi-agency audit"


def check(page, what: str) -> None:
    assert axe_violations(page) == [], what


def fill_date(page, legend: str, day: date) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def propose(page, *, title: str, agency: str, due: date) -> str:
    """Fill and send the action form (already open); returns the action page's URL."""
    page.get_by_label("Title").fill(title)
    page.get_by_label("Owning agency").select_option(label=agency)
    page.get_by_label("Owner", exact=True).fill("Head of Service, Front Door")
    fill_date(page, "Due date", due)
    page.get_by_label("Success measure").fill(
        "A dip sample of 10 strategy minutes shows the child's views in at least 9."
    )
    page.get_by_role("button", name="Propose the action").click()
    page.wait_for_url(re.compile(r"/actions/\d+$"))
    expect(page.get_by_text("The action has been proposed.")).to_be_visible()
    return page.url


def test_a_moderator_records_findings_and_follows_the_actions(page_as, live_server, shot):
    page = page_as("moderator", for_axe=True)
    page.goto(f"{live_server}/audits")
    page.get_by_role("link", name=DEMO_AUDIT).click()
    audit_id = re.search(r"/audits/(\d+)$", page.url).group(1)

    page.goto(f"{live_server}/audits/{audit_id}/findings")
    check(page, "findings")
    page.get_by_role("button", name="Add finding").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("link", name="Enter the finding")).to_be_visible()
    assert page.title().startswith("Error: ")
    check(page, "findings with errors")

    page.get_by_label("Area for improvement").check()
    page.get_by_label("Finding", exact=True).fill(
        "Strategy discussion minutes rarely recorded the child's own views."
    )
    page.get_by_label("Voice of the child").check()
    page.get_by_label("Strategy discussion", exact=True).check()
    page.get_by_label("Agency", exact=True).select_option(label="Westshire Children's Social Care")
    page.get_by_role("button", name="Add finding").click()
    page.wait_for_url(re.compile(r"/findings#finding-\d+$"))
    expect(page.get_by_text("The finding has been added.")).to_be_visible()
    check(page, "findings with one added")

    # From the finding: the form starts linked to it and owned by its agency.
    page.get_by_role("link", name=re.compile(r"Propose an action")).last.click()
    page.wait_for_url(re.compile(r"/actions/new\?finding_id=\d+$"))
    page.get_by_role("button", name="Propose the action").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    check(page, "action form with errors")
    today = date.today()
    action_url = propose(
        page,
        title="Add a 'voice of the child' section to the strategy minutes template",
        agency="Westshire Children's Social Care",
        due=today - timedelta(days=35),
    )
    check(page, "a proposed action")
    page.get_by_role("button", name="Agree the action").click()
    page.wait_for_url(action_url)
    expect(page.get_by_text("The action is now agreed.")).to_be_visible()
    expect(page.get_by_role("button", name="Start work on the action")).to_be_visible()
    check(page, "an agreed action")

    # A second action, straight from the findings page, due soon.
    page.goto(f"{live_server}/audits/{audit_id}/findings")
    page.get_by_role("link", name="Propose a learning action").click()
    propose(
        page,
        title="Invite the hospital safeguarding team to every strategy discussion",
        agency="Westshire Acute Hospitals NHS Trust",
        due=today + timedelta(days=7),
    )

    # The tracker, filtered through its own form.
    page.goto(f"{live_server}/actions")
    check(page, "tracker")
    page.get_by_label("Audit", exact=True).select_option(label=DEMO_AUDIT)
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(rf"/actions\?.*audit_id={audit_id}"))
    table = page.get_by_role("table", name="Learning actions", exact=True)
    expect(table.get_by_text("Overdue", exact=True).first).to_be_visible()
    expect(table.get_by_text("Due soon", exact=True).first).to_be_visible()
    xlsx = page.get_by_role("link", name=re.compile("as a spreadsheet"))
    assert f"audit_id={audit_id}" in xlsx.get_attribute("href")
    check(page, "tracker filtered by audit")
    shot(page, "action-tracker")

    page.get_by_label("Overdue only").check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"overdue=yes"))
    assert page.get_by_text("Due soon", exact=True).count() == 0
    check(page, "tracker, overdue only")


def test_an_admin_keeps_the_themes(page_as, live_server):
    page = page_as("admin", for_axe=True)
    page.goto(f"{live_server}/actions")
    page.get_by_role("link", name="Manage the list of themes").click()
    page.wait_for_url("**/admin/themes")
    check(page, "themes")
    page.get_by_role("button", name="Add theme").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    check(page, "themes with an error")
    page.get_by_label("New theme").fill("Neglect (added in the browser)")
    page.get_by_role("button", name="Add theme").click()
    expect(page.get_by_text("The theme has been added.")).to_be_visible()
    page.get_by_role("button", name="Deactivate Neglect (added in the browser)").click()
    expect(page.get_by_text("The theme has been deactivated")).to_be_visible()
    expect(
        page.get_by_role("button", name="Use again Neglect (added in the browser)")
    ).to_be_visible()
    check(page, "themes after deactivating one")
