"""In a real browser: the demo's public learning briefing has a web version on its
library entry, which anyone can read without signing in: its key messages and the seven
numbered sections in order, then the chart of the grades with its data, the children
and the further learning; axe finds nothing on it. The business unit drafting a new one
sees how much of page 1 its text fills, each box counting its characters as they are
typed, and a clear warning once it is too long for two pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.briefings import drafting
from app.demo import DEEP_DIVE_TITLE as DEEP_DIVE
from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")
BRIEFING = "7 minute briefing: child protection procedures in exploitation cases"


def check(page, what: str) -> None:
    assert axe_violations(page) == [], what


def test_anyone_reads_the_briefing_as_a_web_page(page_as, live_server, shot):
    page = page_as(None, for_axe=True)
    page.goto(f"{live_server}/library")
    page.get_by_role("link", name=BRIEFING).first.click()
    expect(page.get_by_role("heading", level=1, name=BRIEFING)).to_be_visible()
    headings = page.locator("#web-version").get_by_role("heading", level=2).all_inner_texts()
    numbered = [f"{n}. {s.heading}" for n, s in enumerate(drafting.NUMBERED, 1)]
    assert headings == [
        drafting.KEY_MESSAGES.heading,
        *numbered,
        "The grades",
        "The children",
        "Further learning",
    ]
    # The chart has its data beside it, as a table; the further learning links out.
    expect(page.get_by_role("img", name="Agencies' own and moderated grades")).to_be_visible()
    expect(page.get_by_role("table", name="Key-area grades by level")).to_be_visible()
    expect(
        page.get_by_role("link", name="Working Together to Safeguard Children 2023")
    ).to_have_attribute(
        "href",
        "https://www.gov.uk/government/publications/working-together-to-safeguard-children--2",
    )
    expect(page.get_by_role("link", name="Download the briefing (PDF)")).to_be_visible()
    check(page, "the briefing's web version")
    shot(page, "library-briefing-web-version")


def test_the_editor_shows_how_full_page_one_is(page_as, live_server, shot):
    page = page_as("admin", for_axe=True)
    page.goto(f"{live_server}/briefings")
    page.get_by_role("link", name=f"Draft a briefing from {DEEP_DIVE}").click()
    page.get_by_label("Learning briefing for practitioners (7 minute briefing)").check()
    page.get_by_label("Title").fill("7 minute briefing: a second look at strategy discussions")
    page.get_by_role("button", name="Draft the briefing").click()
    expect(page.get_by_text("The briefing has been drafted")).to_be_visible()
    fill = page.locator("#page-fill")
    expect(fill.get_by_role("heading", name="How much of the two pages it fills")).to_be_visible()
    expect(fill).to_contain_text("of page 1")
    expect(fill).not_to_contain_text("Too long for two pages")
    check(page, "the editor of a learning briefing")

    # Each box counts its characters as they are typed, against its share of page 1.
    found = page.get_by_label("3. What we found")
    found.fill(found.input_value() + "\n\n" + "Plans drifted between meetings. " * 40)
    expect(page.get_by_text("characters too many").first).to_be_visible()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Your changes have been saved.")).to_be_visible()
    expect(page.locator("#page-fill")).to_contain_text("Too long for two pages")
    expect(page.locator("#page-fill").get_by_role("link", name="3. What we found")).to_be_visible()
    check(page, "the editor warning that the briefing is too long")
    shot(page, "briefing-editor-too-long")
