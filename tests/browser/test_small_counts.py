"""In a real browser: a moderator drafts a learning briefing from the demo's deep dive,
whose children by age band are all fewer than 5 to a band. The editor lists the table's
small numbers once, grouped under the table; submitting is refused with one entry in the
error summary that links to that group; one click shows them as "fewer than 5", keeping
what was typed; the problem is gone and the briefing goes for approval. axe finds
nothing on the refused editor or the editor after the action."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.demo import DEEP_DIVE_TITLE as DEEP_DIVE
from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")
PROBLEM = (
    "Children by age band: 3 cells show fewer than 5 children: 10-13 (1), 14-15 (3), 16-17 (2)."
)
ACTION = "Show small numbers as 'fewer than 5'"


def test_a_tables_small_numbers_are_grouped_and_shown_as_fewer_than_5(page_as, live_server):
    page = page_as("moderator", for_axe=True)
    page.goto(f"{live_server}/briefings")
    page.get_by_role("link", name=f"Draft a briefing from {DEEP_DIVE}").click()
    page.get_by_label("Title").fill("Small numbers in the deep dive")
    page.get_by_role("button", name="Draft the briefing").click()
    expect(page.get_by_text("The briefing has been drafted")).to_be_visible()
    editor = page.url.split("?")[0]

    # The draft already says which table has small numbers, under the table's name.
    group = page.locator("#table-children-by-age-band")
    expect(group.get_by_role("heading", name="Children by age band")).to_be_visible()
    expect(group).to_contain_text(PROBLEM)

    typed = "Practitioners are asked to read this with their team."
    page.get_by_label("7. Questions for reflection").fill(typed)
    page.get_by_role("button", name="Save and submit for approval").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    entries = summary.get_by_role("listitem")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text(PROBLEM)
    link = entries.first.get_by_role("link")
    assert link.get_attribute("href") == "#table-children-by-age-band"
    # Listed once in the body, under the table, and not again anywhere else.
    assert page.content().count(PROBLEM) == 2  # the summary, and the table's group
    expect(page.locator("#check li")).to_have_count(0)
    assert axe_violations(page) == [], "the refused editor"
    link.click()
    assert page.url.endswith("#table-children-by-age-band")

    group.get_by_role("button", name=ACTION).click()
    expect(page.get_by_text("now shows its small numbers as “fewer than 5”")).to_be_visible()
    expect(page.get_by_text(PROBLEM)).to_have_count(0)
    expect(group.get_by_role("button", name="Show the numbers again")).to_be_visible()
    # What was typed before the refused submission was kept by the action.
    expect(page.get_by_label("7. Questions for reflection")).to_have_value(typed)
    assert axe_violations(page) == [], "the editor after the action"

    page.goto(f"{editor}/preview")
    assert "fewer than 5" in page.content()
    page.goto(editor)
    page.get_by_role("button", name="Save and submit for approval").click()
    expect(page.get_by_text("submitted for approval")).to_be_visible()
