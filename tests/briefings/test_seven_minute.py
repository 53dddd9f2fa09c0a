"""The learning briefing as a "7 minute briefing": the demo's, as published, is at most
two A4 pages (counted with pikepdf); page 1 has its key messages and the seven numbered
sections in order, as boxes; page 2 the one chart of the grades and the further learning
(links and contacts the admin keeps in the content folder); nothing statistical (kappa,
AC1, the tables by key area and by agency) is in it. Its web version, on the library's
entry, shows the same sections in order (tests/browser/test_briefing_html.py runs axe on
it). The editor says how much of page 1 the text fills and warns when it is too long. A
version saved before the seven boxes still renders, its old sections mapped."""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape

import pikepdf
import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.access import service as access
from app.access.models import Role
from app.audits import lifecycle
from app.audits.models import Audit, AuditStatus
from app.briefings import content, demo, drafting, render, service, workflow
from app.briefings.models import (
    Briefing,
    BriefingDocument,
    BriefingKind,
    BriefingVersion,
    Marking,
    VersionStatus,
)
from app.config import Settings
from app.db import make_sessionmaker
from app.main import create_app
from tests.helpers.access import actor_of, browse_as
from tests.helpers.app_client import AppClient
from tests.helpers.factories import make_audit
from tests.helpers.sessions import engine_on

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
LOCK = re.compile(r'name="lock_version" value="(\d+)"')
H2 = re.compile(r"<h2[^>]*>(.*?)</h2>", re.S)
# What only the subgroup report shows: agreement statistics, and the grades' tables and
# charts by key area and by agency.
STATISTICS = re.compile(r"kappa|\bAC1\b|Gwet|agreement|By (key area|agency):", re.I)


def settings(**changes) -> Settings:
    return Settings(database_url="sqlite://", **changes)


def text_of(pdf: bytes, *args: str) -> str:
    found = subprocess.run(["pdftotext", *args, "-", "-"], input=pdf, capture_output=True)
    return " ".join(found.stdout.decode().split())


def pages_of(pdf: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        return len(document.pages)


def bookmarks(pdf: bytes) -> list[tuple[str, int]]:
    """The numbered bookmarks, each with the page it points to."""
    found = []
    with pikepdf.open(io.BytesIO(pdf)) as document, document.open_outline() as outline:
        pages = {page.obj.objgen: n for n, page in enumerate(document.pages, 1)}

        def walk(items) -> None:
            for item in items:
                if re.match(r"\d+\. ", item.title):
                    found.append((item.title, pages.get(item.destination[0].objgen)))
                walk(item.children)

        walk(outline.root)
    return found


def in_order(text: str, parts: list[str]) -> bool:
    at = [text.find(part) for part in parts]
    return all(p >= 0 for p in at) and at == sorted(at)


# --- the demo's published briefing --------------------------------------------------------


@pytest.fixture(scope="module")
def demo_url(demo_database) -> str:
    return demo_database()


@pytest.fixture(scope="module")
def published(demo_url) -> tuple[BriefingVersion, bytes]:
    """The demo's published learning briefing (its version, read with its briefing) and
    its PDF as stored: what the library serves."""
    with engine_on(demo_url) as engine, make_sessionmaker(engine)() as session:
        version_id, pdf = session.execute(
            select(BriefingVersion.id, BriefingDocument.pdf)
            .join(BriefingDocument, BriefingDocument.version_id == BriefingVersion.id)
            .join(Briefing, Briefing.id == BriefingVersion.briefing_id)
            .where(Briefing.kind == BriefingKind.BRIEFING, Briefing.title == demo.TITLE)
        ).one()
        version = service.get_version(session, version_id=version_id)
        assert version.status == VersionStatus.PUBLISHED and version.briefing.public
        session.expunge_all()
    return version, pdf


class TestTheDemosPdf:
    def test_at_most_two_pages(self, published):
        assert pages_of(published[1]) <= 2

    def test_page_one_has_the_key_messages_then_the_seven_sections_in_order(self, published):
        version, pdf = published
        page_one = text_of(pdf, "-f", "1", "-l", "1")
        headings = [drafting.KEY_MESSAGES.heading, *(s.heading for s in drafting.NUMBERED)]
        assert in_order(page_one, headings), page_one
        # Each numbered section is bookmarked "1. Background" ..., in order, on page 1.
        assert bookmarks(pdf) == [
            (f"{n}. {s.heading}", 1) for n, s in enumerate(drafting.NUMBERED, 1)
        ]
        # Three key messages, drafted from the strongest findings, each printed there.
        messages = [m.removeprefix("- ") for m in version.sections["key_messages"].splitlines()]
        assert len(messages) == 3
        for message in messages:
            assert message in page_one
        # The child's experience is part of what we found.
        assert "The child's experience:" in page_one

    def test_page_two_has_the_one_chart_and_the_further_learning(self, published):
        pdf = published[1]
        page_two = text_of(pdf, "-f", "2", "-l", "2")
        assert in_order(page_two, ["The grades", "Further learning"])
        assert "Key-area grades by level" in page_two
        assert "Working Together to Safeguard Children 2023" in page_two
        with pikepdf.open(io.BytesIO(pdf)) as document:
            figures = sum(len(page.get_images()) for page in document.pages)
            links = [
                str(a.A.URI)
                for page in document.pages
                for a in page.get("/Annots", [])
                if a.Subtype == "/Link" and "/A" in a
            ]
        assert figures == 0  # the chart is drawn, not an image
        assert any(link.startswith("https://www.gov.uk/") for link in links), links

    def test_nothing_statistical(self, published):
        text = text_of(published[1])
        assert not STATISTICS.search(text), STATISTICS.search(text)

    def test_both_pages_are_saved_as_screenshots(self, published, screenshots):
        """For the README (`make screenshots` saves them to docs/screenshots/)."""
        for n in (1, 2):
            out = screenshots / f"seven-minute-briefing-page-{n}"
            subprocess.run(
                ["pdftoppm", "-png", "-r", "80", "-f", str(n), "-l", str(n), "-singlefile"]
                + ["-", str(out)],
                input=published[1],
                check=True,
            )
            assert out.with_suffix(".png").read_bytes()[:8] == bytes.fromhex("89504e470d0a1a0a")

    def test_the_check_that_published_it_finds_nothing_in_it(self, published, demo_url):
        """The further learning's links and the drafted text raise nothing: the demo's
        briefing was published by the same check (app/briefings/demo.py)."""
        version, pdf = published
        with engine_on(demo_url) as engine, make_sessionmaker(engine)() as session:
            version = service.get_version(session, version_id=version.id)
            against = workflow.version_check_inputs(session, version=version, settings=settings())
        assert workflow.check_printed(pdf, against=against).problems == []


# --- its web version -------------------------------------------------------------------


@pytest.fixture(scope="module")
def library_client(demo_url) -> Iterator[AppClient]:
    app = create_app(
        Settings(database_url=demo_url, environment="test", render_in_background=False)
    )
    with AppClient(app) as client:
        yield client


class TestTheWebVersion:
    def test_anyone_reads_the_same_sections_in_order_on_the_entry(self, published, library_client):
        version = published[0]
        page = library_client.get(f"/library/{version.briefing_id}")
        assert page.status_code == 200
        headings = [
            " ".join(unescape(re.sub("<[^>]+>", "", h)).split()) for h in H2.findall(page.text)
        ]
        numbered = [f"{n}. {s.heading}" for n, s in enumerate(drafting.NUMBERED, 1)]
        expected = [
            drafting.KEY_MESSAGES.heading,
            *numbered,
            "The grades",
            "The children",
            "Further learning",
        ]
        assert headings[: len(expected)] == expected, headings
        text = unescape(page.text)
        for message in version.sections["key_messages"].splitlines():
            assert message.removeprefix("- ") in text
        # The chart with its data as a table, and the links the admin keeps.
        assert 'role="img"' in text and "Key-area grades by level" in text
        assert 'href="https://www.gov.uk/government/publications/working-together' in text
        assert not STATISTICS.search(re.sub("<[^>]+>", " ", text))
        # The PDF is still there to download.
        assert f"/library/versions/{version.id}/download" in text


# --- the further learning -------------------------------------------------------------------


class TestFurtherLearning:
    def test_the_admins_file_in_the_content_folder_replaces_the_shipped_one(self, tmp_path):
        (tmp_path / "further-learning.md").write_text(
            "### Contacts\n\n- [Our procedures](https://example.org/procedures)\n"
            "- {{ partnership }}'s business unit\n- <script>alert(1)</script>\n",
            encoding="utf-8",
        )
        html = content.further_learning(
            settings(content_dir=tmp_path, partnership_name="Westshire SCP")
        )
        assert (
            '<a href="https://example.org/procedures" class="govuk-link">Our procedures</a>' in html
        )
        assert "Westshire SCP's business unit" in html
        assert "<script>" not in html and "&lt;script&gt;" in html  # shown, never run
        assert '<h3 class="govuk-heading-s">Contacts</h3>' in html

    def test_without_one_the_shipped_text_is_shown(self, tmp_path):
        html = content.further_learning(settings(content_dir=tmp_path / "missing"))
        assert "Working Together to Safeguard Children 2023" in html
        (tmp_path / "further-learning.md").write_bytes(b"\xff\xfe not UTF-8")
        assert content.further_learning(settings(content_dir=tmp_path)) == html


# --- how full page 1 is ------------------------------------------------------------------------


class TestTheFillEstimate:
    def test_the_demos_text_fits_and_twice_as_much_does_not(self, published):
        sections = drafting.current_sections(published[0].sections)
        fits = content.page_one_fill(sections, demo.TITLE)
        assert 0.5 < fits.used <= 1 and not fits.over
        doubled = {k: f"{v}\n\n{v}" for k, v in sections.items()}
        too_long = content.page_one_fill(doubled, demo.TITLE)
        assert too_long.over and too_long.percent > 150
        assert "improvement" in too_long.over_limit

    def test_what_the_estimate_calls_too_long_runs_on_past_page_one(self, published, demo_url):
        """Rendered, the text the estimate calls too long no longer fits on page 1: its
        last box is on page 2 (and the estimate errs on the side of warning)."""
        version = published[0]
        sections = drafting.current_sections(version.sections)
        longer = dict(sections, what_to_do=sections["what_to_do"] + "\n\n" + sections["what_to_do"])
        assert content.page_one_fill(longer, demo.TITLE).over
        with engine_on(demo_url) as engine, make_sessionmaker(engine)() as session:
            audit = session.get(Audit, version.briefing.audit_id)
            context = content.briefing_context(
                session,
                audit=audit,
                sections=longer,
                title=demo.TITLE,
                marking="OFFICIAL",
                version_label="Version 2",
                dated=clock.today(),
                settings=settings(),
                suppressed=version.suppressed_tables,
            )
        pdf = render.render_pdf(render.html_for("briefing", context), title="t", logo_path=None)
        last = drafting.NUMBERED[-1].heading
        assert last not in text_of(pdf, "-f", "1", "-l", "1")
        assert last in text_of(pdf, "-f", "2", "-l", "2")
        assert [page for _title, page in bookmarks(pdf)][-2:] == [2, 2]


# --- a version saved before the seven boxes --------------------------------------------------

LEGACY = {
    "background": "Why we looked at strategy discussions.",
    "looked_at": "We looked at the response to the children, with four agencies.",
    "good_practice": "- Police attended every strategy discussion.",
    "improvement": "- Health colleagues were not invited.",
    "grade_patterns": "Moderation lowered most changed grades.",
    "what_to_do": "- Invite health to every strategy discussion.",
    "reflection": "- Who was missing?\n\nFurther reading:\n\n- Working Together.",
}


class TestAVersionSavedBefore:
    def test_its_old_sections_are_shown_where_they_now_belong(self):
        shown = drafting.current_sections(LEGACY)
        assert list(shown) == [s.key for s in drafting.SECTIONS]
        assert shown["background"] == f"{LEGACY['background']}\n\n{LEGACY['looked_at']}"
        assert shown["improvement"] == f"{LEGACY['improvement']}\n\n{LEGACY['grade_patterns']}"
        assert shown["why_it_matters"] == shown["to_change"] == shown["key_messages"] == ""
        assert shown["reflection"] == LEGACY["reflection"]
        # Once saved with the sections it has now, it is read as saved.
        saved = {**LEGACY, **shown, "background": "New background."}
        assert drafting.current_sections(saved)["background"] == "New background."
        assert drafting.current_sections(saved)["improvement"] == shown["improvement"]

    def test_it_renders_on_two_pages(self, published, demo_url):
        with engine_on(demo_url) as engine, make_sessionmaker(engine)() as session:
            context = content.briefing_context(
                session,
                audit=session.get(Audit, published[0].briefing.audit_id),
                sections=LEGACY,
                title="An old briefing",
                marking="OFFICIAL",
                version_label="Version 1",
                dated=clock.today(),
                settings=settings(),
                suppressed=["children-by-age-band"],
            )
        html = render.html_for("briefing", context)
        pdf = render.render_pdf(html, title="t", logo_path=None)
        assert pages_of(pdf) == 2
        page_one = text_of(pdf, "-f", "1", "-l", "1")
        assert [title for title, page in bookmarks(pdf) if page == 1] == [
            f"{n}. {s.heading}" for n, s in enumerate(drafting.NUMBERED, 1)
        ]
        assert in_order(page_one, [LEGACY["background"], LEGACY["looked_at"]])
        assert LEGACY["grade_patterns"] in page_one and "Why it matters" in page_one
        assert "Key messages" not in page_one  # none written: no empty box


# --- the editor ----------------------------------------------------------------------------------


@pytest.fixture
def pinned_clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def author(db):
    return access.create_user(
        db, email="author@example.org", display_name="Author", roles={Role.MODERATOR}
    )


def drafted(db: Session, author) -> BriefingVersion:
    """A learning briefing drafted from a moderated audit with no findings or grades."""
    audit = make_audit(db, children=6, agencies_count=2, open_=False)
    lifecycle.open_audit(db, audit=audit, confirm=True)
    audit.status = AuditStatus.LEARNING
    db.flush()
    version = workflow.create(
        db,
        audit=audit,
        kind=BriefingKind.BRIEFING,
        title="Learning from the audit",
        marking=Marking.OFFICIAL,
        public=False,
        actor=actor_of(author),
    )
    db.commit()
    return version


def post(client, page: str, path: str, **data):
    token = CSRF.search(client.get(page).text).group(1)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


@pytest.mark.usefixtures("pinned_clock")
class TestTheEditor:
    def test_it_shows_the_fill_and_warns_when_the_text_is_too_long(
        self, anonymous_client, db, author
    ):
        version = drafted(db, author)
        web = anonymous_client
        browse_as(web, db, author)
        editor = f"/briefings/versions/{version.id}"
        page = unescape(web.get(editor).text)
        assert "How much of the two pages it fills" in page
        assert re.search(r"It fits on two pages: the text fills about \d+% of page 1", page)
        assert "Too long for two pages" not in page
        # Each box counts its characters against its share of page 1 (GOV.UK's character
        # count), numbered as printed; the key messages first, unnumbered.
        assert f'data-maxlength="{content.LIMITS["improvement"]}"' in page
        assert "3. What we found" in page and 'for="key_messages"' in page
        # The draft's prompts for the author are listed until replaced.
        assert "Replace the prompt in square brackets in: Why it matters" in page

        form = dict(re.findall(r'<textarea[^>]*name="(\w+)"[^>]*>([^<]*)</textarea>', page))
        long = "Strategy discussions did not include health colleagues. " * 100
        saved = post(
            web,
            editor,
            editor,
            **dict(form, improvement=long),
            marking="OFFICIAL",
            lock_version=LOCK.search(page).group(1),
        )
        assert saved.status_code == 303, saved.text
        page = unescape(web.get(editor).text)
        assert re.search(r"Too long for two pages: the text needs about \d+% of page 1", page)
        listed = page[page.index("Longer than their share of page 1") :]
        assert '<a class="govuk-link" href="#improvement">3. What we found</a>' in listed

        # Submitting it is not refused, but it says so clearly.
        submitted = post(web, editor, f"{editor}/submit", confirm_small_counts="yes")
        assert submitted.status_code == 303, submitted.text
        page = unescape(web.get(editor).text)
        assert "has been submitted for approval. It is too long for its two pages" in page
        assert db.get(BriefingVersion, version.id).status == VersionStatus.SUBMITTED

    def test_a_subgroup_report_has_no_page_limit(self, anonymous_client, db, author):
        audit = make_audit(db, children=6, agencies_count=2, open_=False)
        lifecycle.open_audit(db, audit=audit, confirm=True)
        audit.status = AuditStatus.LEARNING
        db.flush()
        version = workflow.create(
            db,
            audit=audit,
            kind=BriefingKind.SUBGROUP_REPORT,
            title="Report",
            marking=Marking.OFFICIAL,
            public=False,
            actor=actor_of(author),
        )
        db.commit()
        browse_as(anonymous_client, db, author)
        page = anonymous_client.get(f"/briefings/versions/{version.id}").text
        assert "How much of the two pages it fills" not in page
