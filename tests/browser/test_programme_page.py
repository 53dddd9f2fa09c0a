"""In a real browser: the year's programme as the Executive reads it (the timeline by
month, each audit's stage, Late in red) and as an administrator plans it; axe finds
nothing on either, and the administrator's is photographed for the README."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")


def test_the_executive_reads_the_programme_and_an_administrator_plans_it(
    page_as, live_server, shot
):
    executive = page_as("executive", for_axe=True)
    executive.goto(f"{live_server}/programme")
    expect(executive.get_by_role("heading", level=1)).to_contain_text("programme")
    expect(executive.get_by_text("Front Door referrals audit").first).to_be_visible()
    expect(executive.get_by_role("link", name="Download the programme (XLSX)")).to_be_visible()
    expect(executive.get_by_role("link", name="Add to the programme")).to_have_count(0)
    assert axe_violations(executive) == [], "the programme, as the Executive reads it"

    admin = page_as("admin", for_axe=True)
    admin.goto(f"{live_server}/programme")
    expect(admin.get_by_role("link", name="Add to the programme")).to_be_visible()
    assert axe_violations(admin) == [], "the programme, as an administrator plans it"
    shot(admin, "programme-timeline")
