"""In a real browser: an auditor completes and submits a return with the keyboard
only (JavaScript on), meets the error summary on the way, and another auditor
completes one with JavaScript off. Screenshots for the README; axe checks these pages,
as each role that reaches them, in the every-page walk."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.usefixtures("live_server")

ANSWER = "Recorded on the day; the child's words are in the case notes."


def first_not_started(page, base: str) -> str:
    """The link to the first return on My work that nobody has started."""
    page.goto(f"{base}/my-work")
    row = page.locator("tr", has_text="Not started").first
    return row.get_by_role("link").get_attribute("href")


def focused(page) -> dict:
    return page.evaluate(
        """() => { const e = document.activeElement;
            return {tag: e.tagName, type: e.type || "", name: e.name || "",
                    text: (e.innerText || e.value || "").trim()} }"""
    )


def keyboard_walk(page, *, stop_at: str) -> None:
    """Tab through the page from the top, answering each field as it gets focus, until
    the button labelled ``stop_at`` has focus; then press Enter. Keyboard only."""
    page.keyboard.press("Tab")
    answered: set[str] = set()
    for _ in range(300):
        element = focused(page)
        name = element["name"]
        if element["tag"] == "BUTTON" and element["text"] == stop_at:
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return
        if name and name not in answered and name not in ("csrf_token", "version"):
            answered.add(name)
            if element["type"] == "radio":
                page.keyboard.press("Space")  # the first option of the group
            elif element["tag"] == "TEXTAREA":
                page.keyboard.insert_text(ANSWER)  # as typed, without a key event each
            elif name.endswith("-day"):
                page.keyboard.type("27")
            elif name.endswith("-month"):
                page.keyboard.type("3")
            elif name.endswith("-year"):
                page.keyboard.type("2024")
            elif element["tag"] == "INPUT" and element["type"] == "text":
                page.keyboard.type("12")
        page.keyboard.press("Tab")
    raise AssertionError(f"never reached the {stop_at!r} button")


def test_an_auditor_completes_and_submits_a_return_with_the_keyboard(page_as, live_server, shot):
    page = page_as("auditor")
    href = first_not_started(page, live_server)
    page.goto(f"{live_server}{href}")
    shot(page, "task-list")
    areas = page.locator(".govuk-task-list__link").evaluate_all("els => els.map(e => e.href)")
    key_areas = [a for a in areas if "/areas/" in a]

    # Before it is finished, Check your answers lists what is left, each a link, and
    # offers no submit that could only fail.
    page.goto(f"{live_server}{href}/check")
    expect(
        page.get_by_role("heading", name="Finish these sections before you submit")
    ).to_be_visible()
    assert page.locator("main ul.govuk-list a").count() >= len(key_areas)
    expect(page.get_by_role("button", name="Submit return")).to_have_count(0)

    page.goto(key_areas[0])
    shot(page, "key-area")
    for _ in key_areas:
        keyboard_walk(page, stop_at="Save and continue")
    assert page.url.endswith("/overall")
    keyboard_walk(page, stop_at="Save and continue")
    assert page.url.endswith("/check")
    shot(page, "check-your-answers")
    keyboard_walk(page, stop_at="Submit return")
    expect(page.get_by_role("heading", name="Return submitted")).to_be_visible()
    shot(page, "return-submitted")


def test_a_return_can_be_completed_without_javascript(chromium, signed_in_state, live_server):
    context = chromium.new_context(
        java_script_enabled=False, storage_state=signed_in_state("other_auditor")
    )
    page = context.new_page()
    try:
        href = first_not_started(page, live_server)
        page.goto(f"{live_server}{href}")
        links = page.locator(".govuk-task-list__link").evaluate_all("els => els.map(e => e.href)")
        for link in [a for a in links if "/areas/" in a]:
            page.goto(link)
            for group in set(
                page.locator("input[type=radio]").evaluate_all("els => els.map(e => e.name)")
            ):
                page.locator(f"input[name='{group}']").first.check()
            for box in page.locator("textarea").all():
                box.fill(ANSWER)
            for part, value in (("day", "27"), ("month", "3"), ("year", "2024")):
                for field in page.locator(f"input[name$='-{part}']").all():
                    field.fill(value)
            for field in page.locator("input[inputmode=decimal]").all():
                field.fill("12")
            page.get_by_role("button", name="Save and continue").click()
        if page.url.endswith("/overall"):
            page.locator("input[name=overall]").first.check()
            page.get_by_role("button", name="Save and continue").click()
        page.get_by_role("button", name="Submit return").click()
        expect(page.get_by_role("heading", name="Return submitted")).to_be_visible()
    finally:
        context.close()


def test_an_auditor_of_another_agency_cannot_reach_that_return(page_as, live_server):
    theirs = page_as("auditor")
    theirs.goto(f"{live_server}/my-work")
    href = theirs.locator("tbody a").first.get_attribute("href") or ""
    assert re.match(r"^/returns/\d+$", href)
    other = page_as("other_auditor")
    response = other.goto(f"{live_server}{href}")
    assert response.status == 404
    expect(other.get_by_role("heading", name="Page not found")).to_be_visible()


def test_a_moderator_opens_the_audit_overview_from_the_list(page_as, live_server, shot):
    page = page_as("moderator")
    page.goto(f"{live_server}/audits")
    page.get_by_role("link", name=re.compile("Identification of need and risk")).click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=2, name="By child")).to_be_visible()
    shot(page, "audit-overview")


def test_typing_saves_the_draft_without_pressing_save(page_as, live_server):
    page = page_as("other_auditor")
    page.goto(f"{live_server}/my-work")
    editable = page.locator("tr", has_text=re.compile("In progress|Sent back|Not started"))
    href = editable.first.get_by_role("link").get_attribute("href")
    page.goto(f"{live_server}{href}")
    area = page.locator("a[href*='/areas/']").first.get_attribute("href")
    page.goto(f"{live_server}{area}")
    box = page.get_by_label("What could have been better")
    box.fill("")
    box.type("Saved while typing, never submitted.")
    expect(page.locator("#autosave-status")).to_contain_text("Draft saved", timeout=10_000)
    # A browser closed now loses nothing: a fresh page shows what was typed.
    page.goto(f"{live_server}{area}")
    assert page.get_by_label("What could have been better").input_value() == (
        "Saved while typing, never submitted."
    )
