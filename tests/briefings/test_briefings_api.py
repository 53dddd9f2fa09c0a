"""The briefings API (issue 17): the library as its pages show it (public briefings
without signing in, all of them signed in; searched and filtered; each with its summary,
size and pages), a briefing with its versions, its PDFs counted as downloads as the
pages count them, the counts by agency and by month (JSON and CSV) for the subgroup
report's editors, and the assurance questionnaire: launched, its answers read, answered
by an agency's lead as well as its auditors, and closed once every agency has answered
or its answers were due (the daily reminders job)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.access.models import Role, User
from app.audit_templates import service as templates
from app.audit_templates.models import AnswerType
from app.auditlog.models import AuditEvent, PendingEvent
from app.audits.models import Audit, AuditStatus
from app.briefings import library, render_queue
from app.briefings.models import (
    Briefing,
    BriefingDownload,
    BriefingKind,
    BriefingVersion,
    Marking,
    RenderStatus,
    VersionStatus,
)
from app.config import Settings
from app.notifications.models import Notification
from app.reminders import service as reminders
from app.returns.models import Return, ReturnStatus
from tests.helpers.access import bearer, token_holder
from tests.helpers.factories import make_agency, make_audit

API = "/api/v1"
NOON = datetime(2027, 3, 9, 12, tzinfo=UTC)
TODAY = date(2027, 3, 9)


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def pdf_of(pages: int) -> bytes:
    """A small PDF of ``pages`` pages whose page tree is packed in a compressed object
    stream, as WeasyPrint writes it."""
    kids = " ".join(f"{n + 3} 0 R" for n in range(pages))
    objects = [f"<</Type /Pages/Kids [{kids}]/Count {pages}>>"] + [
        "<</Type /Page/Parent 2 0 R/MediaBox [0 0 595 842]>>" for _ in range(pages)
    ]
    packed = zlib.compress("\n".join(objects).encode())
    stream = f"<</Type /ObjStm/N {len(objects)}/First 0/Filter /FlateDecode/Length {len(packed)}>>"
    return (
        b"%PDF-1.7\n1 0 obj\n<</Type /Catalog/Pages 2 0 R>>\nendobj\n9 0 obj\n"
        + stream.encode()
        + b"\nstream\n"
        + packed
        + b"\nendstream\nendobj\n%%EOF\n"
    )


SECTIONS = {
    "background": "Why the partnership looked at strategy discussions for these children.",
    "findings": "- The voice of the child was recorded in most returns.\n- Child sexual "
    "exploitation (CSE) screening was used well.",
}


def publish(
    session,
    audit: Audit,
    *,
    title: str,
    public: bool,
    sections: dict | None = None,
    pages: int = 2,
    on: date = TODAY,
    briefing: Briefing | None = None,
    kind: BriefingKind = BriefingKind.BRIEFING,
) -> tuple[Briefing, BriefingVersion]:
    """A version published the way the renderer publishes it (``render_queue``)."""
    if briefing is None:
        briefing = Briefing(audit_id=audit.id, kind=kind, title=title, public=public)
        session.add(briefing)
        session.flush()
    number = 1 + len(
        session.scalars(select(BriefingVersion.id).filter_by(briefing_id=briefing.id)).all()
    )
    version = BriefingVersion(
        briefing_id=briefing.id,
        number=number,
        status=VersionStatus.APPROVED,
        marking=Marking.OFFICIAL,
        sections=sections if sections is not None else SECTIONS,
        render_status=RenderStatus.RENDERING,
    )
    session.add(version)
    session.flush()
    render_queue._finish_render(session, version_id=version.id, pdf=pdf_of(pages), today=on)
    version.published_at = datetime.combine(on, NOON.timetz())  # newest first in the library
    session.flush()
    session.expire_all()
    return session.get(Briefing, briefing.id), session.get(BriefingVersion, version.id)


@pytest.fixture
def world(db):
    """A moderated-looking audit of two agencies (A and B) with a public and a private
    briefing, and a person of each role; agency C took no part."""
    audit = make_audit(db, children=1, agencies_count=2)
    audit.theme = "Child sexual exploitation"
    a, b = audit.agencies
    c = make_agency(db, name="Agency C")
    other = make_audit(db, children=1, agencies_count=1)
    other.theme = "Neglect"
    public, public_v = publish(
        db, audit, title="Learning about exploitation", public=True, on=TODAY - timedelta(days=30)
    )
    private, private_v = publish(
        db,
        other,
        title="Neglect: what we learned",
        public=False,
        sections={"findings": "Home conditions were assessed with the graded care profile."},
        pages=1,
    )

    def person(role: Role, name: str, agency=None) -> dict:
        return bearer(token_holder(db, role, name, agency_id=agency.id if agency else None)[1])

    people = {
        "admin": person(Role.ADMIN, "Admin One"),
        "moderator": person(Role.MODERATOR, "Chair One"),
        "scrutineer": person(Role.SCRUTINEER, "Scrutineer One"),
        "practitioner": person(Role.PRACTITIONER, "Practitioner A", a),
        "auditor_a": person(Role.AUDITOR, "Auditor A", a),
        "auditor_b": person(Role.AUDITOR, "Auditor B", b),
        "lead_a": person(Role.AGENCY_LEAD, "Lead A", a),
        "lead_b": person(Role.AGENCY_LEAD, "Lead B", b),
        "lead_c": person(Role.AGENCY_LEAD, "Lead C", c),
        "nobody": {},
    }
    db.commit()  # a refused request then rolls back only its own work
    return {
        "audit": audit,
        "other": other,
        "agencies": (a, b, c),
        "public": (public, public_v),
        "private": (private, private_v),
        "people": people,
    }


def get(client, world, who: str, path: str, **params):
    return client.get(f"{API}{path}", headers=world["people"][who], params=params)


# --- small pieces ----------------------------------------------------------------------


class TestPageCount:
    @pytest.mark.parametrize("pages", [1, 2, 7])
    def test_a_page_tree_in_a_compressed_object_stream(self, pages):
        assert library.page_count(pdf_of(pages)) == pages

    def test_a_page_tree_in_the_file_itself(self):
        pdf = b"%PDF-1.4\n2 0 obj\n<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 >>\nendobj"
        assert library.page_count(pdf) == 3

    def test_the_root_counts_every_page_and_outlines_are_not_pages(self):
        pdf = (
            b"<</Type /Pages/Kids [3 0 R 4 0 R]/Count 5>>\n"
            b"<</Type /Pages/Parent 2 0 R/Kids [6 0 R]/Count 2>>\n"
            b"<</Count 9/First 11 0 R/Last 12 0 R>>"  # the bookmarks
        )
        assert library.page_count(pdf) == 5

    def test_what_weasyprint_writes(self):
        import weasyprint

        html = "<p>One</p>" + '<p style="break-before: page">Next</p>' * 2
        pdf = weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/ua-1", pdf_tags=True)
        assert library.page_count(pdf) == 3

    @pytest.mark.parametrize("pdf", [b"", b"%PDF-1.7 synthetic", b"<</Type /ObjStm>>stream\nxx"])
    def test_nothing_to_read_is_none(self, pdf):
        assert library.page_count(pdf) is None


class TestSummary:
    def test_the_first_section_with_words_bullets_run_together(self):
        sections = {"background": "  ", "findings": "- One thing.\n- Another thing."}
        assert library.summary_of(BriefingKind.BRIEFING, sections) == "One thing. Another thing."

    def test_a_summary_of_its_own_comes_first(self):
        sections = {"background": "Background.", "summary": "In short: it went well."}
        assert library.summary_of(BriefingKind.BRIEFING, sections) == "In short: it went well."

    def test_cut_at_a_word(self):
        text = "word " * 100
        found = library.summary_of(BriefingKind.BRIEFING, {"background": text})
        assert found.endswith("word…") and len(found) <= library.SUMMARY_LENGTH + 1

    def test_nothing_written(self):
        assert library.summary_of(BriefingKind.SUBGROUP_REPORT, {"commentary": ""}) == ""


# --- the library ----------------------------------------------------------------------


class TestLibrary:
    def test_anyone_sees_the_public_briefings_and_people_signed_in_every_one(
        self, anonymous_client, world
    ):
        public, public_v = world["public"]
        anonymous = get(anonymous_client, world, "nobody", "/library").json()
        assert [i["briefing_id"] for i in anonymous["items"]] == [public.id]
        assert anonymous["total"] == 1
        signed_in = get(anonymous_client, world, "practitioner", "/library").json()
        # Newest first.
        assert [i["title"] for i in signed_in["items"]] == [
            "Neglect: what we learned",
            "Learning about exploitation",
        ]
        [item] = [i for i in signed_in["items"] if i["briefing_id"] == public.id]
        assert item == {
            "briefing_id": public.id,
            "title": "Learning about exploitation",
            "kind": "briefing",
            "public": True,
            "theme": "Child sexual exploitation",
            "audit_id": world["audit"].id,
            "audit_title": world["audit"].title,
            "version_id": public_v.id,
            "version": 1,
            "published_on": (TODAY - timedelta(days=30)).isoformat(),
            "summary": "Why the partnership looked at strategy discussions for these children.",
            "size": len(pdf_of(2)),
            "pages": 2,
            "download_url": f"{API}/library/{public.id}/versions/1.pdf",
        }

    @pytest.mark.parametrize(
        ("params", "titles"),
        [
            ({"q": "voice of the child"}, ["Learning about exploitation"]),  # in its text only
            ({"q": "graded care"}, ["Neglect: what we learned"]),
            ({"q": '"care graded"'}, []),
            ({"theme": "Neglect"}, ["Neglect: what we learned"]),
            (
                {"published_to": (TODAY - timedelta(days=1)).isoformat()},
                ["Learning about exploitation"],
            ),
            ({"published_from": TODAY.isoformat()}, ["Neglect: what we learned"]),
        ],
    )
    def test_searched_and_filtered_as_the_page_is(self, anonymous_client, world, params, titles):
        found = get(anonymous_client, world, "practitioner", "/library", **params).json()
        assert [i["title"] for i in found["items"]] == titles

    def test_by_audit_and_paged(self, anonymous_client, world):
        by_audit = get(
            anonymous_client, world, "practitioner", "/library", audit_id=world["other"].id
        ).json()
        assert [i["title"] for i in by_audit["items"]] == ["Neglect: what we learned"]
        paged = get(anonymous_client, world, "practitioner", "/library", per_page=1, page=2).json()
        assert (paged["total"], paged["page"], len(paged["items"])) == (2, 2, 1)
        assert paged["items"][0]["title"] == "Learning about exploitation"

    def test_a_filter_it_does_not_have_is_refused(self, anonymous_client, world):
        refused = get(anonymous_client, world, "nobody", "/library", colour="red")
        assert refused.status_code == 422

    def test_a_briefing_and_its_versions(self, anonymous_client, db, world):
        public, first = world["public"]
        _, second = publish(db, world["audit"], title="", public=True, briefing=public, pages=3)
        db.commit()
        entry = get(anonymous_client, world, "nobody", f"/library/{public.id}")
        assert entry.status_code == 200, entry.text
        body = entry.json()
        assert (body["withdrawn"], body["current"]["number"], body["current"]["pages"]) == (
            False,
            2,
            3,
        )
        assert [(v["number"], v["superseded"], v["downloadable"]) for v in body["versions"]] == [
            (2, False, True),
            (1, True, True),
        ]
        assert body["versions"][1]["download_url"] == f"{API}/library/{public.id}/versions/1.pdf"

    def test_a_private_briefing_is_not_found_without_signing_in(self, anonymous_client, world):
        private, _ = world["private"]
        assert get(anonymous_client, world, "nobody", f"/library/{private.id}").status_code == 404
        assert (
            get(anonymous_client, world, "practitioner", f"/library/{private.id}").status_code
            == 200
        )
        pdf = get(anonymous_client, world, "nobody", f"/library/{private.id}/versions/1.pdf")
        assert pdf.status_code == 404

    def test_a_withdrawn_briefing_serves_nothing_and_says_no_more(
        self, anonymous_client, db, world
    ):
        public, version = world["public"]
        version.status = VersionStatus.WITHDRAWN
        version.withdrawn_reason = "Superseded by new guidance."
        db.commit()
        entry = get(anonymous_client, world, "nobody", f"/library/{public.id}")
        body = entry.json()
        assert (body["withdrawn"], body["current"], body["versions"], body["summary"]) == (
            True,
            None,
            [],
            "",
        )
        assert "Superseded by new guidance" not in entry.text
        pdf = get(anonymous_client, world, "nobody", f"/library/{public.id}/versions/1.pdf")
        assert pdf.status_code == 404

    def test_a_draft_is_not_in_the_library(self, anonymous_client, db, world):
        public, _ = world["public"]
        db.add(
            BriefingVersion(
                briefing_id=public.id, number=2, marking=Marking.OFFICIAL, sections=SECTIONS
            )
        )
        db.commit()
        draft = get(anonymous_client, world, "practitioner", f"/library/{public.id}/versions/2.pdf")
        assert draft.status_code == 404
        missing = get(
            anonymous_client, world, "practitioner", f"/library/{public.id}/versions/9.pdf"
        )
        assert missing.status_code == 404


class TestDownload:
    def test_the_pdf_byte_for_byte_counted_by_agency_as_the_page_counts_it(
        self, anonymous_client, db, world
    ):
        public, version = world["public"]
        path = f"/library/{public.id}/versions/1.pdf"
        pdf = get(anonymous_client, world, "practitioner", path)
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content == pdf_of(2)
        assert pdf.headers["x-content-sha256"] in pdf.headers["etag"]
        assert 'filename="learning-about-exploitation-v1.pdf"' in pdf.headers["content-disposition"]
        assert get(anonymous_client, world, "nobody", path).status_code == 200
        counted = db.scalars(
            select(BriefingDownload).where(BriefingDownload.briefing_id == public.id)
        ).all()
        agency_a = world["agencies"][0]
        assert sorted(
            ((d.agency_id or 0, d.signed_in, d.version_id) for d in counted), reverse=True
        ) == [(agency_a.id, True, version.id), (0, False, version.id)]

    def test_not_served_is_not_counted(self, anonymous_client, db, world):
        private, _ = world["private"]
        get(anonymous_client, world, "nobody", f"/library/{private.id}/versions/1.pdf")
        assert db.scalars(select(BriefingDownload)).all() == []


# --- the counts of downloads --------------------------------------------------------------


def _downloaded(db, briefing, version, at: datetime, agency_id: int | None, signed_in=True):
    db.add(
        BriefingDownload(
            briefing_id=briefing.id,
            version_id=version.id,
            agency_id=agency_id,
            signed_in=signed_in,
            at=at,
        )
    )


class TestDownloadCounts:
    @pytest.fixture
    def counted(self, db, world):
        public, version = world["public"]
        a, b, _c = world["agencies"]
        for at, agency, signed_in in [
            (datetime(2027, 2, 3, 9, tzinfo=UTC), a.id, True),
            (datetime(2027, 2, 4, 9, tzinfo=UTC), a.id, True),
            (datetime(2027, 2, 5, 9, tzinfo=UTC), None, False),
            # 00:30 on 1 April in England (British Summer Time): April's.
            (datetime(2027, 3, 31, 23, 30, tzinfo=UTC), b.id, True),
            (datetime(2027, 3, 8, 9, tzinfo=UTC), None, True),  # an account of no agency
        ]:
            _downloaded(db, public, version, at, agency, signed_in)
        db.commit()
        return public

    def test_by_agency_and_by_month(self, anonymous_client, world, counted):
        a, b, _c = world["agencies"]
        found = get(anonymous_client, world, "moderator", f"/briefings/{counted.id}/downloads")
        assert found.status_code == 200, found.text
        body = found.json()
        assert (body["total"], body["not_signed_in"], body["signed_in_without_agency"]) == (5, 1, 1)
        assert body["by_agency"] == sorted(
            [
                {"agency_id": a.id, "agency": a.name, "downloads": 2},
                {"agency_id": b.id, "agency": b.name, "downloads": 1},
            ],
            key=lambda r: r["agency"],
        )
        assert [(m["month"], m["downloads"]) for m in body["by_month"]] == [
            ("2027-02", 3),
            ("2027-03", 1),
            ("2027-04", 1),
        ]
        assert body["by_month"][0]["by_agency"] == sorted(
            [
                {"agency": a.name, "downloads": 2},
                {"agency": library.NOT_SIGNED_IN, "downloads": 1},
            ],
            key=lambda r: r["agency"],
        )

    def test_as_csv(self, anonymous_client, world, counted):
        a, b, _c = world["agencies"]
        found = get(anonymous_client, world, "admin", f"/briefings/{counted.id}/downloads.csv")
        assert found.status_code == 200, found.text
        assert found.headers["content-type"].startswith("text/csv")
        assert "attachment" in found.headers["content-disposition"]
        assert found.content.startswith("\ufeff".encode())
        lines = found.content.decode("utf-8-sig").splitlines()
        title = "Learning about exploitation"
        # Beside the downloads, "was this useful?" (tests/briefings/test_library_page.py).
        assert lines[0] == "Briefing,Month,Agency,Downloads,Useful,Not useful"
        assert f"{title},2027-02,{a.name},2,0,0" in lines
        assert f"{title},2027-02,{library.NOT_SIGNED_IN},1,0,0" in lines
        assert f"{title},2027-03,{library.NO_AGENCY},1,0,0" in lines
        assert f"{title},2027-04,{b.name},1,0,0" in lines
        assert len(lines) == 5

    def test_a_briefing_never_downloaded(self, anonymous_client, world):
        private, _ = world["private"]
        body = get(anonymous_client, world, "admin", f"/briefings/{private.id}/downloads").json()
        assert (body["total"], body["by_agency"], body["by_month"]) == (0, [], [])
        assert (
            get(anonymous_client, world, "admin", "/briefings/999999/downloads").status_code == 404
        )

    @pytest.mark.parametrize(
        ("who", "code"),
        [
            ("nobody", 401),
            ("practitioner", 403),
            ("auditor_a", 403),
            ("lead_a", 403),
            ("scrutineer", 403),
            ("admin", 200),
            ("moderator", 200),
        ],
    )
    def test_for_those_who_see_them_in_the_subgroup_report(
        self, anonymous_client, world, who, code
    ):
        public, _ = world["public"]
        for path in (f"/briefings/{public.id}/downloads", f"/briefings/{public.id}/downloads.csv"):
            assert get(anonymous_client, world, who, path).status_code == code, (who, path)


# --- the assurance questionnaire ----------------------------------------------------------


def launch(client, world, who: str = "moderator", *, due_on: date, briefing_id: int | None = None):
    briefing_id = briefing_id or world["public"][0].id
    return client.post(
        f"{API}/briefings/{briefing_id}/assurance",
        json={"due_on": due_on.isoformat()},
        headers=world["people"][who],
    )


def answers_for(db, questionnaire_id: int) -> list[dict]:
    """An answer to every question the questionnaire asks."""
    audit = db.get(Audit, questionnaire_id)
    version = templates.get_version(db, version_id=audit.template_version_id)
    value = {
        AnswerType.FREE_TEXT: "Shared at team meetings and in supervision.",
        AnswerType.YES_PARTLY_NO: "partly",
        AnswerType.NUMBER: 40,
        AnswerType.DATE: "2027-06-30",
    }
    return [
        {"question_id": q.id, "value": value[q.answer_type]}
        for k in version.key_areas
        for q in k.questions
    ]


def answer(client, world, db, who: str, questionnaire_id: int) -> dict:
    """Answer and submit the agency's questionnaire through the briefings API."""
    briefing_id = world["public"][0].id
    headers = world["people"][who]
    path = f"{API}/briefings/{briefing_id}/assurance/return"
    mine = client.get(path, headers=headers)
    assert mine.status_code == 200, mine.text
    saved = client.put(
        path,
        json={"version": mine.json()["version"], "answers": answers_for(db, questionnaire_id)},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    submitted = client.post(
        f"{path}/submit", json={"version": saved.json()["version"]}, headers=headers
    )
    assert submitted.status_code == 200, submitted.text
    return submitted.json()


class TestLaunch:
    def test_launched_for_each_agency_that_took_part(self, anonymous_client, db, world):
        launched = launch(anonymous_client, world, due_on=TODAY + timedelta(days=21))
        assert launched.status_code == 201, launched.text
        body = launched.json()
        a, b, _c = world["agencies"]
        assert (body["status"], body["due_on"], body["answered"]) == (
            "open",
            (TODAY + timedelta(days=21)).isoformat(),
            0,
        )
        assert sorted(r["agency"] for r in body["agencies"]) == sorted([a.name, b.name])
        assert all(not r["answered"] and r["answers"] for r in body["agencies"])
        public, version = world["public"]
        db.expire_all()
        assert db.get(Briefing, public.id).assurance_audit_id == body["audit_id"]
        logged = db.scalar(
            select(AuditEvent).where(AuditEvent.action == "briefing.assurance_launched")
        )
        assert logged.object_id == version.id and logged.after["audit_id"] == body["audit_id"]
        # Each taking agency's lead is told, as publishing with a due date tells them.
        told = db.scalars(
            select(User.display_name)
            .join(Notification, Notification.user_id == User.id)
            .where(Notification.kind == "questionnaire_sent")
        ).all()
        assert sorted(told) == ["Lead A", "Lead B"]
        # Once.
        assert launch(anonymous_client, world, due_on=TODAY + timedelta(days=30)).status_code == 409

    def test_the_answers_are_due_in_the_future(self, anonymous_client, world):
        refused = launch(anonymous_client, world, due_on=TODAY)
        assert refused.status_code == 422
        assert [f["field"] for f in refused.json()["errors"]] == ["due_on"]

    def test_a_learning_briefing_that_is_published(self, anonymous_client, db, world):
        report, _ = publish(
            db, world["audit"], title="Report", public=False, kind=BriefingKind.SUBGROUP_REPORT
        )
        draft = Briefing(audit_id=world["audit"].id, kind=BriefingKind.BRIEFING, title="Draft")
        db.add(draft)
        db.flush()
        db.add(BriefingVersion(briefing_id=draft.id, number=1, marking=Marking.OFFICIAL))
        db.commit()
        due = TODAY + timedelta(days=7)
        assert launch(anonymous_client, world, due_on=due, briefing_id=report.id).status_code == 409
        assert launch(anonymous_client, world, due_on=due, briefing_id=draft.id).status_code == 409
        assert launch(anonymous_client, world, due_on=due, briefing_id=999999).status_code == 404

    @pytest.mark.parametrize(
        ("who", "code"),
        [("nobody", 401), ("practitioner", 403), ("lead_a", 403), ("auditor_a", 403)],
    )
    def test_only_the_briefings_editors_launch_it_and_read_the_answers(
        self, anonymous_client, world, who, code
    ):
        assert (
            launch(anonymous_client, world, who, due_on=TODAY + timedelta(days=7)).status_code
            == code
        )
        public, _ = world["public"]
        assert (
            get(anonymous_client, world, who, f"/briefings/{public.id}/assurance").status_code
            == code
        )

    def test_none_launched(self, anonymous_client, world):
        public, _ = world["public"]
        assert (
            get(anonymous_client, world, "admin", f"/briefings/{public.id}/assurance").status_code
            == 404
        )
        mine = get(anonymous_client, world, "lead_a", f"/briefings/{public.id}/assurance/return")
        assert mine.status_code == 404


class TestAnswering:
    @pytest.fixture
    def questionnaire(self, anonymous_client, world) -> int:
        launched = launch(anonymous_client, world, due_on=TODAY + timedelta(days=7))
        assert launched.status_code == 201, launched.text
        return launched.json()["audit_id"]

    def test_an_agency_lead_answers_for_the_agency(
        self, anonymous_client, db, world, questionnaire
    ):
        submitted = answer(anonymous_client, world, db, "lead_a", questionnaire)
        assert submitted["status"] == "submitted"
        a = world["agencies"][0]
        assert submitted["agency"]["id"] == a.id
        public, _ = world["public"]
        body = get(anonymous_client, world, "moderator", f"/briefings/{public.id}/assurance").json()
        [row] = [r for r in body["agencies"] if r["agency"] == a.name]
        assert row["answered"] and row["status"] == "submitted"
        assert [x["answer"] for x in row["answers"]] == [
            "Shared at team meetings and in supervision."
        ] * 2
        assert (body["answered"], body["status"]) == (1, "open")  # agency B still to answer

    def test_only_their_own_agencys_and_only_a_questionnaire(
        self, anonymous_client, db, world, questionnaire
    ):
        public, _ = world["public"]
        path = f"/briefings/{public.id}/assurance/return"
        # Agency C took no part; the partnership's roles answer for no agency.
        assert get(anonymous_client, world, "lead_c", path).status_code == 404
        for who in ("moderator", "admin", "scrutineer", "practitioner"):
            assert get(anonymous_client, world, who, path).status_code == 403, who
        # A lead edits no other return: the audit's own stay their auditors'.
        ordinary = db.scalar(
            select(Return).where(
                Return.audit_id == world["audit"].id, Return.agency_id == world["agencies"][0].id
            )
        )
        refused = anonymous_client.put(
            f"{API}/returns/{ordinary.id}/draft",
            json={"version": ordinary.version},
            headers=world["people"]["lead_a"],
        )
        assert refused.status_code == 403
        # Each agency's return is its own: lead A reads agency A's.
        mine = get(anonymous_client, world, "lead_a", path).json()
        assert mine["agency"]["id"] == world["agencies"][0].id
        read = db.scalar(
            select(PendingEvent).where(
                PendingEvent.action == "return.read", PendingEvent.object_id == mine["id"]
            )
        )
        assert read is not None  # every read is logged, as a return's is

    def test_closed_once_every_agency_has_answered(
        self, anonymous_client, db, world, questionnaire
    ):
        answer(anonymous_client, world, db, "lead_a", questionnaire)
        db.expire_all()
        assert db.get(Audit, questionnaire).status == AuditStatus.OPEN
        # Agency B's auditor answers through the returns API, as auditors always have.
        theirs = db.scalar(
            select(Return).where(
                Return.audit_id == questionnaire, Return.agency_id == world["agencies"][1].id
            )
        )
        headers = world["people"]["auditor_b"]
        saved = anonymous_client.put(
            f"{API}/returns/{theirs.id}/draft",
            json={"version": theirs.version, "answers": answers_for(db, questionnaire)},
            headers=headers,
        )
        assert saved.status_code == 200, saved.text
        submitted = anonymous_client.post(
            f"{API}/returns/{theirs.id}/submit",
            json={"version": saved.json()["version"]},
            headers=headers,
        )
        assert submitted.status_code == 200, submitted.text
        db.expire_all()
        closed = db.get(Audit, questionnaire)
        assert (closed.status, closed.close_reason) == (
            AuditStatus.CLOSED,
            "Every agency answered.",
        )
        public, _ = world["public"]
        body = get(anonymous_client, world, "moderator", f"/briefings/{public.id}/assurance").json()
        assert (body["status"], body["answered"], body["close_reason"]) == (
            "closed",
            2,
            "Every agency answered.",
        )
        logged = db.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "audit.close", AuditEvent.object_id == questionnaire
            )
        )
        assert logged.after["reason"] == "Every agency answered." and logged.after["questionnaire"]
        assert logged.before == {"status": "open"}
        # Its auditor still reads what the agency said (the page after Submit shows it).
        read = anonymous_client.get(f"{API}/returns/{theirs.id}", headers=headers)
        assert read.status_code == 200, read.text

    def test_an_ordinary_audit_is_not_closed_when_its_returns_are_in(self, db):
        from app.briefings import assurance

        audit = make_audit(db, children=1, agencies_count=1)
        db.execute(
            Return.__table__.update()
            .where(Return.audit_id == audit.id)
            .values(status=ReturnStatus.SUBMITTED)
        )
        assert assurance.close_if_answered(db, audit=audit) is False
        db.refresh(audit)
        assert audit.status == AuditStatus.OPEN

    def test_closed_when_its_answers_were_due(
        self, anonymous_client, db, world, questionnaire, pinned_clock
    ):
        answer(anonymous_client, world, db, "lead_a", questionnaire)
        settings = Settings(database_url="sqlite://")
        sent = []
        due = TODAY + timedelta(days=7)
        # Not on the day they are due, nor in a dry run.
        for day, dry_run in ((due, False), (due + timedelta(days=1), True)):
            pinned_clock.move_to(
                datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=7)
            )
            outcome = reminders.send(
                db, settings=settings, today=day, dry_run=dry_run, deliver=sent.append
            )
            assert outcome.closed == []
            db.expire_all()
            assert db.get(Audit, questionnaire).status == AuditStatus.OPEN
        day = due + timedelta(days=1)
        pinned_clock.move_to(datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=7))
        outcome = reminders.send(db, settings=settings, today=day, deliver=sent.append)
        assert [a.id for a in outcome.closed] == [questionnaire]
        db.expire_all()
        closed = db.get(Audit, questionnaire)
        reason = "The answers were due on 16 March 2027; 1 of 2 agencies answered."
        assert (closed.status, closed.close_reason) == (AuditStatus.CLOSED, reason)
        # Its returns are no longer due: nobody is reminded of them.
        assert not any(
            item.kind == "return" and item.id in _returns(db, questionnaire)
            for digest in reminders.digests(db, today=day, base_url="http://x")
            for item in digest.items
        )
        logged = db.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "audit.close", AuditEvent.object_id == questionnaire
            )
        )
        assert logged.after["reason"] == reason
        # Closed, the questionnaire takes no more answers: the lead is told, the auditor
        # (whose returns are theirs only while the audit is open) no longer finds it.
        pinned_clock.move_to(NOON)  # while the people's tokens are good
        public, _ = world["public"]
        path = f"{API}/briefings/{public.id}/assurance/return"
        late = anonymous_client.put(path, json={"version": 1}, headers=world["people"]["lead_b"])
        assert late.status_code == 409, late.text
        assert (
            get(
                anonymous_client, world, "auditor_b", f"/briefings/{public.id}/assurance/return"
            ).status_code
            == 404
        )
        # The next day's run closes nothing more.
        assert (
            reminders.send(
                db, settings=settings, today=day + timedelta(days=1), deliver=sent.append
            ).closed
            == []
        )


def _returns(db, audit_id: int) -> set[int]:
    return set(db.scalars(select(Return.id).where(Return.audit_id == audit_id)))
