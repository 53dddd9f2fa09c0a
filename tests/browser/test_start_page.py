"""In a real browser, on the demo partnership: the start page each person lands on
after signing in (what needs their attention), its accessibility for every role, and
the moderator's for the README."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEMO, axe_violations

pytestmark = pytest.mark.usefixtures("live_server")


def test_a_moderator_starts_with_what_needs_their_attention(page_as, live_server, shot):
    page = page_as("moderator")
    page.goto(f"{live_server}/")
    expect(page.get_by_role("heading", name="What needs your attention", level=1)).to_be_visible()
    # The demo has two audits in moderation with grades still to decide.
    moderation = page.locator(".govuk-summary-card", has_text="Moderation: grades to decide")
    expect(moderation).to_be_visible()
    expect(moderation.get_by_role("link", name="Moderate").first).to_be_visible()
    shot(page, "start-page-moderator")


@pytest.mark.parametrize("who", sorted(DEMO))
def test_each_roles_start_page_has_no_axe_violations(page_as, live_server, who):
    page = page_as(who, for_axe=True)
    page.goto(f"{live_server}/")
    expect(page.get_by_role("heading", name="What needs your attention", level=1)).to_be_visible()
    assert axe_violations(page) == []
