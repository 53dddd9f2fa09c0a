"""In a real browser, at a phone's width (390 px): an administrator asks the families of
the demo's open audit with a family survey and makes a one-time link; a family opens it
with no account, is shown what is missing, answers and sends it; the link then cannot
be used again, reaches nothing else, and a second link, once expired, cannot be used
either; axe passes on each page. And a family answers without JavaScript."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from app.audits.models import Audit
from app.respond.models import RespondentLink
from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")

AUDIT = "Identification of need and risk: multi-agency audit"
CARRIER = "Westshire schools and colleges"  # no demo person works there: no one's My work changes
PHONE = {"width": 390, "height": 844}


def no_violations(page) -> None:
    assert axe_violations(page) == [], page.url


def _database(live_database: str):
    return create_engine(live_database)


def audit_id(live_database: str, title: str) -> int:
    engine = _database(live_database)
    try:
        with Session(engine) as db:
            found = db.scalar(select(Audit.id).where(Audit.title == title))
    finally:
        engine.dispose()
    assert found, title
    return found


def expire_newest_link(live_database: str) -> None:
    """As if the newest link's days had passed (the live server's clock cannot move)."""
    engine = _database(live_database)
    try:
        with Session(engine) as db:
            newest = db.scalar(
                select(RespondentLink.id).order_by(RespondentLink.id.desc()).limit(1)
            )
            db.execute(
                update(RespondentLink)
                .where(RespondentLink.id == newest)
                .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
            )
            db.commit()
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def survey_links(chromium, signed_in_state, live_server, live_database):
    """The family survey of the demo audit, made once for this file through the
    administrator's pages: a function that makes a link for a child's family and
    returns its address (the page shows it once)."""
    context = chromium.new_context(
        viewport={"width": 1100, "height": 900},
        storage_state=signed_in_state("admin"),
        bypass_csp=True,
    )
    admin = context.new_page()
    admin.goto(f"{live_server}/audits/{audit_id(live_database, AUDIT)}/family-survey")
    expect(
        admin.get_by_role("heading", name="Ask the families of this audit's children")
    ).to_be_visible()
    no_violations(admin)
    expect(admin.get_by_label("Family feedback survey (version 1)")).to_be_checked()
    admin.get_by_role("button", name="Make the survey").click()  # nothing chosen
    admin.wait_for_selector(".govuk-error-summary")
    no_violations(admin)
    admin.get_by_label("Which agency carries the survey").select_option(label=CARRIER)
    due = datetime.now(UTC).date() + timedelta(days=21)
    admin.get_by_label("Day").fill(str(due.day))
    admin.get_by_label("Month").fill(str(due.month))
    admin.get_by_label("Year").fill(str(due.year))
    admin.get_by_role("button", name="Make the survey").click()
    admin.wait_for_url("**/respondent-links")
    expect(admin.locator(".govuk-notification-banner")).to_contain_text(
        "The family survey has been made and opened"
    )
    no_violations(admin)
    links_page = admin.url

    def make(child: str) -> str:
        admin.goto(links_page)
        admin.get_by_role("button", name=f"Make a link for {child}").click()
        expect(admin.get_by_role("heading", name="One-time link made")).to_be_visible()
        no_violations(admin)
        return admin.get_by_label("The link").input_value()

    yield make
    context.close()


def _answer_every_question(page, words: str) -> None:
    for group in page.locator(".govuk-radios").all():
        group.locator('input[value="yes"]').first.check()
    page.locator("textarea").first.fill(words)


def test_a_family_answers_by_link_on_a_phone(chromium, survey_links, live_server, shot):
    address = survey_links("Child A")
    context = chromium.new_context(viewport=PHONE, bypass_csp=True)
    family = context.new_page()
    try:
        opened = family.goto(address)
        assert opened.status == 200
        expect(
            family.get_by_role("heading", name="Your experience of the help you were given")
        ).to_be_visible()
        # A phone's width, nothing wider; no way into the service from here.
        assert family.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert family.locator(".govuk-service-navigation").count() == 0
        no_violations(family)
        shot(family, "family-survey-by-link-phone")
        family.get_by_role("button", name="Send your answers").click()
        family.wait_for_selector(".govuk-error-summary")
        expect(family.locator(".govuk-error-summary")).to_contain_text("Select yes, partly or no")
        no_violations(family)
        _answer_every_question(family, "The social worker explained the plan and listened to us.")
        family.get_by_role("button", name="Send your answers").click()
        expect(family.get_by_role("heading", name="Your answers have been sent")).to_be_visible()
        assert family.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        no_violations(family)

        # Used up: the same page whichever way it is opened again.
        again = family.goto(address)
        assert again.status == 410
        expect(family.get_by_role("heading", name="This link cannot be used")).to_be_visible()
        no_violations(family)
        # It reached nothing else: the link left no cookie, so this browser is signed
        # in to nothing, and the API answers it as no one.
        assert context.cookies() == []
        assert context.request.get(f"{live_server}/api/v1/audits").status == 401
        family.goto(f"{live_server}/my-work")
        family.wait_for_url("**/sign-in**")
    finally:
        context.close()


def test_a_link_that_has_expired_cannot_be_used(chromium, survey_links, live_database):
    address = survey_links("Child B")
    expire_newest_link(live_database)
    context = chromium.new_context(viewport=PHONE, bypass_csp=True)
    family = context.new_page()
    try:
        opened = family.goto(address)
        assert opened.status == 410
        expect(family.get_by_role("heading", name="This link cannot be used")).to_be_visible()
        expect(family.get_by_text("contact the person who sent you the link")).to_be_visible()
        assert family.locator("a:not(.govuk-skip-link)").count() == 0
        no_violations(family)
    finally:
        context.close()


def test_a_family_answers_without_javascript(chromium, survey_links):
    address = survey_links("Child C")
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    family = context.new_page()
    try:
        family.goto(address)
        expect(
            family.get_by_role("heading", name="Your experience of the help you were given")
        ).to_be_visible()
        first = family.locator(".govuk-radios").first
        first.locator('input[value="partly"]').check()
        family.get_by_role("button", name="Save and come back later").click()
        expect(family.locator(".govuk-notification-banner")).to_contain_text(
            "Your answers have been saved"
        )
        # Back later with the same link: the answer is there.
        family.goto(address)
        expect(
            family.locator(".govuk-radios").first.locator('input[value="partly"]')
        ).to_be_checked()
        _answer_every_question(family, "")
        family.get_by_role("button", name="Send your answers").click()
        expect(family.get_by_role("heading", name="Your answers have been sent")).to_be_visible()
    finally:
        context.close()
