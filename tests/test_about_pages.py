"""The accessibility statement, privacy notice, help and contact pages: public, in
every page's footer, their text Markdown files an admin replaces (AUDIT_CONTENT_DIR),
drawn safely, and shown as shipped whenever a replacement cannot be used."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from app.about import documents
from app.access import service as access
from app.access.models import Role
from app.config import Settings
from tests.helpers.access import browse_as

NOON = datetime(2026, 11, 23, 12, tzinfo=UTC)
PAGES = {
    "/accessibility-statement": "Accessibility statement for the case audit service",
    "/privacy": "Privacy notice",
    "/help": "Help",
    "/contact": "Contact",
}
FOOTER_LINK = re.compile(r'class="govuk-footer__link" href="([^"]+)"')
BACK_LINK = re.compile(r'<a href="([^"]+)" class="govuk-back-link')


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def browser(anonymous_client, db):
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


@pytest.fixture
def settings_changed(app) -> Iterator[Callable[..., None]]:
    """``settings_changed(name=value)``: the service's settings so changed for this test
    (the app's state holds them; monkeypatch would delete them again, not restore them)."""
    kept = app.state.settings

    def change(**updates) -> None:
        app.state.settings = app.state.settings.model_copy(update=updates)

    try:
        yield change
    finally:
        app.state.settings = kept


@pytest.fixture
def content_dir(settings_changed, tmp_path) -> Path:
    """A content folder of the test's own, set as the service's (AUDIT_CONTENT_DIR)."""
    folder = tmp_path / "content"
    folder.mkdir()
    settings_changed(content_dir=folder)
    return folder


def heading(html: str) -> str:
    found = re.search(r'<h1 class="govuk-heading-l">([^<]*)</h1>', html)
    assert found, html
    return found.group(1)


def main(html: str) -> str:
    return html[html.index('<main class="govuk-main-wrapper"') : html.index("</main>")]


class TestPublicPages:
    @pytest.mark.parametrize(("path", "title"), PAGES.items())
    def test_each_answers_without_signing_in_with_its_heading(self, browser, path, title):
        page = browser.get(path)
        assert page.status_code == 200, page.text
        assert heading(page.text) == title
        assert f"<title>{title} - " in page.text
        assert BACK_LINK.search(page.text)
        assert "Signed in as" not in page.text

    def test_signed_in_they_keep_the_service_navigation(self, browser, db):
        user = access.create_user(
            db, email="reader@example.org", display_name="Reader", roles={Role.PRACTITIONER}
        )
        browse_as(browser, db, user)
        page = browser.get("/help")
        assert page.status_code == 200
        assert "Signed in as Reader" in page.text
        assert 'class="govuk-service-navigation__link" href="/library"' in page.text

    def test_the_back_link_returns_to_the_page_the_footer_was_followed_from(self, browser):
        library = browser.get("/library")
        footer = FOOTER_LINK.findall(library.text)
        assert footer[:4] == [
            "/help?from=/library",
            "/contact?from=/library",
            "/accessibility-statement?from=/library",
            "/privacy?from=/library",
        ]
        help_page = browser.get(footer[0])
        assert BACK_LINK.search(help_page.text).group(1) == "/library"
        # The support pages hand on where they came from, not themselves.
        assert FOOTER_LINK.findall(help_page.text)[3] == "/privacy?from=/library"

    @pytest.mark.parametrize("elsewhere", ["https://example.com/", "//example.com/x", ""])
    def test_the_back_link_never_leaves_the_service(self, browser, elsewhere):
        page = browser.get("/contact", params={"from": elsewhere})
        assert BACK_LINK.search(page.text).group(1) == "/"

    def test_the_footer_of_another_page_links_to_all_four(self, browser):
        page = browser.get("/sign-in")
        linked = {link.split("?")[0] for link in FOOTER_LINK.findall(page.text)}
        assert set(PAGES) <= linked
        for path in PAGES:
            assert browser.get(path).status_code == 200


class TestShippedTexts:
    def test_the_accessibility_statement_follows_the_model_with_the_services_own_tests(
        self, browser, app
    ):
        page = main(browser.get("/accessibility-statement").text)
        sections = re.findall(r'<h2 class="govuk-heading-m">([^<]*)</h2>', page)
        assert sections == [
            "How accessible this website is",
            "Feedback and contact information",
            "Reporting accessibility problems with this website",
            "Enforcement procedure",
            "Technical information about this website's accessibility",
            "Non-accessible content",
            "What we're doing to improve accessibility",
            "Preparation of this accessibility statement",
        ]
        assert "Compliance status" in page
        assert (
            "Public Sector Bodies (Websites and Mobile Applications) (No. 2) "
            "Accessibility Regulations 2018" in page
        )
        assert "Web Content Accessibility Guidelines version 2.2" in page
        assert "axe-core" in page and "PDF/UA-1" in page
        # The partnership's name from the settings; what it alone can say, marked.
        assert f"This website is run by {app.state.settings.partnership_name}." in page
        assert "{{" not in page
        assert "[date]" in page and "[your partnership's contact email address]" in page

    def test_the_privacy_notice_gives_the_retention_periods_set(self, browser, settings_changed):
        settings_changed(retention_case_text_years=4, retention_log_years=9)
        page = main(browser.get("/privacy").text)
        assert "removed 4 years after the audit closes" in page
        assert "kept for 9 years" in page
        assert "pseudonym" in page and "age band" in page
        assert "ico.org.uk" in page

    def test_help_links_to_the_library_and_contact_page(self, browser):
        page = main(browser.get("/help").text)
        assert '<a href="/library" class="govuk-link">library</a>' in page
        assert '<a href="/contact" class="govuk-link">contact page</a>' in page


class TestEditableTexts:
    def test_a_file_in_the_content_folder_replaces_the_shipped_text(self, browser, content_dir):
        (content_dir / "privacy.md").write_text(
            "# How {{ partnership }} uses your data\n\nWe keep *little*.\n\n- one\n- two\n",
            encoding="utf-8",
        )
        page = browser.get("/privacy").text
        assert heading(page) == "How Safeguarding Children Partnership uses your data"
        assert '<p class="govuk-body">We keep <em>little</em>.</p>' in page
        assert '<ul class="govuk-list govuk-list--bullet">' in page
        # The others are as shipped.
        assert heading(browser.get("/contact").text) == "Contact"

    def test_the_setting_is_read_from_the_environment(self, monkeypatch, tmp_path):
        monkeypatch.setenv("AUDIT_CONTENT_DIR", str(tmp_path))
        assert Settings(_env_file=None).content_dir == tmp_path
        monkeypatch.delenv("AUDIT_CONTENT_DIR")
        assert Settings(_env_file=None).content_dir == documents.SHIPPED

    def test_a_text_without_a_heading_of_its_own_takes_the_pages(self, browser, content_dir):
        (content_dir / "help.md").write_text("Ring the business unit.\n", encoding="utf-8")
        page = browser.get("/help").text
        assert heading(page) == "Help"
        assert "Ring the business unit." in page

    def test_html_in_a_text_is_shown_not_run(self, browser, content_dir):
        (content_dir / "contact.md").write_text(
            "# Contact\n\n<script>alert(1)</script>\n\n"
            'Call us <img src="x" onerror="alert(2)"> or [click](javascript:alert(3)).\n\n'
            '<div onclick="alert(4)">\n\n# A title <b>bold</b>\n',
            encoding="utf-8",
        )
        page = main(browser.get("/contact").text)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "&lt;img src=&quot;x&quot; onerror=&quot;alert(2)&quot;&gt;" in page
        assert "<script" not in page and "<img" not in page and "<div onclick" not in page
        assert "javascript:" not in page.replace("[click](javascript:alert(3))", "")
        assert "&lt;b&gt;bold&lt;/b&gt;" in page

    def test_a_partnership_name_with_markup_is_shown_as_written(
        self, browser, settings_changed, content_dir
    ):
        settings_changed(partnership_name="<b>Westshire</b> & Co")
        (content_dir / "help.md").write_text("Run by {{ partnership }}.\n", encoding="utf-8")
        page = main(browser.get("/help").text)
        assert "Run by &lt;b&gt;Westshire&lt;/b&gt; &amp; Co." in page

    def test_a_missing_content_folder_shows_the_shipped_texts(
        self, browser, settings_changed, tmp_path, caplog
    ):
        settings_changed(content_dir=tmp_path / "nowhere")
        with caplog.at_level(logging.WARNING, logger="app.about.documents"):
            for path, title in PAGES.items():
                page = browser.get(path)
                assert page.status_code == 200 and heading(page.text) == title
        assert caplog.text.count("nowhere is not there") == 1  # once, not per page

    @pytest.mark.parametrize(
        "broken",
        [
            pytest.param(lambda path: path.write_bytes(b"# Caf\xe9\n"), id="not-utf-8"),
            pytest.param(lambda path: path.write_text("  \n"), id="empty"),
            pytest.param(lambda path: path.mkdir(), id="a-folder"),
            pytest.param(
                lambda path: path.write_text("x" * (documents.MAX_BYTES + 1)), id="too-large"
            ),
        ],
    )
    def test_a_file_that_cannot_be_used_is_logged_and_shown_as_shipped(
        self, browser, content_dir, caplog, broken
    ):
        broken(content_dir / "accessibility.md")
        with caplog.at_level(logging.WARNING, logger="app.about.documents"):
            page = browser.get("/accessibility-statement")
        assert page.status_code == 200
        assert heading(page.text) == PAGES["/accessibility-statement"]
        assert "accessibility.md cannot be shown" in caplog.text


class TestMarkdown:
    def test_each_element_takes_govuk_styles(self):
        text = (
            "# Title\n\n## Section\n\n### Part\n\nSee [the library]({{library}}).\n\n"
            "1. first\n2. second\n\n> Note\n\n---\n\n| A | B |\n|---|---|\n| 1 | 2 |\n"
        )
        drawn = documents._drawn(text, (("library", "/library"),))
        assert drawn[0] == "Title"
        html = drawn[1]
        for expected in (
            '<h2 class="govuk-heading-m">Section</h2>',
            '<h3 class="govuk-heading-s">Part</h3>',
            '<a href="/library" class="govuk-link">the library</a>',
            '<ol class="govuk-list govuk-list--number">',
            '<blockquote class="govuk-inset-text">',
            '<hr class="govuk-section-break govuk-section-break--l govuk-section-break--visible"',
            '<table class="govuk-table">',
            '<th class="govuk-table__header">A</th>',
            '<td class="govuk-table__cell">1</td>',
        ):
            assert expected in html, expected

    def test_an_unknown_placeholder_is_left_as_written(self):
        assert "{{ nobody }}" in documents._drawn("Hello {{ nobody }}.", ())[1]

    def test_only_the_four_pages_are_read(self, tmp_path):
        with pytest.raises(ValueError):
            documents.read("../../etc/passwd", tmp_path)
