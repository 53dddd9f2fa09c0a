"""The check reads what is published: after the worker renders a briefing and before
the PDF becomes visible, the identification check reads the PDF's own text (each page)
and its metadata (its properties and the XMP packet). A refusal sends the version back
to draft with the problems listed, and nothing is published.

Every identifier here is invented: 401 023 2137 is a made-up ten-digit number whose
Modulus 11 check digit happens to be valid (it belongs to no one), 07700 900123 is in
the range Ofcom keeps for drama, example.com is reserved for examples, and Laburnum
Close in Droitwich is an address made up for the test, as are the names and the other
numbers below."""

from __future__ import annotations

import re
from concurrent.futures import Future
from datetime import UTC, datetime
from html import escape, unescape

import pytest
import time_machine
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.access import service as access
from app.access.models import Role, User
from app.auditlog.models import AuditEvent
from app.audits.models import Audit, AuditStatus
from app.briefings import jobs, printed, render, workflow
from app.briefings.models import (
    BriefingApproval,
    BriefingDocument,
    BriefingKind,
    BriefingVersion,
    Marking,
    RenderStatus,
    VersionStatus,
)
from app.config import Settings, get_settings
from app.db import make_sessionmaker, session_scope
from app.main import create_app
from audit_tools.commands.briefings import app as briefings_cli
from tests.helpers.access import actor_of, another_approver, browse_as
from tests.helpers.app_client import AppClient
from tests.helpers.factories import make_audit

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
NHS_NUMBER = "401 023 2137"  # invented; valid check digit

# The payloads: each must be refused wherever the PDF carries it.
PAYLOADS = [
    pytest.param("Jayden Smith was seen by the school nurse", id="name"),
    pytest.param("14 Laburnum Close, Droitwich", id="address"),
    pytest.param("Her date of birth, 12 March 2021", id="date-of-birth"),
    pytest.param("Reference 401\u200b023\u200b2137", id="nhs-number-with-zero-width-spaces"),
    pytest.param("Write to jayden.smith@example.com", id="email"),
    pytest.param("Ring 07700 900123", id="mobile"),
    pytest.param("Kayleigh-Marie O'Connor's stepfather", id="name-not-in-the-records"),
    pytest.param("Her mother Kelly Smith, 27", id="a-mothers-name"),
    pytest.param("Her birthday is 14.03.2011", id="birthday"),
    pytest.param(
        "On 3 March 2026 a 15-year-old was arrested after an overdose", id="exact-date-in-prose"
    ),
    # A UPN with its check letter (DfE's algorithm), a National Insurance number in
    # HMRC's format, a crime reference and case numbers in the style of Liquidlogic and
    # Mosaic: all invented.
    pytest.param("UPN H801200001001", id="upn"),
    pytest.param("NI number JK 12 34 56 A", id="ni-number"),
    pytest.param("Crime reference 22/45812/26", id="crime-reference"),
    pytest.param("LCS person ID 1234567", id="liquidlogic-case-number"),
    pytest.param("Mosaic ID 654321", id="mosaic-case-number"),
]


def pdf_of(body: str, *, title: str) -> bytes:
    html = f'<html lang="en-GB"><title>t</title><body><p>{escape(body)}</p></body></html>'
    return render.render_pdf(html, title=title, logo_path=None)


class TestWhatThePdfCarries:
    def test_each_page_its_properties_and_its_xmp_are_read(self):
        html = (
            '<html lang="en-GB"><title>t</title><body><p>The first page.</p>'
            '<p style="break-before: page">The second page.</p></body></html>'
        )
        found = dict(printed.sections(render.render_pdf(html, title="A & B", logo_path=None)))
        assert "The first page." in found["page 1"]
        assert "The second page." in found["page 2"]
        assert found["the PDF's properties (Title)"] == "A & B"
        assert "A & B" in found["the PDF's XMP metadata"].split("\n\n")
        # The packet's markup (namespaces, its own attributes) is not read as words.
        assert "xmlns" not in found["the PDF's XMP metadata"]

    @pytest.mark.parametrize("payload", PAYLOADS)
    def test_every_payload_is_refused_from_the_text_and_from_the_metadata(self, payload):
        """A PDF whose text carries the payload, and whose title does: the check refuses
        it from the page, from the document's properties and from the XMP packet."""
        pdf = pdf_of(f"What we found. {payload}.", title=f"Learning briefing: {payload}")
        report = workflow.check_printed(pdf, against={})
        where = {p.where.rsplit(", line", 1)[0] for p in report.refusals}
        assert {
            "page 1",
            "the PDF's properties (Title)",
            "the PDF's XMP metadata",
        } <= where, report.problems

    def test_what_the_layout_splits_is_read_in_the_html_and_reported_once(self):
        """With the HTML it was printed from, the check reads that too; a problem both
        show is reported once, where the PDF shows it."""

        def nhs_numbers(html: str) -> list[str]:
            report = workflow.check_printed(pdf, against={}, html=html)
            return [p.where for p in report.refusals if p.kind == "nhs_number"]

        html = f'<html lang="en-GB"><title>t</title><body><p>See {NHS_NUMBER}.</p></body></html>'
        pdf = render.render_pdf(html, title="Clean", logo_path=None)
        assert nhs_numbers(html) == ["page 1, line 1"]
        # Text only the HTML has (a cell's words the layout wraps between other
        # columns', say) is found there.
        other = html.replace("</p>", " Or 943 476 5919.</p>")
        assert nhs_numbers(other) == ["page 1, line 1", "the document as printed, line 1"]

    def test_publish_check_reads_a_pdfs_metadata(self, migrated_engine, monkeypatch, tmp_path):
        pdf = tmp_path / "briefing.pdf"
        pdf.write_bytes(pdf_of("Nothing to see.", title=f"Reference {NHS_NUMBER}"))
        monkeypatch.setenv("DATABASE_URL", migrated_engine().url.render_as_string(False))
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(briefings_cli, ["publish-check", str(pdf)])
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 1, result.output
        assert "the PDF's properties (Title)" in result.output
        assert "the PDF's XMP metadata" in result.output


# --- end to end: approved, changed, refused as printed -------------------------------


class InProcess:
    """The render pool, rendering and checking here: what is tested is what happens to
    the PDF."""

    def submit_checked(self, html: str, title: str, *, check, against: dict) -> Future:
        done: Future = Future()
        pdf = render.render_pdf(html, title=title, logo_path=None)
        done.set_result((pdf, check(pdf, against=against, html=html)))
        return done


@pytest.fixture
def world(migrated_engine, monkeypatch):
    """A learning briefing on a database of its own (the render queue opens sessions of
    its own), approved by someone who did not write it and queued for publishing."""
    monkeypatch.setattr(render, "pool", lambda settings=None: InProcess())
    engine = migrated_engine()
    factory = make_sessionmaker(engine)
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, environment="test", render_in_background=False)
    with time_machine.travel(NOW, tick=True), session_scope(factory) as session:
        audit = make_audit(session, children=3, agencies_count=2)
        audit.status = AuditStatus.LEARNING
        author = access.create_user(
            session, email="author@example.org", display_name="Ash Author", roles={Role.MODERATOR}
        )
        approver = another_approver(session)
        version = workflow.create(
            session,
            audit=audit,
            kind=BriefingKind.BRIEFING,
            title="Learning from the audit",
            marking=Marking.OFFICIAL,
            public=True,
            actor=actor_of(author),
        )
        workflow.submit(
            session,
            version=version,
            actor=actor_of(author),
            settings=settings,
            confirm_small_counts=True,
        )
        workflow.approve(
            session, version=version, actor=actor_of(approver), settings=settings, check_read=True
        )
        workflow.publish(session, version=version)
        ids = {"audit": audit.id, "version": version.id, "author": author.id}
    yield factory, settings, ids


def test_a_clean_briefing_is_published_with_its_approver(world):
    factory, settings, ids = world
    with time_machine.travel(NOW, tick=True):
        assert jobs.process_pending(factory, settings) == 1
    with session_scope(factory) as session:
        version = session.get(BriefingVersion, ids["version"])
        assert version.status == VersionStatus.PUBLISHED
        assert version.drafted_by == "author@example.org"
        assert version.approved_by == "second.approver@example.org"
        [approval] = session.scalars(select(BriefingApproval)).all()
        assert (approval.version_id, approval.approver) == (version.id, version.approved_by)
        assert session.scalar(select(func.count(BriefingDocument.id))) == 1

    # The published version says who drafted it and who approved it, to its editors.
    with AppClient(create_app(settings)) as client, session_scope(factory) as session:
        author = session.get(User, ids["author"])
        _row, plain = access.create_token(session, user=author, name="tests", days=1)
        session.commit()
        api = client.get(
            f"/api/v1/briefings/versions/{ids['version']}",
            headers={"Authorization": f"Bearer {plain}"},
        ).json()
        browse_as(client, session, author)
        page = client.get(f"/briefings/versions/{ids['version']}").text
    assert (api["status"], api["drafted_by"]) == ("published", "author@example.org")
    assert [a["approver"] for a in api["approvals"]] == ["second.approver@example.org"]
    shown = " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert "Published on 23 November 2026." in shown
    assert (
        "Drafted by author@example.org. Approved by second.approver@example.org on 23 November 2026."
    ) in shown


def test_a_change_after_approval_is_refused_as_printed(world):
    """Approved clean; then the audit's title, which the briefing prints, is changed to
    carry an NHS number. Publishing stops: back to draft, the problem listed, nothing
    published, the approvals removed; the editor says so."""
    factory, settings, ids = world
    with session_scope(factory) as session:
        audit = session.get(Audit, ids["audit"])
        audit.title = f"Audit of the referral for {NHS_NUMBER}"
        lock_before = session.get(BriefingVersion, ids["version"]).lock_version
    with time_machine.travel(NOW, tick=True):
        assert jobs.process_pending(factory, settings) == 0

    with session_scope(factory) as session:
        version = session.get(BriefingVersion, ids["version"])
        assert version.status == VersionStatus.DRAFT
        assert version.render_status == RenderStatus.FAILED
        assert version.lock_version == lock_before + 1
        assert (version.approved_by, version.approved_at) == (None, None)
        refused = [p for p in version.check_report if p["blocking"]]
        assert [p["kind"] for p in refused] == ["nhs_number"]
        # Read in the PDF itself: the problem is placed on its page.
        assert refused[0]["where"].startswith("page 1, line ")
        assert NHS_NUMBER.replace(" ", "") in refused[0]["excerpt"].replace(" ", "")
        assert session.scalar(select(func.count(BriefingDocument.id))) == 0
        assert session.scalar(select(func.count(BriefingApproval.id))) == 0
        [logged] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "briefing.refused_as_printed")
        ).all()
        assert logged.object_id == version.id
        assert logged.after["problems"] == [{"kind": "nhs_number", "where": refused[0]["where"]}]
        assert NHS_NUMBER not in str(logged.after)  # the log keeps no identifier

    with AppClient(create_app(settings)) as client, session_scope(factory) as session:
        browse_as(client, session, session.get(User, ids["author"]))
        page = unescape(client.get(f"/briefings/versions/{ids['version']}").text)
    assert (
        "Publishing was stopped: the identification check found 1 problem(s) in the printed PDF"
        in page
    )
    assert refused[0]["where"] in page and refused[0]["message"] in page
    # A draft again, for its authors to fix.
    assert 'name="lock_version"' in page
