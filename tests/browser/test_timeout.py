"""The session timeout loses nothing: the warning before it (with the page's clock
moved, not slept), "Stay signed in", and a key area saved after the session ended,
kept and saved once the auditor signs in again."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from app.access.auth import SESSION_COOKIE
from app.access.models import User
from app.access.secrets import digest
from tests.browser.conftest import DEMO, TOTP_SECRET, axe_violations
from tests.browser.test_autosave import an_area_to_edit
from tests.helpers.access import signed_in_cookie

pytestmark = pytest.mark.usefixtures("live_server")

TYPED = 'Seen on day 9, not day 2: "no car" & <no cover>\nSecond line, £40 taxi — Zoë.'


def own_session(chromium, live_server: str, live_database: str, who: str):
    """A browser signed in as ``who`` with a session of its own (made in the database,
    as tests/helpers/access.py does), so timing it out ends no other test's session."""
    engine = create_engine(live_database)
    try:
        with Session(engine) as db:
            user = db.scalar(select(User).where(User.email == DEMO[who][0]))
            token = signed_in_cookie(db, user)
    finally:
        engine.dispose()
    context = chromium.new_context(bypass_csp=True)  # for axe
    context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": live_server}])
    return context, token


def sit_idle(live_database: str, token: str, minutes: float) -> None:
    """Move the session's last activity back, as if its person had done nothing."""
    engine = create_engine(live_database)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE web_session SET last_seen_at = :at WHERE token_hash = :hash"),
                {"at": datetime.now(UTC) - timedelta(minutes=minutes), "hash": digest(token)},
            )
    finally:
        engine.dispose()


def test_the_warning_comes_two_minutes_before_and_stay_signed_in_keeps_the_session(
    page_as, live_server, live_database, shot
):
    page = page_as("other_auditor", for_axe=True)
    # The service noted this person's activity 40 s ago (it notes it at most once a
    # minute): the page counts from then, and after "Stay signed in" from the answer.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    sit_idle(live_database, token, minutes=40 / 60)
    page.clock.install()
    page.goto(f"{live_server}/my-work")
    dialog = page.get_by_role("alertdialog", name="You are about to be signed out")
    left = int(page.locator("#timeout-warning").get_attribute("data-idle-seconds") or 0)
    assert 850 <= left <= 860
    page.clock.run_for((left - 120 - 10) * 1000)
    expect(dialog).to_be_hidden()
    page.clock.run_for(15 * 1000)  # two minutes left
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("we will sign you out in 2 minutes")
    expect(page.get_by_role("heading", name="You are about to be signed out")).to_be_focused()
    assert axe_violations(page) == []
    shot(page, "timeout-warning")
    dialog.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()
    page.clock.run_for("12:50")  # the idle time started again when they chose to stay
    expect(dialog).to_be_hidden()
    page.clock.run_for("00:15")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")  # Escape stays signed in too
    expect(dialog).to_be_hidden()
    page.clock.run_for("12:50")
    expect(dialog).to_be_hidden()
    # Nobody answers: signed out, and the page is left as it was, to carry on from.
    page.clock.run_for("02:20")
    expect(page.get_by_role("heading", name="You have been signed out")).to_be_visible()
    signed_out = page.get_by_role("alertdialog", name="You have been signed out")
    signed_out.get_by_role("button", name="Close and carry on").click()
    expect(signed_out).to_be_hidden()
    expect(page.get_by_role("heading", name="My work")).to_be_visible()


def test_a_key_area_saved_after_the_timeout_is_kept_and_saved_after_signing_in(
    chromium, live_server, live_database
):
    context, token = own_session(chromium, live_server, live_database, "other_auditor")
    page = context.new_page()
    area = an_area_to_edit(page, live_server)
    page.goto(area)
    # No autosave during this test: what is typed reaches the server only on Save.
    page.locator("form[data-autosave]").evaluate("form => form.dataset.autosave = '3600000'")
    page.get_by_label("What could have been better").fill(TYPED)
    sit_idle(live_database, token, minutes=16)
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url(re.compile(r"/sign-in"))
    expect(
        page.get_by_text("You were signed out because you had not done anything")
    ).to_be_visible()
    expect(page.get_by_text("has been kept")).to_be_visible()
    assert axe_violations(page) == []
    email, password = DEMO["other_auditor"]
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Continue").click()
    # The next time step's code: this person's code for this one may be used already.
    page.get_by_label("Security code").fill(pyotp.TOTP(TOTP_SECRET).at(time.time() + 30))
    page.get_by_role("button", name="Sign in").click()
    # Kept work posts the form back at once, then the service goes on as Save would.
    page.wait_for_url(lambda url: "/kept" not in url and "/sign-in" not in url)
    page.goto(area)
    saved = page.get_by_label("What could have been better").input_value()
    context.close()
    assert saved.replace("\r\n", "\n") == TYPED
