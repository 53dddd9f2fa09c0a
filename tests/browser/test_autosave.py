"""Autosave and Save and continue in one tab never conflict with each other; two tabs
editing one return still do: the page says who saved, and asks field by field which
words to keep (app/static/autosave.mjs)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")

CONFLICT = "This return was saved elsewhere while you had it open"


def an_area_to_edit(page, live_server) -> str:
    """The first key area of one of the social care auditor's returns still to do."""
    page.goto(f"{live_server}/my-work")
    row = page.locator("tr", has_text=re.compile("In progress|Sent back|Not started")).first
    page.goto(live_server + (row.get_by_role("link").get_attribute("href") or ""))
    return live_server + (page.locator("a[href*='/areas/']").first.get_attribute("href") or "")


def test_save_and_continue_during_an_autosave_never_conflicts(page_as, live_server):
    page = page_as("other_auditor")
    area = an_area_to_edit(page, live_server)
    page.goto(area)
    # Pressing 0 to 120 ms after typing stops, 10 ms apart: before, during and after the
    # save (which starts at 20 ms and takes some tens of ms).
    waits = range(0, 130, 10)
    for attempt, wait in enumerate(waits):
        form = page.locator("form[data-autosave]")
        if not form.count():  # past the last key area: start again at the first
            page.goto(area, wait_until="domcontentloaded")
        here = page.url
        # Save 20 ms after typing stops (the page says 1.5 s).
        form.evaluate("form => form.dataset.autosave = '20'")
        page.get_by_label("What could have been better").fill(f"Typed on attempt {attempt}.")
        page.wait_for_timeout(wait)
        try:
            with page.expect_navigation(wait_until="domcontentloaded"):
                page.get_by_role("button", name="Save and continue").click()
        except PlaywrightTimeout:  # say what the page was doing, for whoever reads this
            status = page.locator("#autosave-status").inner_text(timeout=1000)
            pytest.fail(f"press {attempt} went nowhere from {page.url}; autosave: {status!r}")
        # Saved, it goes on to the next page; a conflict would answer on this one.
        assert page.url != here, (attempt, page.locator("main").inner_text())
    # The last press saved what was typed last.
    page.goto(here)
    expect(page.get_by_label("What could have been better")).to_have_value(
        f"Typed on attempt {len(waits) - 1}."
    )


def test_two_tabs_on_one_return_still_conflict_and_say_who_saved(page_as, live_server):
    first = page_as("other_auditor", for_axe=True)
    area = an_area_to_edit(first, live_server)
    second = first.context.new_page()
    second.goto(area)
    first.goto(area)
    second.get_by_label("What could have been better").fill("Saved in the second tab.")
    with second.expect_navigation():
        second.get_by_role("button", name="Save and continue").click()
    first.get_by_label("What could have been better").fill("Typed in the first tab.")
    with first.expect_navigation():
        first.get_by_role("button", name="Save and continue").click()
    expect(first.get_by_text(CONFLICT)).to_be_visible()
    expect(
        first.get_by_text(re.compile("saved by you, in another tab or window, at"))
    ).to_be_visible()
    # The first tab's words are still in its form; the saved ones are shown beside them.
    expect(first.get_by_label("What could have been better")).to_have_value(
        "Typed in the first tab."
    )
    expect(first.get_by_text("Saved version: Saved in the second tab.")).to_be_visible()
    # Field by field: the saved words for this box, chosen; then saved.
    assert axe_violations(first) == []
    first.get_by_role("group", name="Which to keep for What could have been better").get_by_label(
        "The saved version"
    ).check()
    with first.expect_navigation():
        first.get_by_role("button", name="Save and continue").click()
    first.goto(area)
    expect(first.get_by_label("What could have been better")).to_have_value(
        "Saved in the second tab."
    )
