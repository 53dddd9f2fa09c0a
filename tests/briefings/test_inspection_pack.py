"""The inspection-readiness pack on two years of the demo partnership: drafted from the
figures, edited, checked, refused to its author and approved by someone else, rendered
by the real background renderer to a tagged PDF whose every figure its spreadsheet
holds; never in the library; from the command line too."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import date, timedelta

import openpyxl
import pikepdf
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app import clock
from app.access import service as access
from app.access.models import Role
from app.auditlog.models import AuditEvent
from app.briefings import jobs, library, pack, service, workflow
from app.briefings.models import BriefingDocument, BriefingKind, Marking, VersionStatus
from app.briefings.workflow import FourEyes
from app.config import Settings
from app.db import make_sessionmaker, session_scope
from app.errors import InvalidInput, NotFound
from app.trends.figures import cell_text
from audit_tools.commands.briefings import app as briefings_cli
from tests.helpers.access import actor_of, another_approver, bearer, token_holder
from tests.helpers.sessions import engine_on
from tests.helpers.tagged import structure

SETTINGS = Settings(database_url="sqlite://")


@pytest.fixture(scope="module")
def demo(demo_database):
    """A copy of the demo (two years of audits): (url, session factory)."""
    url = demo_database()
    with engine_on(url) as engine:
        yield url, make_sessionmaker(engine)


@pytest.fixture(scope="module")
def period() -> pack.Period:
    """The two partnership years the demo's audits fall in, to today."""
    today = clock.today()
    start = date(today.year - (2 if today.month < 4 else 1), 4, 1)
    return pack.period_of(start, today, None)


@pytest.fixture(scope="module")
def published(demo, period):
    """A pack drafted by the business unit, an answer edited, submitted, refused to its
    author, approved by a moderator, published and rendered: (version id, its PDF, its
    stored spreadsheet)."""
    _url, factory = demo
    with session_scope(factory) as session:
        author = actor_of(
            access.create_user(
                session, email="unit@example.org", display_name="Unit", roles={Role.ADMIN}
            )
        )
        version = workflow.create_pack(
            session,
            period=period,
            title=pack.TITLE,
            marking=Marking.OFFICIAL_SENSITIVE,
            actor=author,
            settings=SETTINGS,
        )
        sections = dict(version.sections)
        sections["doing"] += "\n\nThe QAPP reviews every overdue action at each meeting."
        workflow.save(
            session,
            version=version,
            sections=sections,
            marking=Marking.OFFICIAL_SENSITIVE,
            read_lock=version.lock_version,
            actor=author,
        )
        workflow.submit(
            session, version=version, actor=author, settings=SETTINGS, confirm_small_counts=True
        )
        with pytest.raises(FourEyes):
            workflow.approve(
                session, version=version, actor=author, settings=SETTINGS, check_read=True
            )
        assert version.status == VersionStatus.SUBMITTED  # the author alone cannot
        approver = actor_of(another_approver(session, email="pack.approver@example.org"))
        workflow.approve(
            session, version=version, actor=approver, settings=SETTINGS, check_read=True
        )
        assert version.status == VersionStatus.APPROVED
        with pytest.raises(InvalidInput, match="no assurance questionnaire"):
            workflow.publish(
                session,
                version=version,
                assurance_due_on=clock.today() + timedelta(days=21),
                today=clock.today(),
            )
        workflow.publish(session, version=version, today=clock.today())
        version_id = version.id
    jobs.process_pending(factory, SETTINGS)
    with session_scope(factory) as session:
        version = service.get_version(session, version_id=version_id)
        assert version.status == VersionStatus.PUBLISHED, version.check_report
        document = session.scalars(
            select(BriefingDocument).where(BriefingDocument.version_id == version_id)
        ).one()
        return version_id, document.pdf, document.figures_xlsx


def text_of(pdf: bytes, *args: str) -> str:
    return subprocess.run(
        ["pdftotext", *args, "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def words(text: str) -> str:
    return " ".join(text.split())


class TestThePack:
    def test_its_author_alone_cannot_publish_it_and_the_log_has_each_step(self, demo, published):
        version_id, _pdf, _xlsx = published
        _url, factory = demo
        with session_scope(factory) as session:
            version = service.get_version(session, version_id=version_id)
            approvals = service.approvals(session, version=version)
            actions = session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_type == "briefing_version")
                .where(AuditEvent.object_id == version_id)
                .order_by(AuditEvent.id)
            ).all()
        # The one approval is someone else's: the author's was refused (the fixture).
        assert [a.approver for a in approvals] == ["pack.approver@example.org"]
        assert approvals[0].user_id not in version.author_ids
        assert actions[0] == "briefing.create" and actions[-1] == "briefing.publish"
        assert {"briefing.submit", "briefing.approve"} <= set(actions)

    def test_page_one_answers_the_three_questions_with_the_edit(self, published):
        text = words(text_of(published[1], "-f", "1", "-l", "1"))
        for heading, _ in ((h, k) for k, h in pack.SECTIONS):
            assert heading in text
        assert "Moderated grades of Good or better" in text
        assert "The QAPP reviews every overdue action at each meeting." in words(
            text_of(published[1])
        )

    def test_tagged_pdf_with_language_title_headings_tables_and_described_charts(self, published):
        with pikepdf.open(io.BytesIO(published[1])) as pdf:
            root = pdf.Root
            assert root.MarkInfo.Marked is True and str(root.Lang) == "en-GB"
            assert str(pdf.docinfo.Title) == pack.TITLE
            assert root.ViewerPreferences.DisplayDocTitle is True
            with pdf.open_metadata() as xmp:
                assert xmp["pdfuaid:part"] == "1"
        with structure(published[1]) as found:
            assert {"/H1", "/H2", "/H3", "/Table", "/TH", "/TD", "/Figure"} <= set(found)
            assert len(found["/H1"]) == 1
            assert all("/Alt" in f and str(f.Alt).strip() for f in found["/Figure"])
            assert all(len(td.A.Headers) >= 1 for td in found["/TD"])

    def test_every_page_shows_the_marking_and_page_number(self, published):
        pdf = published[1]
        with pikepdf.open(io.BytesIO(pdf)) as document:
            pages = len(document.pages)
        for n in range(1, pages + 1):
            text = text_of(pdf, "-f", str(n), "-l", str(n))
            assert len(re.findall(r"\bOFFICIAL-SENSITIVE\b", text)) == 2
            assert f"Page {n} of {pages}" in text

    def test_every_figure_in_its_spreadsheet_is_in_the_pdf(self, demo, published):
        """Each sheet is one of the PDF's tables: its heading is printed, and each row's
        cells, worded as the table words them, are printed in that order."""
        _version_id, pdf, xlsx = published
        assert xlsx is not None
        printed = words(text_of(pdf))
        book = openpyxl.load_workbook(io.BytesIO(xlsx))
        _url, factory = demo
        with session_scope(factory) as session:
            version = service.get_version(session, version_id=published[0])
            context = service.document_context(session, version=version, settings=SETTINGS)
        figures = context["trends"].figures
        checked = 0
        for figure in figures:
            if not figure.rows:
                continue
            assert figure.heading in printed
            for row in figure.rows:
                texts = [cell_text(v, c.kind) for v, c in zip(row, figure.columns, strict=True)]
                numbers = [
                    t for t, c in zip(texts, figure.columns, strict=True) if c.kind != "text"
                ]
                # The row's figures follow its header in the printed text.
                assert " ".join(numbers) in printed, (figure.key, texts)
                checked += 1
        assert checked > 20
        # The spreadsheet's sheets hold the same rows, typed.
        sheets = {ws.title: ws for ws in book.worksheets}
        counts = [
            v
            for ws in sheets.values()
            for r in ws.iter_rows(min_row=2, values_only=True)
            for v in r
            if isinstance(v, int)
        ]
        printed_counts = {
            int(n.replace(",", "")) for n in re.findall(r"(?<![\d.%])\d[\d,]*(?![\d%])", printed)
        }
        assert counts and set(counts) <= printed_counts

    def test_never_in_the_library_and_only_its_editors_download_it(self, demo, published):
        version_id, _pdf, _xlsx = published
        _url, factory = demo
        with session_scope(factory) as session:
            version = service.get_version(session, version_id=version_id)
            listed = library.library(session, signed_in=True)
            assert all(b.kind != BriefingKind.INSPECTION_PACK for b, _v in listed)
            with pytest.raises(NotFound):
                library.library_entry(session, briefing_id=version.briefing_id, signed_in=True)
            reader = actor_of(
                access.create_user(
                    session, email="p@example.org", display_name="P", roles={Role.PRACTITIONER}
                )
            )
            with pytest.raises(NotFound):
                library.download(session, version_id=version_id, actor=reader)
            editor = actor_of(
                access.create_user(
                    session, email="e@example.org", display_name="E", roles={Role.ADMIN}
                )
            )
            _v, document = library.download(session, version_id=version_id, actor=editor)
            assert document.pdf == published[1]
            session.rollback()


class TestDrafting:
    def test_a_theme_narrows_the_audits(self, demo, period):
        _url, factory = demo
        with factory() as session:
            themed = pack.figures(
                session,
                period=pack.period_of(
                    period.date_from, period.date_to, "Child exploitation and extra-familial harm"
                ),
                settings=SETTINGS,
            )
            every = pack.figures(session, period=period, settings=SETTINGS)
        audits = themed.figure("audits")
        assert audits.rows and all(
            row[1] == "Child exploitation and extra-familial harm" for row in audits.rows
        )
        assert len(audits.rows) < len(every.figure("audits").rows)

    def test_small_counts_are_fewer_than_n_for_every_reader(self, demo, period):
        _url, factory = demo
        with factory() as session:
            found = pack.figures(session, period=period, settings=SETTINGS)
        cohort = found.figure("cohort")
        *bands, total = cohort.rows[0][1:]
        # Every band listed, none from 1 to 4 shown; the total, printed elsewhere too.
        assert len(bands) >= 6 and "fewer than 5" in bands
        assert all(
            v == 0 or v >= SETTINGS.small_count_threshold for v in bands if isinstance(v, int)
        )
        assert total == sum(row[4] for row in found.figure("audits").rows)

    @pytest.mark.parametrize(
        ("start", "end", "field"),
        [
            (None, date(2026, 3, 31), "period_from"),
            (date(2026, 4, 1), date(2026, 3, 31), "period_to"),
            (date(2016, 4, 1), date(2026, 4, 1), "period_to"),  # more than ten years
            (date(9995, 1, 1), date(9999, 12, 31), "period_from"),
        ],
    )
    def test_a_period_that_cannot_be_is_refused_by_field(self, start, end, field):
        with pytest.raises(InvalidInput) as refused:
            pack.period_of(start, end, None)
        assert [f.field for f in refused.value.fields] == [field]

    def test_a_pack_is_not_drafted_from_one_audit(self, demo):
        _url, factory = demo
        from app.audits.models import Audit, AuditStatus

        with factory() as session:
            audit = session.scalars(
                select(Audit).where(Audit.status == AuditStatus.LEARNING)
            ).first()
            with pytest.raises(InvalidInput):
                workflow.create(
                    session,
                    audit=audit,
                    kind=BriefingKind.INSPECTION_PACK,
                    title="A pack",
                    marking=Marking.OFFICIAL,
                    public=False,
                    actor=actor_of(another_approver(session)),
                )


class TestCommandLine:
    def test_writes_the_pdf_and_its_figures(self, demo, period, tmp_path, monkeypatch):
        url, _factory = demo
        monkeypatch.setenv("DATABASE_URL", url)
        from app.config import get_settings

        get_settings.cache_clear()
        out, figures = tmp_path / "pack.pdf", tmp_path / "pack.xlsx"
        try:
            result = CliRunner().invoke(
                briefings_cli,
                [
                    "inspection-pack",
                    "--from",
                    period.date_from.isoformat(),
                    "--to",
                    period.date_to.isoformat(),
                    "--out",
                    str(out),
                    "--figures",
                    str(figures),
                ],
            )
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        assert out.read_bytes()[:5] == b"%PDF-" and "The evidence" in text_of(out.read_bytes())
        book = openpyxl.load_workbook(figures)
        assert len(book.worksheets) > 5

    def test_refuses_a_period_that_ends_before_it_starts(self, demo, tmp_path, monkeypatch):
        url, _factory = demo
        monkeypatch.setenv("DATABASE_URL", url)
        from app.config import get_settings

        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(
                briefings_cli,
                [
                    "inspection-pack",
                    "--from",
                    "2026-04-01",
                    "--to",
                    "2026-03-01",
                    "--out",
                    str(tmp_path / "p.pdf"),
                ],
            )
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 1 and "on or after the first" in result.output
        assert not (tmp_path / "p.pdf").exists()


class TestTheApi:
    def test_draft_a_pack_and_read_its_figures(self, anonymous_client, db):
        _user, token = token_holder(db, Role.ADMIN, "Unit Admin")
        body = {
            "title": "Inspection readiness 2026",
            "marking": "OFFICIAL-SENSITIVE",
            "period_from": "2025-04-01",
            "period_to": "2026-03-31",
        }
        made = anonymous_client.post("/api/v1/inspection-packs", json=body, headers=bearer(token))
        assert made.status_code == 201, made.text
        version = made.json()
        briefing = anonymous_client.get(
            f"/api/v1/briefings/{version['briefing_id']}", headers=bearer(token)
        ).json()
        assert (briefing["kind"], briefing["audit_id"], briefing["period_from"]) == (
            "inspection-pack",
            None,
            "2025-04-01",
        )
        got = anonymous_client.get(
            f"/api/v1/briefings/versions/{version['id']}/figures.xlsx", headers=bearer(token)
        )
        assert got.status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(got.content))
        assert len(book.worksheets) > 5

    def test_a_period_that_ends_before_it_starts_is_422_naming_the_field(
        self, anonymous_client, db
    ):
        _user, token = token_holder(db, Role.ADMIN, "Unit Admin")
        body = {
            "title": "Pack",
            "marking": "OFFICIAL",
            "period_from": "2026-04-01",
            "period_to": "2026-03-31",
        }
        refused = anonymous_client.post(
            "/api/v1/inspection-packs", json=body, headers=bearer(token)
        )
        assert refused.status_code == 422
        assert [e["field"] for e in refused.json()["errors"]] == ["period_to"]

    def test_a_practitioner_may_not(self, anonymous_client, db):
        _user, token = token_holder(db, Role.PRACTITIONER, "Prac Titioner")
        body = {
            "title": "P",
            "marking": "OFFICIAL",
            "period_from": "2025-04-01",
            "period_to": "2026-03-31",
        }
        assert (
            anonymous_client.post(
                "/api/v1/inspection-packs", json=body, headers=bearer(token)
            ).status_code
            == 403
        )


def test_page_one_screenshot(published, screenshots):
    out = screenshots / "inspection-pack-page-1"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", "-", str(out)],
        input=published[1],
        check=True,
    )
    assert out.with_suffix(".png").read_bytes()[:8] == bytes.fromhex("89504e470d0a1a0a")
