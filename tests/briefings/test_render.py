"""Rendering the demo's learning briefing and subgroup report to accessible PDFs: the
seven sections and the figures that match the database, PDF/UA tagging, the marking and
page numbers on every page, no child's pseudonym, the asset-only URL fetcher, the
command line and the worker pool. Page 1 of each is saved as a screenshot (to a
temporary folder; `make screenshots` saves them to docs/screenshots/)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from typer.testing import CliRunner

from app import clock
from app.access.policy import SYSTEM
from app.audit_templates.models import GradeLevel
from app.audits.models import Audit, AuditStatus, Child, audit_agency
from app.briefings import content, drafting, facts, render
from app.config import Settings, get_settings
from app.db import make_sessionmaker, session_scope
from app.demo import MEETING_TITLE
from app.findings import service as findings
from app.findings.models import FindingKind
from app.moderation.models import ModeratedGrade
from app.returns.models import Return
from audit_tools.commands.briefings import app as briefings_cli
from tests.helpers.sessions import engine_on
from tests.helpers.tagged import structure

SETTINGS = Settings()
# A 1x1 PNG: the partnership's logo in the tests.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000000030101003cd8e2f10000000049454e44ae426082"
)


@pytest.fixture(scope="module")
def demo(demo_database):
    """A copy of the demo partnership: (url, session factory, deep dive id)."""
    url = demo_database()
    with engine_on(url) as engine:
        factory = make_sessionmaker(engine)
        with session_scope(factory) as session:
            audit_id = session.scalar(select(Audit.id).where(Audit.status == AuditStatus.LEARNING))
        yield url, factory, audit_id


@pytest.fixture(scope="module")
def dated(demo) -> date:
    """The documents' date: the demo's own day (it is loaded on the tests' clock), so an
    action's days overdue do not depend on the calendar."""
    return clock.today()


@pytest.fixture(scope="module")
def briefing(demo, dated):
    """The drafted briefing of the deep dive: (html, pdf bytes)."""
    _url, factory, audit_id = demo
    with factory() as session:
        audit = session.get(Audit, audit_id)
        context = content.briefing_context(
            session,
            audit=audit,
            sections=drafting.draft_sections(session, audit=audit),
            title="GET SAFE: child protection procedures in exploitation cases",
            marking="OFFICIAL",
            version_label="Version 1",
            dated=dated,
            settings=SETTINGS,
        )
    html = render.html_for("briefing", context)
    return html, render.render_pdf(html, title=context["doc"]["title"], logo_path=None)


@pytest.fixture(scope="module")
def report(demo, dated):
    _url, factory, audit_id = demo
    with factory() as session:
        context = content.subgroup_report_context(
            session,
            audits=[session.get(Audit, audit_id)],
            subgroup_name="QAPP",
            marking="OFFICIAL-SENSITIVE",
            version_label="Version 2",
            dated=dated,
            today=dated,
            settings=SETTINGS,
        )
    html = render.html_for("subgroup-report", context)
    return html, render.render_pdf(html, title=context["doc"]["title"], logo_path=None)


def text_of(pdf: bytes, *args: str) -> str:
    return subprocess.run(
        ["pdftotext", *args, "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def words(text: str) -> str:
    return " ".join(text.split())


def page_count(pdf: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        return len(document.pages)


def screenshot(pdf: bytes, folder: Path, name: str) -> Path:
    out = folder / name
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", "-", str(out)],
        input=pdf,
        check=True,
    )
    return out.with_suffix(".png")


class TestBriefingContent:
    def test_all_seven_sections_are_there_in_order(self, briefing):
        text = words(text_of(briefing[1]))
        positions = [text.find(section.heading) for section in drafting.SECTIONS]
        assert all(p >= 0 for p in positions), positions
        assert positions == sorted(positions)

    def test_figures_match_the_database(self, demo, briefing):
        _url, factory, audit_id = demo
        layout = text_of(briefing[1], "-layout")
        text = words(text_of(briefing[1]))
        with factory() as session:
            children = session.scalar(
                select(func.count(Child.id)).where(Child.audit_id == audit_id)
            )
            agencies = session.scalar(
                select(func.count())
                .select_from(audit_agency)
                .where(audit_agency.c.audit_id == audit_id)
            )
            levels = session.scalars(
                select(GradeLevel)
                .join(ModeratedGrade, ModeratedGrade.level_id == GradeLevel.id)
                .where(ModeratedGrade.audit_id == audit_id)
                .distinct()
            ).all()
            labels = {lv.scale_id: None for lv in levels}  # one scale in this audit
            assert len(labels) == 1
            scale = session.scalars(
                select(GradeLevel)
                .where(GradeLevel.scale_id == levels[0].scale_id)
                .order_by(GradeLevel.position)
            ).all()

            def counts(column) -> dict[str, int]:
                level = aliased(GradeLevel)
                return dict(
                    session.execute(
                        select(level.label, func.count())
                        .select_from(ModeratedGrade)
                        .join(level, level.id == column)
                        .where(
                            ModeratedGrade.audit_id == audit_id,
                            ModeratedGrade.superseded_at.is_(None),
                            ModeratedGrade.key_area_id.is_not(None),
                        )
                        .group_by(level.label)
                    ).all()
                )

            moderated = counts(ModeratedGrade.level_id)
            own = counts(ModeratedGrade.self_level_id)
            expected = session.scalar(
                select(func.count()).select_from(Return).where(Return.audit_id == audit_id)
            )
        assert children == 6 and agencies == 4 and expected
        # The background says whom the audit looked at; what we found, what moderation
        # did to the grades (the one figure in words).
        assert f"how {agencies} agencies worked with {children} children" in text
        total = sum(moderated.values())
        assert re.search(rf"Moderation changed \d+ of the {total} grades", text)
        for lv in scale:
            m, o = moderated.get(lv.label, 0), own.get(lv.label, 0)
            # The data table beside the chart: the level, its own and moderated counts.
            assert re.search(rf"{re.escape(lv.label)}\s+{o}\s+{m}\b", layout), lv.label
        assert re.search(rf"All grades\s+{total}\s+{total}\b", layout)

    def test_at_most_two_pages(self, briefing):
        # A "7 minute briefing": tests/briefings/test_seven_minute.py checks what is on
        # each page.
        assert page_count(briefing[1]) == 2

    def test_no_child_pseudonym_anywhere(self, demo, briefing):
        _url, factory, audit_id = demo
        with factory() as session:
            pseudonyms = session.scalars(
                select(Child.pseudonym).where(Child.audit_id == audit_id)
            ).all()
        html, pdf = briefing
        text = words(text_of(pdf))
        for name in pseudonyms:
            assert name.lower() not in text.lower() and name.lower() not in html.lower()
        assert not re.search(r"\b(Child|Young person|Baby|Sibling) [A-Z0-9]{1,3}\b", text)

    def test_a_finding_naming_a_child_is_drafted_without_the_name(self, demo):
        _url, factory, audit_id = demo
        with factory() as session:
            audit = session.get(Audit, audit_id)
            child = session.scalars(select(Child).where(Child.audit_id == audit_id)).first()
            pseudonym = child.pseudonym
            findings.create_finding(
                session,
                actor=SYSTEM,
                audit=audit,
                kind=FindingKind.AREA_FOR_IMPROVEMENT,
                statement=f"{child.pseudonym} was not seen alone. {child.pseudonym}'s plan had no dates.",
                theme_ids=[],
                child_id=child.id,
            )
            drafted = drafting.draft_sections(session, audit=audit)
            session.rollback()
        improvement = drafted["improvement"]
        assert pseudonym not in improvement
        assert (
            "A young person was not seen alone. A young person's plan had no dates (found in one case)."
            in improvement
        )

    def test_pseudonyms_are_replaced_and_prose_is_left_alone(self):
        drafted = facts.without_children(
            "child A was seen. Young person 3's plan named Sibling B2 and Unborn baby C. "
            "The child a day later went to Baby 1's nursery.",
            ["Child A", "Young person 3"],
        )
        assert drafted == (
            "A child was seen. A young person's plan named a sibling and an unborn baby. "
            "The child a day later went to a baby's nursery."
        )

    def test_sections_are_plain_text_with_bullets(self):
        assert content.blocks("Intro:\n- one\n- two\n\nAfter.") == [
            {"p": "Intro:"},
            {"ul": ["one", "two"]},
            {"p": "After."},
        ]


class TestAccessiblePdf:
    def test_tagged_with_language_and_title(self, briefing):
        with pikepdf.open(io.BytesIO(briefing[1])) as pdf:
            root = pdf.Root
            assert root.MarkInfo.Marked is True
            assert "/StructTreeRoot" in root
            assert str(root.Lang) == "en-GB"
            assert (
                str(pdf.docinfo.Title)
                == "GET SAFE: child protection procedures in exploitation cases"
            )
            assert root.ViewerPreferences.DisplayDocTitle is True
            with pdf.open_metadata() as xmp:
                assert xmp["pdfuaid:part"] == "1"

    def test_structure_has_headings_tables_and_described_figures(self, briefing):
        with structure(briefing[1]) as found:
            assert {"/H1", "/H2", "/H3", "/Table", "/TH", "/TD", "/L", "/Figure"} <= set(found)
            # The key messages, the seven sections, and page 2's grades, children and
            # further learning; its one chart of the grades.
            assert len(found["/H1"]) == 1 and len(found["/H2"]) == 1 + 7 + 3
            figures = found["/Figure"]
            assert len(figures) == 1 and all("/Alt" in f and str(f.Alt).strip() for f in figures)
            # The further learning's links are tagged as links.
            assert "/Link" in found
            # WeasyPrint links each data cell to its headers (from <th scope>) by id.
            assert all("/ID" in th for th in found["/TH"])
            assert all(len(td.A.Headers) >= 1 for td in found["/TD"])

    @pytest.mark.parametrize(
        "which, marking", [("briefing", "OFFICIAL"), ("report", "OFFICIAL-SENSITIVE")]
    )
    def test_every_page_shows_the_marking_page_number_date_and_version(
        self, which, marking, request, dated
    ):
        pdf = request.getfixturevalue(which)[1]
        pages = page_count(pdf)
        assert pages >= 2
        for n in range(1, pages + 1):
            text = text_of(pdf, "-f", str(n), "-l", str(n))
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            assert len(re.findall(rf"\b{marking}\b(?!-)", text)) == 2, (n, text[:200])
            assert f"Page {n} of {pages}" in text
            assert f"{dated.day} {dated:%B %Y}" in text
            assert marking in lines[0] or marking in lines[1]

    def test_page_one_screenshots(self, briefing, report, screenshots):
        for pdf, name in ((briefing[1], "briefing-page-1"), (report[1], "subgroup-report-page-1")):
            png = screenshot(pdf, screenshots, name)
            assert png.read_bytes()[:8] == bytes.fromhex("89504e470d0a1a0a")


class TestSubgroupReport:
    def test_results_analytics_and_the_action_tracker(self, report):
        text = words(text_of(report[1]))
        for heading in (
            "Results by agency",
            "What moderation shows",
            "Action tracker",
            "Overdue actions",
        ):
            assert heading in text
        assert "Gwet's AC1" in text and "Weighted kappa" in text
        # The demo's action due 35 days ago is escalated to the Executive as well.
        assert "GET SAFE and Executive" in text

    def test_a_period_of_audits(self, demo, dated):
        _url, factory, _id = demo
        with factory() as session:
            audits = list(
                session.scalars(
                    select(Audit)
                    .where(Audit.status.in_([AuditStatus.LEARNING, AuditStatus.MODERATION]))
                    .where(Audit.title != MEETING_TITLE)  # its meeting has not started
                    # This year's: the demo's last year is moderated a year before.
                    .where(Audit.moderation_started_at > clock.utcnow() - timedelta(days=200))
                    .order_by(Audit.id)
                )
            )
            context = content.subgroup_report_context(
                session,
                audits=audits,
                subgroup_name="QAPP",
                marking="OFFICIAL",
                version_label="Quarter 3",
                dated=dated,
                today=dated,
                settings=SETTINGS,
            )
            titles = [a.title for a in audits]
        assert len(titles) == 2
        pdf = render.render_pdf(render.html_for("subgroup-report", context), title="Q3")
        text = words(text_of(pdf))
        assert "Report to QAPP: 2 audits" in text and "Across the 2 audits" in text
        assert all(title in text for title in titles)
        assert "Moderation is still in progress" in text

    def test_counts_list_every_count_shown(self, demo, dated):
        _url, factory, audit_id = demo
        with factory() as session:
            context = content.subgroup_report_context(
                session,
                audits=[session.get(Audit, audit_id)],
                subgroup_name=None,
                marking="OFFICIAL",
                version_label="v1",
                dated=dated,
                today=dated,
                settings=SETTINGS,
            )
        counts = context["counts"]
        assert all(isinstance(c.n, int) for c in counts)
        labels = {c.label for c in counts}
        assert {"Children", "Agencies", "Overdue"} <= labels
        assert context["doc"]["title"].startswith("Report to GET SAFE: ")

    def test_an_audit_not_yet_moderated_has_no_briefing(self, demo, dated):
        _url, factory, _audit_id = demo
        with factory() as session:
            audit = session.scalar(select(Audit).where(Audit.status == AuditStatus.OPEN))
            with pytest.raises(Exception, match="has not finished"):
                content.briefing_context(
                    session,
                    audit=audit,
                    sections={},
                    title="t",
                    marking="OFFICIAL",
                    version_label="v",
                    dated=dated,
                    settings=SETTINGS,
                )


class TestUrlFetcher:
    @pytest.mark.parametrize(
        "url",
        [
            "https://example.org/x.png",
            "http://127.0.0.1:8000/static/service.css",
            "file:///etc/passwd",
            f"file://{render.STATIC / 'service.css'}",
            "data:image/png;base64,iVBORw0KGgo=",
            "asset:static/../config.py",
            "asset:other",
        ],
    )
    def test_refuses_anything_but_packaged_assets(self, url):
        with pytest.raises(render.AssetRefused):
            render.url_fetcher(url, logo_path=None)

    def test_serves_the_packaged_assets(self, tmp_path):
        logo = tmp_path / "logo.png"
        logo.write_bytes(PNG)
        response = render.url_fetcher("asset:brand-logo", logo_path=logo)
        assert response.read() == PNG and response.content_type == "image/png"
        css = render.url_fetcher("asset:static/service.css", logo_path=None)
        assert css.read() == (render.STATIC / "service.css").read_bytes()
        with pytest.raises(render.AssetRefused):
            render.url_fetcher("asset:brand-logo", logo_path=None)

    def test_a_document_cannot_reach_out_and_the_default_fetcher_is_never_called(self, monkeypatch):
        import weasyprint.urls

        called = []
        monkeypatch.setattr(weasyprint.urls.URLFetcher, "fetch", lambda *a, **k: called.append(a))
        for html in (
            '<html lang="en-GB"><title>t</title><img src="https://example.org/x.png" alt="x"></html>',
            '<html lang="en-GB"><title>t</title><link rel="stylesheet" href="file:///etc/passwd"></html>',
            '<html lang="en-GB"><title>t</title><style>@import url("http://example.org/a.css");</style></html>',
        ):
            with pytest.raises(render.AssetRefused):
                render.render_pdf(html, title="t", logo_path=None)
        assert called == []

    def test_the_logo_is_drawn(self, demo, tmp_path):
        logo = tmp_path / "logo.png"
        logo.write_bytes(PNG)
        html = (
            '<html lang="en-GB"><title>t</title><body>'
            '<img src="asset:brand-logo" alt="Partnership logo"></body></html>'
        )
        with pikepdf.open(io.BytesIO(render.render_pdf(html, title="t", logo_path=logo))) as pdf:
            images = list(pdf.pages[0].get_images())
        assert len(images) == 1


class TestCommandLine:
    def run(self, demo, monkeypatch, *args):
        monkeypatch.setenv("DATABASE_URL", demo[0])
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(briefings_cli, ["render", *args], catch_exceptions=False)
        finally:
            get_settings.cache_clear()

    def test_renders_a_briefing_to_a_file(self, demo, monkeypatch, tmp_path):
        out = tmp_path / "briefing.pdf"
        result = self.run(
            demo, monkeypatch, str(demo[2]), "--out", str(out), "--marking", "OFFICIAL-SENSITIVE"
        )
        assert result.exit_code == 0, result.output
        assert out.read_bytes()[:5] == b"%PDF-"
        assert "OFFICIAL-SENSITIVE" in text_of(out.read_bytes(), "-l", "1")
        with pikepdf.open(out) as pdf:
            assert pdf.Root.MarkInfo.Marked is True

    def test_unknown_audit(self, demo, monkeypatch, tmp_path):
        out = tmp_path / "x.pdf"
        result = self.run(demo, monkeypatch, "9999", "--out", str(out))
        assert result.exit_code == 1
        assert "There is no audit with id 9999" in result.output
        assert not out.exists()

    def test_audit_not_yet_moderated(self, demo, monkeypatch, tmp_path):
        _url, factory, _id = demo
        with factory() as session:
            planned = session.scalar(select(Audit.id).where(Audit.status == AuditStatus.PLANNED))
        result = self.run(demo, monkeypatch, str(planned), "--out", str(tmp_path / "x.pdf"))
        assert result.exit_code == 1
        assert "has not finished" in " ".join(result.output.split())

    def test_unwritable_path(self, demo, monkeypatch, tmp_path):
        result = self.run(
            demo, monkeypatch, str(demo[2]), "--out", str(tmp_path / "missing" / "x.pdf")
        )
        assert result.exit_code == 1
        assert "does not exist" in " ".join(result.output.split())


def where_checked(pdf: bytes, *, against: dict, html: str) -> dict:
    """A check of a rendered PDF that says where it ran and what it was given."""
    policy = os.sched_getscheduler(0) if hasattr(os, "sched_getscheduler") else None
    return {
        "pid": os.getpid(),
        "niceness": os.nice(0),
        "policy": policy,
        "read": (pdf[:5], against, html),
    }


def gave_way_unaided(answer) -> None:
    """A process's target that runs no initializer: has it given way (within 5 s, the
    time its parent has to lower it once started)?"""
    for _ in range(500):
        if hasattr(os, "sched_getscheduler") and hasattr(os, "SCHED_IDLE"):
            given = os.sched_getscheduler(0) == os.SCHED_IDLE
        else:
            given = os.getpriority(os.PRIO_PROCESS, 0) > os.getpriority(
                os.PRIO_PROCESS, os.getppid()
            )
        if given:
            break
        time.sleep(0.01)
    answer.send(given)


class TestWorkerPool:
    def test_renders_in_another_process_and_replaces_a_worker(self, briefing):
        pool = render.RenderPool(workers=1, renders_per_worker=2)
        try:
            first = pool.worker_pid().result(timeout=120)
            assert first != os.getpid()
            pdf = pool.submit(briefing[0], "Briefing").result(timeout=120)
            assert pdf[:5] == b"%PDF-" and page_count(pdf) == page_count(briefing[1])
            # Two tasks done: that worker has been replaced by a new process.
            second = pool.worker_pid().result(timeout=120)
            assert second not in (first, os.getpid())
            refused = pool.submit(
                '<html lang="en"><img src="https://example.org/x.png" alt="x">', "t"
            )
            assert isinstance(refused.exception(timeout=120), render.AssetRefused)
        finally:
            pool.shutdown()

    def test_a_render_is_checked_in_its_worker_which_gives_way_to_the_web(self, briefing):
        pool = render.RenderPool(workers=1)
        try:
            found = pool.submit_checked(
                briefing[0], "Briefing", check=where_checked, against={"n": 1}
            )
            pdf, checked = found.result(timeout=120)
            assert pdf[:5] == b"%PDF-"
            assert checked["pid"] not in (os.getpid(), None)
            assert checked["read"] == (b"%PDF-", {"n": 1}, briefing[0])
            # A render worker runs below the web process's priority: at the idle
            # priority on Linux, else nice (which goes up to 19).
            if hasattr(os, "SCHED_IDLE"):
                assert checked["policy"] == os.SCHED_IDLE
            else:
                assert checked["niceness"] == min(19, os.nice(0) + render.RENDER_NICENESS)
        finally:
            pool.shutdown()

    def test_a_worker_gives_way_from_its_start_not_from_its_initializer(self):
        # A spawned worker first imports its parent's main module (under audit-tools
        # serve, the whole command line: seconds of CPU) and only then runs the pool's
        # initializer; it must not take that CPU from the web process's pages.
        context = render._context()
        here, there = context.Pipe(duplex=False)
        worker = context.Process(target=gave_way_unaided, args=(there,))
        worker.start()
        try:
            assert here.poll(120) and here.recv() is True
        finally:
            worker.join(timeout=30)
        # Its own process's priority is as it was.
        if hasattr(os, "sched_getscheduler"):
            assert os.sched_getscheduler(0) != getattr(os, "SCHED_IDLE", None)

    def test_one_pool_per_process_started_on_first_use(self):
        try:
            pool = render.pool(SETTINGS)
            assert render.pool() is pool
            render.shutdown()
            assert render.pool() is not pool
        finally:
            render.shutdown()

    def test_unknown_kind(self):
        with pytest.raises(ValueError, match="Unknown kind"):
            render.html_for("poster", {})
