"""In a real browser: the business unit drafts a briefing from the demo's moderated deep
dive, meets the identification check (small counts to confirm) and submits it; the
QAPP chair, who did not write it (four eyes), reads the check, approves and publishes
it, and finds it in the library; a practitioner and someone not signed in browse the
library and download the public briefing. axe finds nothing on the editor, the check's
error summary, the approval, the library and a library entry."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from app.demo import DEEP_DIVE_TITLE as DEEP_DIVE
from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")


def check(page, what: str) -> None:
    assert axe_violations(page) == [], what


def test_one_person_drafts_and_another_approves_and_publishes_a_briefing(page_as, live_server):
    page = page_as("admin", for_axe=True)
    page.goto(f"{live_server}/briefings")
    check(page, "briefings list")
    page.get_by_role("link", name=f"Draft a briefing from {DEEP_DIVE}").click()
    check(page, "new briefing")
    page.get_by_label("Report for a subgroup").check()
    page.get_by_label("Title").fill("Report to GET SAFE: deep dive findings")
    page.get_by_role("button", name="Draft the briefing").click()
    expect(page.get_by_text("The briefing has been drafted")).to_be_visible()
    check(page, "editor")
    editor = page.url.split("?")[0]

    page.goto(editor.replace("/briefings/versions/", "/briefings/versions/") + "/preview")
    assert "Action tracker" in page.content()
    page.goto(editor)
    page.get_by_label("Commentary for the subgroup").fill(
        "The group is asked to note the findings and the overdue actions."
    )
    page.get_by_role("button", name="Save and submit for approval").click()
    page.wait_for_load_state()
    if page.locator(".govuk-error-summary").is_visible():  # the identification check
        check(page, "the identification check's error summary")
        # A table's small numbers of children: shown as "fewer than 5", keeping the text.
        for action in page.get_by_role("button", name="Show small numbers as").all():
            action.click()
        if page.get_by_label("I have checked each thing in the text listed").count():
            page.get_by_label("I have checked each thing in the text listed").check()
        page.get_by_role("button", name="Save and submit for approval").click()
    expect(page.get_by_text("submitted for approval")).to_be_visible()
    drafted = page.locator(".govuk-summary-list__row", has_text="Drafted by")
    expect(drafted).to_contain_text("admin@example.org")
    assert page.get_by_role("button", name="Approve").count() == 0  # not by its author

    page = page_as("moderator", for_axe=True)
    page.goto(editor)
    check(page, "the approval, with the identification check's results")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Confirm you have read the identification check").first).to_be_visible()
    page.get_by_label("I have read the identification check").check()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("has been approved")).to_be_visible()
    expect(page.get_by_text("Approved by moderator@example.org").first).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("being published")).to_be_visible()
    for _ in range(100):  # the worker process makes the PDF in the background
        page.goto(editor)
        if page.get_by_role("heading", name="Published").count():
            break
        time.sleep(0.3)
    else:
        raise AssertionError("never published: " + page.locator("main").inner_text()[:3000])
    check(page, "published briefing")


def test_the_library_for_a_practitioner_and_for_anyone(page_as, live_server, shot):
    page = page_as("practitioner", for_axe=True)
    page.goto(f"{live_server}/library")
    check(page, "library")
    shot(page, "library")
    page.get_by_role("link", name="7 minute briefing: child protection procedures").first.click()
    check(page, "library entry")
    href = page.get_by_role("link", name="Download the briefing (PDF)").get_attribute("href")
    pdf = page.request.get(live_server + href)
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")

    anyone = page_as(None, for_axe=True)
    anyone.goto(f"{live_server}/library")
    expect(anyone.get_by_text("7 minute briefing").first).to_be_visible()
    check(anyone, "library, not signed in")
    anyone.get_by_label("Search").fill("no such briefing anywhere")
    anyone.get_by_role("button", name="Search").click()
    expect(anyone.get_by_role("heading", name="0 briefings")).to_be_visible()
