"""In a real browser: an admin plans an audit through its pages (meeting the error
summary on the way), with an axe check of each page and a screenshot of the plan."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")

# Agencies no other browser test works with: the audit stays planned, but still.
AGENCIES = ("Westshire GP practices", "Westshire Women's Aid")


def test_an_admin_plans_an_audit(page_as, live_server, shot):
    page = page_as("admin", for_axe=True)
    page.goto(f"{live_server}/audits")
    page.get_by_role("link", name="Plan a new audit").click()
    page.wait_for_url("**/admin/audits/new")
    assert axe_violations(page) == []

    page.get_by_role("button", name="Create audit").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link", name="Enter a title for the audit")).to_be_visible()
    assert page.title().startswith("Error: ")
    assert axe_violations(page) == []

    page.get_by_label("Title").fill("Exploitation deep dive (planned in the browser)")
    page.locator("input[name=template_version_id]").first.check()
    due = date.today() + timedelta(days=30)
    returns_due = page.get_by_role("group", name="Returns due")
    returns_due.get_by_label("Day").fill(str(due.day))
    returns_due.get_by_label("Month").fill(str(due.month))
    returns_due.get_by_label("Year").fill(str(due.year))
    page.get_by_role("button", name="Create audit").click()
    page.wait_for_url(re.compile(r"/admin/audits/\d+$"))
    expect(page.get_by_text("Audit created.")).to_be_visible()

    agencies_form = page.locator("form[action$='/agencies']")
    for name in AGENCIES:
        agencies_form.get_by_label(name).check()
    page.get_by_role("button", name="Save agencies").click()
    expect(page.get_by_text("The agencies taking part have been saved.")).to_be_visible()

    page.get_by_label("Pseudonym").fill("Child A")
    page.get_by_label("Age band (optional)").select_option("10-13")
    page.locator("form[action$='/children']").get_by_label(AGENCIES[0]).check()
    page.get_by_role("button", name="Add child").click()
    expect(page.get_by_role("rowheader", name="Child A", exact=True)).to_be_visible()
    page.get_by_label("Pseudonym").fill("Child B")
    page.get_by_role("button", name="Add child").click()
    expect(page.get_by_role("rowheader", name="Child B", exact=True)).to_be_visible()

    page.get_by_label("Child", exact=True).select_option(label="Child B")
    page.get_by_label("Agency", exact=True).select_option(label=AGENCIES[1])
    page.get_by_role("button", name="Add involvement").click()
    expect(page.get_by_text("The involvement has been added.")).to_be_visible()

    cohort = page.get_by_role("table")
    expect(cohort.get_by_role("rowheader", name="Child A", exact=True)).to_be_visible()
    expect(cohort.get_by_role("button", name=f"Remove {AGENCIES[1]} from Child B")).to_be_visible()
    expect(page.get_by_text("Opening the audit asks for 2 returns")).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "audit-planning")

    # A mistake on the planning page also meets the error summary, still accessible.
    page.get_by_label("Pseudonym").fill("Jane Smith")
    page.get_by_role("button", name="Add child").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert axe_violations(page) == []
