"""In a real browser: signing in with an organisation's account. The demo's subgroup
chair (whom no other browser test signs in: an authenticator code works once) chooses
"Sign in with Westshire Police (test)", is sent to the identity
provider (oidc-provider-mock on loopback), authorises there, comes back, and gives
the service's own authenticator code (the provider asserted no second factor); axe
finds nothing on the sign-in page or the code page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SSO_NAME, axe_violations, totp_now

pytestmark = pytest.mark.usefixtures("live_server")


def test_sign_in_with_the_organisations_account(chromium, live_server):
    context = chromium.new_context(viewport={"width": 1100, "height": 900}, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/sign-in")
        assert axe_violations(page) == [], "the sign-in page with single sign-on"
        page.get_by_role("link", name=f"Sign in with {SSO_NAME}").click()
        # At the provider: who to sign in as (its own test form).
        page.get_by_placeholder("sub").fill("chair@example.org")
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url("**/sign-in/code**")
        assert axe_violations(page) == [], "the code page after single sign-on"
        page.get_by_label("Security code").fill(totp_now())
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/sign-in" not in url)
        expect(page.get_by_role("heading", level=1)).to_contain_text("needs your attention")
    finally:
        context.close()
