"""In a real browser: an admin builds a template (details, a key area, questions of
several kinds), previews it as an auditor would see it and publishes it; axe finds
nothing on any builder page, and the builder is photographed for the README."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")


def check(page, what: str) -> None:
    assert axe_violations(page) == [], what


def test_an_admin_builds_previews_and_publishes_a_template(page_as, live_server, shot):
    page = page_as("admin", for_axe=True)
    page.goto(f"{live_server}/admin/templates")
    check(page, "template list")
    page.get_by_role("link", name="Create a template").click()
    check(page, "new template")
    page.get_by_role("button", name="Create template").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    check(page, "new template with errors")

    page.get_by_label("Name").fill("Neglect: the child's lived experience")
    page.get_by_label("Theme (optional)").fill("Neglect")
    page.get_by_label("Method (optional)").fill("Deep dive")
    page.get_by_role("group", name="Do auditors also give an overall grade?").get_by_label(
        "Yes"
    ).check()
    page.get_by_label("Ofsted four-point scale").check()
    page.get_by_role("button", name="Create template").click()
    expect(page.get_by_text("The template has been created as a draft")).to_be_visible()
    builder = page.url.split("?")[0]

    for title, questions in [
        (
            "Recognising neglect",
            [
                (
                    "Was a neglect screening tool used?",
                    "One choice from a list",
                    "Graded Care Profile 2\nOther tool\nNo tool",
                ),
                ("Was the child seen and spoken to alone?", "Yes, partly or no", None),
            ],
        ),
        ("Planning and review", [("How long did the first plan take, in days?", "A number", None)]),
    ]:
        page.goto(builder)
        page.get_by_role("link", name="Add a key area").click()
        check(page, "new key area")
        page.get_by_label("Title").fill(title)
        page.get_by_role("button", name="Add key area and its first question").click()
        for prompt, kind, options in questions:
            check(page, "new question")
            page.get_by_label("Question", exact=True).fill(prompt)
            page.get_by_label(kind).check()
            if options:
                page.get_by_label("Options, one on each line").fill(options)
            page.get_by_role("group", name="Must the auditor answer").get_by_label("Yes").check()
            page.get_by_role("button", name="Save and add another question").click()
            expect(page.get_by_text("The question has been added.")).to_be_visible()

    page.goto(builder)
    expect(page.get_by_text("Was a neglect screening tool used?")).to_be_visible()
    check(page, "builder")
    shot(page, "template-builder")

    for link in ("/details", "/scale"):
        page.goto(builder + link)
        check(page, link)
    page.goto(builder)
    page.get_by_role("link", name="Change question 1 of Recognising neglect").click()
    check(page, "change question")
    page.goto(builder)
    page.get_by_role("link", name="Change Recognising neglect").click()
    check(page, "change key area")

    page.goto(builder)
    page.get_by_role("link", name="Preview the template as an auditor will see it").click()
    check(page, "preview")
    page.get_by_role("link", name="Recognising neglect").click()
    expect(page.get_by_label("Graded Care Profile 2")).to_be_visible()
    assert page.get_by_role(
        "group", name="Your agency's grade for Recognising neglect"
    ).is_visible()
    check(page, "preview of a key area")

    page.goto(builder)
    page.get_by_role("button", name="Publish template").click()
    expect(page.get_by_text("The template has been published.")).to_be_visible()
    check(page, "published")
