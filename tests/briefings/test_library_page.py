"""The library's pages (issue 17): each result with its summary, theme, date and its
PDF's size and pages; the search box finding words inside a briefing; the date filters
as GOV.UK date inputs (or ISO dates in a link), a wrong one shown in the error summary;
and "was this useful?" on a briefing's entry, through the page and the API: recorded
for the current version, thanked, once per browser, at most a few an hour from one
network, refused for a withdrawn briefing, and counted beside the downloads (JSON, CSV
and the subgroup report), for whoever may see the entry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
import time_machine
from sqlalchemy import select

from app.access import service as access
from app.access.auth import SESSION_COOKIE
from app.access.csrf import csrf_token_for
from app.access.models import Role
from app.briefings import content, library, render_queue
from app.briefings.models import (
    Briefing,
    BriefingFeedback,
    BriefingKind,
    BriefingVersion,
    Marking,
    RenderStatus,
    VersionStatus,
)
from tests.briefings.test_briefings_api import pdf_of
from tests.helpers.access import bearer, signed_in_cookie, token_holder
from tests.helpers.factories import make_audit
from tests.helpers.statements import statements

API = "/api/v1"
NOON = datetime(2027, 3, 9, 12, tzinfo=UTC)
TODAY = date(2027, 3, 9)
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
SECTIONS = {
    "background": "Why the partnership looked at strategy discussions for these children.",
    "findings": "- The voice of the child was recorded in most returns.\n- Child sexual "
    "exploitation (CSE) screening was used well.",
}
SUMMARY = "Why the partnership looked at strategy discussions for these children."


@pytest.fixture(autouse=True)
def pinned_clock(request) -> Iterator[time_machine.Traveller | None]:
    # Not for a test of the demo: the demo is loaded once per worker, on the session's
    # clock, for every test that uses it; loaded under this one, the others' dates move.
    if "demo_database" in request.fixturenames:
        yield None
        return
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def fresh_limits() -> Iterator[None]:
    library.forget_feedback_limits()
    yield
    library.forget_feedback_limits()


def publish(session, audit, *, title, public, sections, pages, size, on):
    """A version published as the renderer publishes it, its PDF ``size`` bytes long."""
    briefing = Briefing(audit_id=audit.id, kind=BriefingKind.BRIEFING, title=title, public=public)
    session.add(briefing)
    session.flush()
    version = BriefingVersion(
        briefing_id=briefing.id,
        number=1,
        status=VersionStatus.APPROVED,
        marking=Marking.OFFICIAL,
        sections=sections,
        render_status=RenderStatus.RENDERING,
    )
    session.add(version)
    session.flush()
    pdf = pdf_of(pages)
    pdf += b"%" + b"x" * (size - len(pdf) - 2) + b"\n"
    render_queue._finish_render(session, version_id=version.id, pdf=pdf, today=on)
    version.published_at = datetime.combine(on, NOON.timetz())
    session.flush()
    return briefing, version


@pytest.fixture
def world(db):
    """A public briefing (two pages, 412 KB, published a month ago) and one for staff
    (one page, published today); a practitioner of agency A signed in with a browser
    and with a token; an editor who reads the counts."""
    audit = make_audit(db, children=1, agencies_count=2)
    audit.theme = "Child sexual exploitation"
    a, _b = audit.agencies
    other = make_audit(db, children=1, agencies_count=1)
    other.theme = "Neglect"
    public, public_v = publish(
        db,
        audit,
        title="Learning about exploitation",
        public=True,
        sections=SECTIONS,
        pages=2,
        size=412 * 1024,
        on=TODAY - timedelta(days=30),
    )
    private, private_v = publish(
        db,
        other,
        title="Neglect: what we learned",
        public=False,
        sections={"findings": "Home conditions were assessed with the graded care profile."},
        pages=1,
        size=3 * 1024 * 1024 // 2,
        on=TODAY,
    )
    practitioner = access.create_user(
        db,
        email="practitioner@example.org",
        display_name="Practitioner A",
        roles={Role.PRACTITIONER},
        agency_id=a.id,
    )
    cookie = signed_in_cookie(db, practitioner)
    _user, token = token_holder(db, Role.PRACTITIONER, "Practitioner Token", agency_id=a.id)
    _editor, editor_token = token_holder(db, Role.MODERATOR, "Chair One")
    db.commit()
    return {
        "agency": a,
        "public": (public.id, public_v.id),
        "private": (private.id, private_v.id),
        "cookie": cookie,
        "token": bearer(token),
        "editor": bearer(editor_token),
    }


def signed_in(client, world):
    client.cookies.set(SESSION_COOKIE, world["cookie"])
    return client


def text_of(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def feedback_rows(db) -> list[tuple]:
    db.expire_all()
    return [
        (f.briefing_id, f.version_id, f.useful, f.comment, f.agency_id, f.signed_in)
        for f in db.scalars(select(BriefingFeedback).order_by(BriefingFeedback.id))
    ]


# --- the list -------------------------------------------------------------------------------


class TestResults:
    def test_each_shows_its_summary_theme_date_size_and_pages(self, anonymous_client, world):
        page = anonymous_client.get("/library")
        assert page.status_code == 200
        shown = text_of(page)
        assert "1 briefing" in shown
        assert "Learning about exploitation" in shown
        assert SUMMARY in shown
        assert "Theme: Child sexual exploitation" in shown
        assert "Published 7 February 2027, version 1" in shown
        assert "(PDF, 412 KB, 2 pages)" in shown
        public_id, public_v = world["public"]
        assert f'href="/library/{public_id}"' in page.text
        assert f'href="/library/versions/{public_v}/download"' in page.text
        assert "Neglect: what we learned" not in shown  # for staff only

    def test_signed_in_every_briefing(self, anonymous_client, world):
        shown = text_of(signed_in(anonymous_client, world).get("/library"))
        assert "2 briefings" in shown
        assert "Neglect: what we learned" in shown
        assert "(PDF, 1.5 MB, 1 page)" in shown
        assert "Home conditions were assessed with the graded care profile." in shown

    def test_the_search_box_says_it_searches_the_whole_text(self, anonymous_client, world):
        shown = text_of(anonymous_client.get("/library"))
        assert "Searches the whole text of every briefing" in shown
        assert "put a phrase in quotes" in shown

    @pytest.mark.parametrize(
        "q", ['"strategy discussions"', "voice of the child", "CSE", "strategy discussion"]
    )
    def test_the_search_finds_words_inside_a_briefing(self, anonymous_client, world, q):
        shown = text_of(anonymous_client.get("/library", params={"q": q}))
        assert "1 briefing" in shown and "Learning about exploitation" in shown

    def test_a_search_that_finds_nothing(self, anonymous_client, world):
        # Only in the briefing for staff: nobody signed out finds it.
        shown = text_of(anonymous_client.get("/library", params={"q": "graded care"}))
        assert "0 briefings" in shown and "No published briefing matches" in shown
        shown = text_of(
            signed_in(anonymous_client, world).get("/library", params={"q": "graded care"})
        )
        assert "1 briefing" in shown and "Neglect: what we learned" in shown


def boxes(name: str, day: int | str, month: int | str, year: int | str) -> dict:
    return {f"{name}-day": day, f"{name}-month": month, f"{name}-year": year}


class TestDates:
    def test_gov_uk_date_inputs_filter(self, anonymous_client, world):
        browser = signed_in(anonymous_client, world)
        page = browser.get("/library")
        assert 'name="published_from-day"' in page.text and 'type="date"' not in page.text
        since = text_of(browser.get("/library", params=boxes("published_from", 1, 3, 2027)))
        assert "1 briefing" in since and "Neglect: what we learned" in since
        until = text_of(browser.get("/library", params=boxes("published_to", 28, 2, 2027)))
        assert "1 briefing" in until and "Learning about exploitation" in until

    def test_an_iso_date_in_a_link_filters_and_fills_the_boxes(self, anonymous_client, world):
        browser = signed_in(anonymous_client, world)
        page = browser.get("/library", params={"published_from": "2027-03-01"})
        assert page.status_code == 200
        assert "Neglect: what we learned" in page.text
        assert "Learning about exploitation" not in page.text
        assert re.search(r'name="published_from-year"[^>]*value="2027"', page.text)
        assert re.search(r'name="published_from-month"[^>]*value="3"', page.text)

    @pytest.mark.parametrize(
        ("params", "message", "anchor"),
        [
            (boxes("published_from", 31, 2, 2027), "The start date must be a real date", "from"),
            (boxes("published_from", 1, "", 2027), "The start date must include a month", "from"),
            (boxes("published_to", 1, 2, 27), "The end date must have a year with 4 numbers", "to"),
            ({"published_to": "2027-13-01"}, "The end date must be a real date", "to"),
            ({"published_to": "1 March"}, "The end date must be a real date", "to"),
            (
                {**boxes("published_from", 2, 3, 2027), "published_to": "2027-03-01"},
                "The end date must be the same as or after the start date",
                "to",
            ),
        ],
    )
    def test_a_wrong_date_is_in_the_error_summary(
        self, anonymous_client, world, params, message, anchor
    ):
        page = anonymous_client.get("/library", params=params)
        assert page.status_code == 422
        assert "govuk-error-summary" in page.text and "There is a problem" in page.text
        assert f'href="#published_{anchor}-day"' in page.text
        assert message in unescape(page.text)
        assert page.text.count(message) == 2  # the summary and the field
        assert "Learning about exploitation" not in page.text  # no results listed
        assert "<title>Error: " in page.text


class TestSizes:
    @pytest.mark.parametrize(
        ("size", "pages", "said"),
        [
            (1, 1, "PDF, 1 byte, 1 page"),
            (900, 2, "PDF, 900 bytes, 2 pages"),
            (412 * 1024, 2, "PDF, 412 KB, 2 pages"),
            (1258291, 7, "PDF, 1.2 MB, 7 pages"),
            (2048, None, "PDF, 2 KB"),
        ],
    )
    def test_as_gov_uk_writes_them(self, size, pages, said):
        assert library.pdf_description(size, pages) == said


# --- "was this useful?" -----------------------------------------------------------------


def entry_url(world, which: str = "public") -> str:
    return f"/library/{world[which][0]}"


def post_page(client, world, which: str = "public", **data):
    page = client.get(entry_url(world, which))
    token = CSRF.search(page.text)
    fields = {"csrf_token": token.group(1)} if token else {}
    return client.post(
        f"{entry_url(world, which)}/feedback",
        data={**fields, **data},
        follow_redirects=False,
    )


class TestFeedbackPage:
    def test_the_form_at_the_end_of_the_entry(self, anonymous_client, world):
        page = anonymous_client.get(entry_url(world))
        shown = text_of(page)
        assert "Was this briefing useful?" in shown
        assert 'name="useful" type="radio" value="yes"' in page.text
        assert 'name="comment"' in page.text and "Do not name anyone" in shown
        assert "You can enter up to 500 characters" in shown
        assert "Your answer is anonymous." in shown

    def test_anonymous_feedback_is_recorded_thanked_and_asked_once(
        self, anonymous_client, world, db
    ):
        briefing_id, version_id = world["public"]
        sent = post_page(anonymous_client, world, useful="yes", comment="  Short and clear. ")
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"] == entry_url(world)
        assert feedback_rows(db) == [
            (briefing_id, version_id, True, "Short and clear.", None, False)
        ]
        thanked = anonymous_client.get(sent.headers["location"])
        assert "govuk-notification-banner--success" in thanked.text
        assert "Thank you for your feedback." in thanked.text
        # The form is not offered again to this browser; the banner shows once.
        assert 'name="useful"' not in thanked.text
        assert "you have told us whether this briefing was useful" in thanked.text
        again = anonymous_client.get(entry_url(world))
        assert "Thank you for your feedback." not in again.text

        # A second answer from the same browser (a page left open) is not kept.
        second = anonymous_client.post(
            f"{entry_url(world)}/feedback", data={"useful": "no"}, follow_redirects=False
        )
        assert second.status_code == 303
        assert len(feedback_rows(db)) == 1
        shown = anonymous_client.get(second.headers["location"]).text
        assert "You have already told us whether this briefing was useful." in shown

        # Another browser is asked, and counted.
        anonymous_client.cookies.clear()
        assert 'name="useful"' in anonymous_client.get(entry_url(world)).text
        assert post_page(anonymous_client, world, useful="no").status_code == 303
        assert [row[2] for row in feedback_rows(db)] == [True, False]

    def test_signed_in_counted_by_agency_thanked_with_a_flash(self, anonymous_client, world, db):
        browser = signed_in(anonymous_client, world)
        briefing_id, version_id = world["private"]  # for staff: a signed-in reader sees it
        sent = post_page(browser, world, "private", useful="no", comment="")
        assert sent.status_code == 303, sent.text
        assert feedback_rows(db) == [(briefing_id, version_id, False, "", world["agency"].id, True)]
        shown = browser.get(sent.headers["location"]).text
        assert "govuk-notification-banner--success" in shown
        assert "Thank you for your feedback." in shown

    def test_a_flash_is_read_once_shown_and_never_read_for_when_none_waits(
        self, anonymous_client, world, db
    ):
        """Signing in sees whether a message waits; only then does a page read the web
        session again for it (one statement a page for everyone, every page)."""

        def session_reads(path: str) -> tuple[str, int]:
            with statements(db) as seen:
                page = browser.get(path)
            assert page.status_code == 200, page.text
            return page.text, sum("FROM web_session" in s for s in seen)

        browser = signed_in(anonymous_client, world)
        assert session_reads(entry_url(world, "private"))[1] == 1  # signing in's
        sent = post_page(browser, world, "private", useful="yes")
        assert sent.status_code == 303, sent.text
        shown, reads = session_reads(sent.headers["location"])
        assert "Thank you for your feedback." in shown and reads == 2
        again, reads = session_reads(sent.headers["location"])
        assert "Thank you for your feedback." not in again and reads == 1

    def test_signed_in_without_the_csrf_token_is_refused(self, anonymous_client, world, db):
        browser = signed_in(anonymous_client, world)
        sent = browser.post(
            f"{entry_url(world)}/feedback", data={"useful": "yes"}, follow_redirects=False
        )
        assert sent.status_code == 403
        assert feedback_rows(db) == []

    def test_from_another_website_is_refused(self, anonymous_client, world, db):
        sent = anonymous_client.post(
            f"{entry_url(world)}/feedback",
            data={"useful": "yes"},
            headers={"Origin": "https://elsewhere.example"},
            follow_redirects=False,
        )
        assert sent.status_code == 403
        assert feedback_rows(db) == []

    @pytest.mark.parametrize(
        ("data", "field", "message"),
        [
            ({}, "useful", "Select yes if the briefing was useful, or no if it was not"),
            ({"useful": "perhaps"}, "useful", "Select yes if the briefing was useful"),
            (
                {"useful": "yes", "comment": "x" * 501},
                "comment",
                "Your comment must be 500 characters or fewer",
            ),
            (
                {"useful": "yes", "comment": "bell\x07"},
                "comment",
                "Your comment must not contain control characters",
            ),
        ],
    )
    def test_what_is_wrong_is_in_the_error_summary(
        self, anonymous_client, world, db, data, field, message
    ):
        sent = post_page(anonymous_client, world, **data)
        assert sent.status_code == 422
        assert "govuk-error-summary" in sent.text and message in unescape(sent.text)
        assert f'href="#{field}"' in sent.text
        assert feedback_rows(db) == []

    def test_what_the_entry_shows_decides_who_may_answer(self, anonymous_client, world, db):
        # Not signed in: the briefing for staff is not there to answer about.
        sent = post_page(anonymous_client, world, "private", useful="yes")
        assert sent.status_code == 404
        assert anonymous_client.get(entry_url(world, "private")).status_code == 404
        assert feedback_rows(db) == []

    def test_a_withdrawn_briefing_asks_for_none(self, anonymous_client, world, db):
        version = db.get(BriefingVersion, world["public"][1])
        version.status = VersionStatus.WITHDRAWN
        db.commit()
        page = anonymous_client.get(entry_url(world))
        assert page.status_code == 200 and "Was this briefing useful?" not in page.text
        sent = anonymous_client.post(
            f"{entry_url(world)}/feedback", data={"useful": "yes"}, follow_redirects=False
        )
        assert sent.status_code == 409
        assert feedback_rows(db) == []


class TestFeedbackApi:
    def path(self, world, which: str = "public") -> str:
        return f"{API}/library/{world[which][0]}/feedback"

    def test_anyone_who_sees_the_briefing(self, anonymous_client, world, db):
        briefing_id, version_id = world["public"]
        sent = anonymous_client.post(self.path(world), json={"useful": False, "comment": "Long."})
        assert sent.status_code == 201, sent.text
        assert sent.json() == {
            "briefing_id": briefing_id,
            "version_id": version_id,
            "useful": False,
            "comment": "Long.",
        }
        sent = anonymous_client.post(
            self.path(world, "private"), json={"useful": True}, headers=world["token"]
        )
        assert sent.status_code == 201, sent.text
        private_id, private_v = world["private"]
        assert feedback_rows(db) == [
            (briefing_id, version_id, False, "Long.", None, False),
            (private_id, private_v, True, "", world["agency"].id, True),
        ]
        # Not signed in, the briefing for staff is not found.
        refused = anonymous_client.post(self.path(world, "private"), json={"useful": True})
        assert refused.status_code == 404
        assert (
            anonymous_client.post(
                f"{API}/library/999999/feedback", json={"useful": True}
            ).status_code
            == 404
        )

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"useful": "perhaps"},
            {"useful": True, "comment": "x" * 501},
            {"useful": True, "comment": "nul\x00"},
            {"useful": True, "name": "Child A's social worker"},
        ],
    )
    def test_what_is_refused(self, anonymous_client, world, db, body):
        sent = anonymous_client.post(self.path(world), json=body)
        assert sent.status_code == 422 and sent.json()["code"] == "invalid"
        assert feedback_rows(db) == []

    def test_a_browser_session_sends_its_csrf_token(self, anonymous_client, app, world, db):
        browser = signed_in(anonymous_client, world)
        assert browser.post(self.path(world), json={"useful": True}).status_code == 403
        token = csrf_token_for(world["cookie"], app.state.settings.secret_key)
        sent = browser.post(
            self.path(world), json={"useful": True}, headers={"X-CSRF-Token": token}
        )
        assert sent.status_code == 201, sent.text
        assert feedback_rows(db)[0][4:] == (world["agency"].id, True)

    def test_a_withdrawn_briefing(self, anonymous_client, world, db):
        version = db.get(BriefingVersion, world["public"][1])
        version.status = VersionStatus.WITHDRAWN
        db.commit()
        sent = anonymous_client.post(self.path(world), json={"useful": True})
        assert sent.status_code == 409 and sent.json()["code"] == "wrong_state"

    def test_at_most_ten_an_hour_from_one_network(self, anonymous_client, world, db, pinned_clock):
        for _ in range(library.FEEDBACK_PER_HOUR):
            assert anonymous_client.post(self.path(world), json={"useful": True}).status_code == 201
        refused = anonymous_client.post(self.path(world), json={"useful": True})
        assert refused.status_code == 429
        assert refused.json()["code"] == "too_many_attempts"
        assert refused.json()["retry_after"] == 3600
        assert "Try again in 60 minutes" in refused.json()["detail"]
        # The page is refused the same way.
        page = anonymous_client.post(
            f"{entry_url(world)}/feedback", data={"useful": "yes"}, follow_redirects=False
        )
        assert page.status_code == 429 and "Too many attempts" in page.text
        assert len(feedback_rows(db)) == library.FEEDBACK_PER_HOUR
        pinned_clock.shift(timedelta(hours=1))
        assert anonymous_client.post(self.path(world), json={"useful": True}).status_code == 201


# --- the counts beside the downloads -----------------------------------------------------------


class TestCounts:
    @pytest.fixture
    def answered(self, db, world):
        briefing_id, version_id = world["public"]
        a = world["agency"]
        for at, useful, comment, agency_id, signed_in_ in [
            (datetime(2027, 2, 10, 9, tzinfo=UTC), True, "", None, False),
            (datetime(2027, 2, 11, 9, tzinfo=UTC), False, "Too long to read.", a.id, True),
            (datetime(2027, 3, 1, 9, tzinfo=UTC), True, "Clear actions.", a.id, True),
            (datetime(2027, 3, 2, 9, tzinfo=UTC), True, "", None, True),
        ]:
            db.add(
                BriefingFeedback(
                    briefing_id=briefing_id,
                    version_id=version_id,
                    useful=useful,
                    comment=comment,
                    agency_id=agency_id,
                    signed_in=signed_in_,
                    at=at,
                )
            )
        db.commit()
        return briefing_id

    def test_as_json(self, anonymous_client, world, answered):
        found = anonymous_client.get(
            f"{API}/briefings/{answered}/downloads", headers=world["editor"]
        )
        assert found.status_code == 200, found.text
        body = found.json()
        assert (body["total"], body["useful"], body["not_useful"]) == (0, 3, 1)
        a = world["agency"].name
        assert [
            (m["month"], m["downloads"], m["useful"], m["not_useful"]) for m in body["by_month"]
        ] == [("2027-02", 0, 1, 1), ("2027-03", 0, 2, 0)]
        assert body["by_month"][0]["feedback_by_agency"] == sorted(
            [
                {"agency": a, "useful": 0, "not_useful": 1},
                {"agency": library.NOT_SIGNED_IN, "useful": 1, "not_useful": 0},
            ],
            key=lambda r: r["agency"],
        )
        assert [(c["version"], c["useful"], c["comment"]) for c in body["comments"]] == [
            (1, True, "Clear actions."),
            (1, False, "Too long to read."),
        ]

    def test_as_csv(self, anonymous_client, world, answered):
        found = anonymous_client.get(
            f"{API}/briefings/{answered}/downloads.csv", headers=world["editor"]
        )
        assert found.status_code == 200, found.text
        lines = found.content.decode("utf-8-sig").splitlines()
        title, a = "Learning about exploitation", world["agency"].name
        assert lines[0] == "Briefing,Month,Agency,Downloads,Useful,Not useful"
        assert sorted(lines[1:]) == sorted(
            [
                f"{title},2027-02,{a},0,0,1",
                f"{title},2027-02,{library.NOT_SIGNED_IN},0,1,0",
                f"{title},2027-03,{a},0,1,0",
                f"{title},2027-03,{library.NO_AGENCY},0,1,0",
            ]
        )

    def test_in_the_subgroup_report(self, db, world, answered):
        audit_id = db.get(Briefing, answered).audit_id
        [shown] = content.briefing_downloads(db, audit_ids=[audit_id])
        assert (shown["total"], shown["useful"], shown["not_useful"]) == (0, 3, 1)

    def test_in_the_subgroup_report_s_downloads_table(self, demo_database):
        """The demo's published briefing, answered twice, in its audit's report (as
        HTML: the PDF is drawn from it)."""
        from app.audits.models import Audit
        from app.briefings import render
        from app.config import Settings
        from app.db import make_sessionmaker, session_scope
        from tests.helpers.sessions import engine_on

        with engine_on(demo_database()) as engine:
            factory = make_sessionmaker(engine)
            with session_scope(factory) as session:
                briefing = session.scalars(
                    select(Briefing).where(Briefing.kind == BriefingKind.BRIEFING)
                ).first()
                current = library.current_version(
                    library.library_entry(session, briefing_id=briefing.id, signed_in=True)
                )
                for useful in (True, True, False):
                    session.add(
                        BriefingFeedback(
                            briefing_id=briefing.id, version_id=current.id, useful=useful
                        )
                    )
                audit_id = briefing.audit_id
            with factory() as session:
                context = content.subgroup_report_context(
                    session,
                    audits=[session.get(Audit, audit_id)],
                    subgroup_name="QAPP",
                    marking="OFFICIAL",
                    version_label="Version 1",
                    dated=TODAY,
                    today=TODAY,
                    settings=Settings(),
                )
        html = render.html_for("subgroup-report", context)
        table = html[html.index('id="downloads"') :]
        table = table[: table.index("</table>")]
        assert '<th scope="col" class="num">Useful</th>' in table
        assert '<th scope="col" class="num">Not useful</th>' in table
        cells = re.findall(r'<td class="num">(\d+)</td>', table)
        assert cells[-2:] == ["2", "1"]

    def test_feedback_through_the_page_is_counted(self, anonymous_client, world, db):
        post_page(anonymous_client, world, useful="yes")
        anonymous_client.cookies.clear()
        post_page(anonymous_client, world, useful="no")
        body = anonymous_client.get(
            f"{API}/briefings/{world['public'][0]}/downloads", headers=world["editor"]
        ).json()
        assert (body["useful"], body["not_useful"]) == (1, 1)
        assert body["by_month"][0]["month"] == "2027-03"
