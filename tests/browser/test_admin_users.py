"""In a real browser: the admin's Users pages (axe checks them in the every-page walk).

Nothing here changes an account: the live server's demo is shared by the whole run."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")


def test_the_list_links_to_a_users_page(page_as, live_server):
    page = page_as("admin")
    page.goto(f"{live_server}/admin/users")
    assert "Priya Auditor (police)" in page.get_by_role("table").inner_text()
    page.get_by_role("link", name="Priya Auditor (police)").click()
    page.wait_for_url("**/admin/users/*")
    expect(page.get_by_role("heading", name="Priya Auditor (police)")).to_be_visible()
    expect(page.get_by_role("button", name="Disable account")).to_be_visible()


def test_the_empty_new_user_form_shows_the_error_summary(page_as, live_server):
    page = page_as("admin", for_axe=True)
    page.goto(f"{live_server}/admin/users/new")
    page.get_by_role("button", name="Add user").click()
    page.wait_for_selector(".govuk-error-summary")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    for message in [
        "Enter the person's name",
        "Enter the person's email address",
        "Choose at least one role",
    ]:
        expect(summary.get_by_role("link", name=message)).to_be_visible()
    assert page.title().startswith("Error: ")
    assert axe_violations(page) == []
