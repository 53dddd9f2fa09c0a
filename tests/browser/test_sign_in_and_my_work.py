"""In a real browser: signing in, My work, and the accessibility of the pages before
signing in (the every-page walk checks those after)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")


def test_an_auditor_signs_in_with_the_keyboard_and_sees_their_work(page_as, live_server, shot):
    page = page_as("auditor")  # signed in with the keyboard (conftest.sign_in)
    page.goto(f"{live_server}/")  # the start page: what needs their attention
    page.get_by_role("link", name="Go to My work").click()
    page.wait_for_url("**/my-work")
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    # To do, grouped by audit: a table per audit, captioned with it.
    table = page.get_by_role("table", name=re.compile("Identification of need and risk"))
    text = table.first.inner_text()
    assert "Child A" in text and "key areas done" in text
    shot(page, "my-work")


def test_sign_in_errors_use_the_error_summary(page, live_server, shot):
    page.goto(f"{live_server}/sign-in")
    shot(page, "sign-in")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector(".govuk-error-summary")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link", name="Enter your email address")).to_be_visible()
    assert page.title().startswith("Error: ")


@pytest.mark.parametrize("path", ["/sign-in", "/no-such-page"])
def test_pages_before_signing_in_have_no_axe_violations(page_as, live_server, path):
    page = page_as(None, for_axe=True)
    page.goto(f"{live_server}{path}")
    assert axe_violations(page) == []
