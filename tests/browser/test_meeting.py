"""In a real browser: the chair moderates the demo's whole 6-child audit from the
meeting view, one child a page: one child with the keyboard only (Child D, known to
six agencies), one grade changed with its rationale after the error summary, the
others agreed; the page loads are counted (one per child, plus the changed grade's
error), axe finds nothing on any state, and the saved confirmation takes the focus.
Moderation then finishes and the audit shows its stage and tabs in learning (axe
checks those pages, as every page, in tests/browser/test_every_page.py). The meeting
view and the stage and tabs are photographed for the README."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.demo import MEETING_COHORT, MEETING_TITLE
from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")

RATIONALE = "No record that the child's own account was sought before the plan was agreed."
AGREE_ALL = """() => document.querySelectorAll('.govuk-radios').forEach(group => {
    if (!group.querySelector('input:checked')) group.querySelector('input').click();
})"""
FOCUSED = """() => {
    const el = document.activeElement;
    const group = el.name ? document.querySelectorAll(`input[name="${el.name}"]:checked`) : [];
    return {tag: el.tagName, type: el.type || "", name: el.name || "", text: el.innerText || "",
            checked: group.length > 0};
}"""


def check(page, what: str) -> None:
    assert axe_violations(page) == [], what


def saved_banner_has_focus(page) -> None:
    # While the next page loads there is no active element yet: wait, do not fail.
    page.wait_for_function(
        "() => document.activeElement?.classList.contains('govuk-notification-banner')"
    )
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("saved for")


def moderate_with_the_keyboard(page) -> str:
    """Tab through the page: agree each grade with Space, except the first, changed with
    an arrow key and given its rationale; then Enter on Save and go to the next child.
    Returns the changed grade's field."""
    changed = ""
    for _ in range(3000):
        el = page.evaluate(FOCUSED)
        if el["type"] == "radio" and not el["checked"]:
            if not changed:
                changed = el["name"]
                page.keyboard.press("ArrowDown")  # from "Agree" to the next grade
            else:
                page.keyboard.press("Space")
        elif el["tag"] == "TEXTAREA" and changed and el["name"] == "r" + changed[1:]:
            page.keyboard.type(RATIONALE)
        elif el["tag"] == "BUTTON" and "Save and go to the next child" in el["text"]:
            page.keyboard.press("Enter")
            return changed
        page.keyboard.press("Tab")
    raise AssertionError("never reached Save and go to the next child")


def test_a_whole_audit_moderated_from_the_meeting_view(page_as, live_server, shot):
    page = page_as("moderator", for_axe=True)
    page.goto(f"{live_server}/audits")
    page.get_by_role("link", name=MEETING_TITLE).click()
    page.get_by_role("navigation", name="This audit").get_by_role("link", name="Moderation").click()
    page.get_by_role("button", name="Run the meeting: one child at a time").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Child A")
    check(page, "the meeting view")

    loads = []
    page.on("load", lambda: loads.append(page.url))
    children = [pseudonym for pseudonym, *_rest in MEETING_COHORT]
    refused_saves = 0
    for n, child in enumerate(children):
        expect(page.get_by_role("heading", level=1)).to_contain_text(child)
        if child == "Child D":
            # Six agencies side by side: on a phone's width each key area's row scrolls
            # sideways, the page does not.
            assert page.locator(".app-meeting-row").first.locator(".app-meeting-col").count() == 6
            page.set_viewport_size({"width": 375, "height": 800})
            row = page.locator(".app-meeting-row").first
            assert row.evaluate("r => r.scrollWidth > r.clientWidth")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.set_viewport_size({"width": 1100, "height": 900})
            # A tall page: the picture is its first key area, every agency side by side.
            page.locator(".app-meeting-area h2").first.evaluate("h => h.scrollIntoView()")
            shot(page, "moderation-meeting", full_page=False)
            page.evaluate("window.scrollTo(0, 0)")
            page.keyboard.press("Tab")  # the skip link first, as anyone with a keyboard starts
            moderate_with_the_keyboard(page)
        elif child == "Child B":
            # A change without its reason: the error summary, nothing saved, then saved.
            first = page.locator(".govuk-radios").first
            first.locator("input").nth(1).check()
            page.evaluate(AGREE_ALL)
            page.get_by_role("button", name="Save and go to the next child").click()
            summary = page.locator(".govuk-error-summary")
            expect(summary).to_contain_text("say why the agency's grade is changed")
            check(page, "the meeting view with the error summary")
            summary.get_by_role("link").first.click()
            page.keyboard.type(RATIONALE)  # the link put the focus in the rationale
            page.get_by_role("button", name="Save and go to the next child").click()
            refused_saves += 1
        else:
            page.evaluate(AGREE_ALL)
            page.get_by_role("button", name="Save and go to the next child").click()
        if n < len(children) - 1:
            saved_banner_has_focus(page)
            check(page, f"the meeting view after saving {child}")

    # Every grade is decided: back on the grid, in one page load per child, plus one
    # for the changed grade first sent without its reason.
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Every grade is moderated"
    )
    assert len(loads) <= len(children) + refused_saves, loads
    assert "0 grades still to moderate" in page.content()
    page.get_by_role("button", name="Finish moderation").click()
    expect(page.get_by_text("Moderation is finished")).to_be_visible()

    # In learning: the way on to findings, actions, briefings and analytics.
    page.get_by_role("navigation", name="This audit").get_by_role("link", name="Overview").click()
    tabs = page.get_by_role("navigation", name="This audit")
    for tab in ("Findings", "Actions", "Briefings", "Analytics"):
        expect(tabs.get_by_role("link", name=tab)).to_be_visible()
    expect(page.locator("[aria-current=step]")).to_contain_text("Learning")
    shot(page, "audit-stage-and-tabs")
    tabs.get_by_role("link", name="Analytics").click()
    expect(page.get_by_text("agreement", exact=False).first).to_be_visible()
