"""In a real browser: a practitioner, from the library, chooses the themes of new
learning briefings they are e-mailed about, saves them and sees them kept; then follows
none again, as the demo had it. axe finds nothing on the page, before or after saving,
and the page with two themes followed is photographed for the README."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")
CHOSEN = ("Voice of the child", "Strategy discussion")


def check(page, what: str) -> None:
    assert axe_violations(page) == [], what


def test_a_practitioner_chooses_the_themes_they_hear_about(page_as, live_server, shot):
    page = page_as("practitioner", for_axe=True)
    page.goto(f"{live_server}/library")
    page.get_by_role(
        "link", name="Get an e-mail when a briefing on a theme you choose is published"
    ).click()
    expect(page.get_by_role("heading", level=1, name="Themes you follow")).to_be_visible()
    themes = page.get_by_role("group", name="Which themes do you want to hear about?")
    for name in CHOSEN:
        expect(themes.get_by_label(name, exact=True)).not_to_be_checked()
    check(page, "the themes a practitioner follows")

    for name in CHOSEN:
        themes.get_by_label(name, exact=True).check()
    page.get_by_role("button", name="Save the themes you follow").click()
    expect(
        page.get_by_text(
            "You will be e-mailed when a learning briefing on "
            "Strategy discussion, Voice of the child is published."
        )
    ).to_be_visible()
    for name in CHOSEN:
        expect(themes.get_by_label(name, exact=True)).to_be_checked()
    expect(themes.get_by_label("Recording", exact=True)).not_to_be_checked()
    check(page, "the themes a practitioner follows, once saved")
    shot(page, "themes-practitioner")

    # Following none stops the e-mails (and leaves the demo as it was for other tests).
    for name in CHOSEN:
        themes.get_by_label(name, exact=True).uncheck()
    page.get_by_role("button", name="Save the themes you follow").click()
    expect(
        page.get_by_text("You will not be e-mailed about new learning briefings.")
    ).to_be_visible()
    for name in CHOSEN:
        expect(themes.get_by_label(name, exact=True)).not_to_be_checked()
