"""In a real browser: an administrator invites someone; they open the e-mailed link,
set their password and their authenticator app (the code made with pyotp from the key
the page shows) and are signed in; later they reset their password, and the
authenticator code is still asked for. axe passes on each page. The links are read
from the e-mails the live server queued (no courier runs there, so they wait, whole)."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from app.notifications.models import Notification
from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")

EMAIL = "sam.newcomer@example.org"
PASSWORD = "my own long passphrase 2026"
NEW_PASSWORD = "a newer long passphrase 2027"
LINK = re.compile(r"https?://\S+(/(?:invitation|reset-password)/[A-Za-z0-9_-]+)")


def emailed_link(live_database: str, kind: str) -> str:
    """The path of the link in the newest ``kind`` e-mail to the newcomer."""
    engine = create_engine(live_database)
    try:
        with Session(engine) as db:
            body = db.scalar(
                select(Notification.body)
                .where(Notification.kind == kind, Notification.email == EMAIL)
                .order_by(Notification.id.desc())
                .limit(1)
            )
    finally:
        engine.dispose()
    assert body, f"no {kind} e-mail"
    return LINK.search(body)[1]


def no_violations(page) -> None:
    assert axe_violations(page) == [], page.url


def test_invited_then_signed_in_then_reset(page_as, live_server, live_database):
    admin = page_as("admin", for_axe=True)
    admin.goto(f"{live_server}/admin/users/invite")
    no_violations(admin)
    admin.get_by_role("button", name="Send invitation").click()  # empty: the error summary
    admin.wait_for_selector(".govuk-error-summary")
    no_violations(admin)
    admin.get_by_label("Name").fill("Sam Newcomer")
    admin.get_by_label("Email address").fill(EMAIL)
    admin.get_by_label("Practitioner").check()
    admin.get_by_role("button", name="Send invitation").click()
    admin.wait_for_url("**/admin/users")
    expect(admin.locator(".govuk-notification-banner")).to_contain_text(
        f"An invitation has been sent to {EMAIL}"
    )

    # The newcomer, in a browser of their own.
    page = page_as(None, for_axe=True)
    invitation = emailed_link(live_database, "invitation")
    page.goto(f"{live_server}{invitation}")
    expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    no_violations(page)
    page.get_by_label("Create a password").fill("too short")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector(".govuk-error-summary")
    no_violations(page)
    page.get_by_label("Create a password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/sign-in/set-up**")
    no_violations(page)
    secret = page.locator("code.app-secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    no_violations(page)
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # The link works once: the same page for it as for any link that does not work.
    page.goto(f"{live_server}{invitation}")
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    no_violations(page)

    # Forgot their password, in another browser.
    other = page_as(None, for_axe=True)
    other.goto(f"{live_server}/forgot-password")
    no_violations(other)
    other.get_by_label("Email address").fill(EMAIL)
    other.get_by_role("button", name="Send the link").click()
    other.wait_for_url("**/forgot-password/sent")
    expect(other.get_by_role("heading", name="Check your email")).to_be_visible()
    no_violations(other)
    other.goto(f"{live_server}{emailed_link(live_database, 'password_reset')}")
    expect(other.get_by_role("heading", name="Choose a new password")).to_be_visible()
    no_violations(other)
    other.get_by_label("New password").fill(NEW_PASSWORD)
    other.get_by_role("button", name="Change password").click()
    other.wait_for_url("**/password-changed")
    no_violations(other)

    # Signed out everywhere: the first browser's session has ended.
    page.goto(f"{live_server}/")
    page.wait_for_url("**/sign-in**")
    # Signing in again asks for the authenticator's code (the next one: each works once).
    other.get_by_role("link", name="Sign in").click()
    other.get_by_label("Email address").fill(EMAIL)
    other.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    other.get_by_role("button", name="Continue").click()
    other.wait_for_url("**/sign-in/code**")
    other.get_by_label("Security code").fill(totp.at(time.time() + 30))
    other.get_by_role("button", name="Sign in").click()
    expect(other.get_by_role("button", name="Sign out")).to_be_visible()
