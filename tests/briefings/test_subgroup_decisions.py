"""The subgroup report asks for decisions: page 1 is its executive summary and the
decisions asked of the subgroup, drafted from the figures and editable; then the
figures. A version saved before it had those sections shows them as drafted; saving
keeps only the kind's sections; and every date it words reads as still to come when it
is after the report's date."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import select

from app import clock
from app.access import service as access
from app.access.models import Role
from app.audits.models import Audit, AuditStatus
from app.briefings import content, drafting, render, service, workflow
from app.briefings.drafting import (
    AuditSummary,
    BriefingSummary,
    QuestionnaireSummary,
    ReportSummary,
)
from app.briefings.models import BriefingKind, Marking
from app.config import Settings
from app.db import make_sessionmaker, session_scope
from app.demo import MEETING_TITLE
from tests.helpers.access import actor_of
from tests.helpers.factories import make_audit
from tests.helpers.sessions import engine_on

SETTINGS = Settings()
DATED = date(2026, 11, 23)

AUDIT = AuditSummary(
    title="Audit of strategy discussions",
    children=7,
    agencies=5,
    key_areas=5,
    moderating=False,
    finished_at=datetime(2026, 10, 2, 14, tzinfo=UTC),
    meeting_on=date(2026, 10, 1),
    grades=40,
    good=22,
    good_label="Good or better",
    lowered=9,
    raised=2,
    lowered_by_agency=(("Police", 4), ("Health", 3), ("Education", 1), ("Probation", 1)),
    returns=35,
    not_received=(("Police", 2),),
)
REPORT = ReportSummary(
    to="GET SAFE",
    dated=DATED,
    audits=(AUDIT,),
    actions=9,
    proposed=3,
    overdue=3,
    executive=2,
    executive_after_days=28,
    complete=2,
    briefings=(
        BriefingSummary(
            title="7 minute briefing: strategy discussions",
            number=2,
            status="submitted",
            published_on=None,
            downloads=0,
            useful=0,
        ),
    ),
    questionnaires=(
        QuestionnaireSummary(
            title="Assurance: strategy discussions",
            answered=1,
            agencies=4,
            due_on=date(2026, 11, 1),
        ),
    ),
)


def items(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("- ")]


class TestDecisionsDrafted:
    def test_each_decision_is_concrete_with_the_fact_behind_it(self):
        decisions = items(drafting.draft_report(REPORT)["decisions"])
        assert decisions == [
            "Agree the 3 proposed learning actions, or say what should change (listed in the "
            "action tracker).",
            "Decide what to do about the 2 actions more than 28 days overdue, now escalated to "
            "the Executive (listed under overdue actions).",
            "Decide how to bring the overdue action not yet escalated to the Executive back on "
            "track (listed under overdue actions).",
            "Decide whether to chase Police: 2 returns were not received.",
            "Note that the assurance questionnaire has 1 of 4 agencies' answers; decide whether "
            "to extend its deadline and chase the agencies that have not answered. Answers were "
            "due by 1 November 2026.",
            "Approve the learning briefing “7 minute briefing: strategy discussions” for "
            "publication: version 2 awaits approval.",
        ]

    def test_never_an_empty_section(self):
        calm = replace(
            REPORT,
            audits=(replace(AUDIT, not_received=()),),
            proposed=0,
            overdue=0,
            executive=0,
            briefings=(),
            questionnaires=(),
        )
        drafted = drafting.draft_report(calm)
        assert drafted["decisions"] == (
            "No decision is needed from GET SAFE this time: the report is for information."
        )
        assert drafted["commentary"] == ""

    def test_answers_still_to_come_by_a_deadline_still_to_come_ask_nothing_yet(self):
        [q] = REPORT.questionnaires
        waiting = replace(REPORT, questionnaires=(replace(q, due_on=date(2026, 12, 14)),))
        drafted = drafting.draft_report(waiting)
        assert "assurance questionnaire" not in drafted["decisions"]
        assert (
            "Assurance questionnaire: 1 of 4 agencies has answered. Answers are due by "
            "14 December 2026." in drafted["summary"]
        )


class TestSummaryDrafted:
    def test_what_was_audited_found_received_and_where_the_actions_stand(self):
        summary = drafting.draft_report(REPORT)["summary"]
        paragraphs = summary.split("\n\n")
        assert paragraphs == [
            "What was audited: Audit of strategy discussions. 5 agencies audited their own work "
            "with a cohort of 7 children, across 5 key areas. Moderation finished on 2 October "
            "2026.",
            "What moderation found: 22 of the 40 key-area grades moderated (55%) were Good or "
            "better. Agencies graded their own practice higher than moderation did in 9 grades, "
            "most often Police (4), Health (3) and Education (1). Moderation raised 2 grades.",
            "Returns: 33 of the 35 returns expected were received; not received: Police (2).",
            "Learning actions: 9 in all; 3 proposed and waiting to be agreed; 3 overdue, 2 of "
            "them more than 28 days overdue and so escalated to the Executive; 2 complete.",
            "Learning briefing “7 minute briefing: strategy discussions”: version 2 awaits "
            "approval.",
            "Assurance questionnaire: 1 of 4 agencies has answered. Answers were due by "
            "1 November 2026.",
        ]

    def test_counts_agree_with_their_nouns(self):
        one = replace(
            AUDIT,
            children=1,
            agencies=1,
            key_areas=1,
            grades=1,
            good=1,
            lowered=0,
            raised=0,
            lowered_by_agency=(),
            returns=1,
            not_received=(),
        )
        summary = drafting.draft_report(
            replace(REPORT, audits=(one,), actions=1, proposed=1, overdue=1, executive=1)
        )
        assert (
            "1 agency audited its own work with a cohort of 1 child, across 1 key area."
            in (summary["summary"])
        )
        assert (
            "1 of the 1 key-area grade moderated (100%) was Good or better." in (summary["summary"])
        )
        assert "1 overdue, it more than 28 days overdue" in summary["summary"]
        assert "Agree the proposed learning action," in summary["decisions"]
        assert "about the action more than 28 days overdue" in summary["decisions"]
        assert "1 key areas" not in summary["summary"]

    def test_several_audits_are_listed_one_by_one(self):
        other = replace(AUDIT, title="Audit of referrals", moderating=True, finished_at=None)
        summary = drafting.draft_report(replace(REPORT, audits=(AUDIT, other)))["summary"]
        assert "What was audited: 2 audits." in summary
        assert "- Audit of referrals. 5 agencies audited" in summary
        assert "22 of the 40 key-area grades moderated so far (55%)" in summary
        # The returns not received are added up by agency across the audits.
        assert (
            "Returns: 66 of the 70 returns expected were received; not received: Police (4)."
            in (summary)
        )

    @pytest.mark.parametrize(
        "levels, k, said",
        [
            (
                ["Outstanding", "Good", "Requires improvement to be good", "Inadequate"],
                2,
                "Good or better",
            ),
            (["Green", "Amber", "Red"], 1, "Green"),
            (["Yes", "Partly", "No"], 1, "Yes"),
            ([], 1, "graded"),
        ],
    )
    def test_good_or_better_is_the_better_half_of_the_scale(self, levels, k, said):
        assert drafting.good_or_better(levels) == (k, said)


class TestDatesAsAtTheReport:
    def test_an_event_after_the_report_s_date_reads_as_still_to_come(self):
        planned = replace(
            AUDIT, moderating=True, finished_at=None, meeting_on=date(2027, 3, 3), grades=0
        )
        summary = drafting.draft_report(replace(REPORT, audits=(planned,)))["summary"]
        assert "The moderation meeting is planned for 3 March 2027." in summary
        assert "held" not in summary and "finished" not in summary

    def test_a_meeting_held_with_moderation_still_open(self):
        held = replace(AUDIT, moderating=True, finished_at=None, meeting_on=date(2026, 11, 2))
        summary = drafting.draft_report(replace(REPORT, audits=(held,)))["summary"]
        assert "The moderation meeting was held on 2 November 2026; moderation is still open." in (
            summary
        )

    def test_nothing_recorded_after_the_report_s_date_is_stated_as_done(self):
        later = DATED + timedelta(days=1)
        finished_later = replace(
            AUDIT, finished_at=datetime(2026, 11, 24, 10, tzinfo=UTC), meeting_on=later
        )
        published_later = BriefingSummary(
            title="7 minute briefing",
            number=1,
            status="published",
            published_on=later,
            downloads=0,
            useful=0,
        )
        summary = drafting.draft_report(
            replace(REPORT, audits=(finished_later,), briefings=(published_later,))
        )["summary"]
        assert "finished" not in summary
        assert "The moderation meeting is planned for 24 November 2026." in summary
        assert (
            "Learning briefing “7 minute briefing”: not published yet. It is due to be "
            "published on 24 November 2026." in summary
        )

    def test_planned_and_recorded_events_on_the_report_s_own_day(self):
        def say(planned: bool) -> str:
            return drafting.when(
                DATED, DATED, past="was on {date}", future="is on {date}", planned=planned
            )

        # A meeting on the day may not have been held yet; a recorded event has happened.
        assert say(planned=True) == "is on 23 November 2026"
        assert say(planned=False) == "was on 23 November 2026"
        assert (
            drafting.when(
                datetime(2026, 11, 24, 0, 30, tzinfo=UTC), DATED, past="p {date}", future="f {date}"
            )
            == "f 24 November 2026"
        )

    def test_the_briefing_s_moderation_wording_as_at_a_given_day(self):
        audit = SimpleNamespace(
            moderation_meeting_on=date(2026, 12, 1),
            learning_started_at=datetime(2026, 12, 2, 12, tzinfo=UTC),
        )
        # As at a day before both: the meeting is still to come, moderation not finished.
        assert drafting._moderated_when(audit, DATED) == (
            ", and is due to moderate the grades on 1 December 2026"
        )
        assert drafting._moderated_when(audit, date(2026, 12, 5)) == (
            ", and finished moderating the grades on 2 December 2026"
        )
        with time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=UTC), tick=False):
            assert drafting._moderated_when(audit) == (
                ", and is due to moderate the grades on 1 December 2026"
            )


class TestDecisionBlocks:
    def test_numbered_through_dashes_and_numbers_alike(self):
        found = content.decision_blocks(
            "The group is asked to:\n\n1. Agree the actions\n2) Chase Police\n\nThen:\n\n- Note it"
        )
        assert found == [
            {"p": "The group is asked to:"},
            {"ol": ["Agree the actions", "Chase Police"], "start": 1},
            {"p": "Then:"},
            {"ol": ["Note it"], "start": 3},
        ]


# --- the demo's report -------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_database) -> Iterator[tuple]:
    """A copy of the demo partnership: (session factory, the deep dive's id, its day)."""
    with engine_on(demo_database()) as engine:
        factory = make_sessionmaker(engine)
        with session_scope(factory) as session:
            audit_id = session.scalar(select(Audit.id).where(Audit.status == AuditStatus.LEARNING))
        yield factory, audit_id, clock.today()


def report_context(session, audit_id: int, dated: date, **more) -> dict:
    return content.subgroup_report_context(
        session,
        audits=[session.get(Audit, audit_id)],
        subgroup_name=None,
        marking="OFFICIAL-SENSITIVE",
        version_label="Version 1",
        dated=dated,
        today=dated,
        settings=SETTINGS,
        **more,
    )


def text_of(pdf: bytes, *args: str) -> str:
    out = subprocess.run(["pdftotext", *args, "-", "-"], input=pdf, capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


class TestTheDemoReport:
    def test_page_one_asks_for_decisions_and_the_figures_follow(self, demo):
        factory, audit_id, today = demo
        with factory() as session:
            context = report_context(session, audit_id, today)
        pdf = render.render_pdf(
            render.html_for("subgroup-report", context), title="Report", logo_path=None
        )
        page_one = text_of(pdf, "-f", "1", "-l", "1")
        assert "Executive summary" in page_one
        assert "Decisions asked of GET SAFE" in page_one
        assert "What moderation found:" in page_one
        assert "1. Agree the proposed learning action" in page_one
        for figure in ("Results by agency", "Weighted kappa", "AC1", "At a glance"):
            assert figure not in page_one, figure
        text = text_of(pdf)
        order = [
            "Executive summary",
            "Decisions asked of GET SAFE",
            "The figures",
            "Results by agency",
            "What moderation shows",
            "Action tracker",
            "How the learning was disseminated",
        ]
        positions = [text.find(heading) for heading in order]
        assert all(p >= 0 for p in positions) and positions == sorted(positions), positions

    def test_a_version_saved_with_only_its_commentary_shows_the_drafted_text(self, demo):
        factory, audit_id, today = demo
        with factory() as session:
            context = report_context(
                session, audit_id, today, sections={"commentary": "The chair's own note."}
            )
        html = render.html_for("subgroup-report", context)
        drafted = context["drafted"]
        first = drafted["summary"].split("\n\n")[0]
        assert first.startswith("What was audited: ")
        assert first.replace("'", "&#39;") in html
        assert items(drafted["decisions"])[0] in html
        assert "Commentary for the subgroup" in html and "The chair&#39;s own note." in html

    def test_the_author_s_text_replaces_the_drafted(self, demo):
        factory, audit_id, today = demo
        with factory() as session:
            context = report_context(
                session,
                audit_id,
                today,
                sections={
                    "summary": "Our summary.",
                    "decisions": "1. Agree the plan\n2. Chase the returns",
                    "commentary": "",
                },
            )
        html = render.html_for("subgroup-report", context)
        assert "<p>Our summary.</p>" in html and "What was audited" not in html
        assert re.search(
            r'<ol start="1"><li>Agree the plan</li><li>Chase the returns</li></ol>', html
        )
        assert "Commentary for the subgroup" not in html

    def test_the_questionnaire_s_deadline_as_at_the_report_s_date(self, demo):
        factory, audit_id, today = demo
        with factory() as session:
            before = report_context(session, audit_id, today)
            [q] = before["assurance"]
            after = report_context(session, audit_id, q["due_on"] + timedelta(days=1))
        due = f"{q['due_on'].day} {q['due_on']:%B %Y}"
        assert f"Answers are due by {due}." in render.html_for("subgroup-report", before)
        html = render.html_for("subgroup-report", after)
        assert f"Answers were due by {due}." in html
        assert "decide whether to extend its deadline" in html

    def test_titled_by_every_subgroup_its_audits_are_for(self, demo):
        factory, _audit_id, today = demo
        with factory() as session:
            audits = list(
                session.scalars(
                    select(Audit)
                    .where(Audit.status.in_([AuditStatus.LEARNING, AuditStatus.MODERATION]))
                    .where(Audit.title != MEETING_TITLE)
                    .order_by(Audit.id)
                )
            )
            led_by = []
            for a in audits:
                session.refresh(a, ["lead_subgroup"])
                led_by.append(a.lead_subgroup.name if a.lead_subgroup else None)
            context = content.subgroup_report_context(
                session,
                audits=audits,
                subgroup_name=None,
                marking="OFFICIAL",
                version_label="Quarter 3",
                dated=today,
                today=today,
                settings=SETTINGS,
            )
        name = content.report_to(led_by)
        assert context["doc"]["title"] == f"Report to {name}: {len(audits)} audits"
        assert context["decisions"]["heading"] == f"Decisions asked of {name}"
        assert f"What was audited: {len(audits)} audits." in context["drafted"]["summary"]


# --- the workflow -----------------------------------------------------------------------


@pytest.fixture
def author(db):
    return actor_of(
        access.create_user(
            db, email="author@example.org", display_name="Ash Author", roles={Role.MODERATOR}
        )
    )


def moderated_audit(db) -> Audit:
    audit = make_audit(db, children=3, agencies_count=2)
    audit.status = AuditStatus.LEARNING
    db.flush()
    return audit


def create(db, author, kind: BriefingKind):
    return workflow.create(
        db,
        audit=moderated_audit(db),
        kind=kind,
        title="A report" if kind == BriefingKind.SUBGROUP_REPORT else "Learning",
        marking=Marking.OFFICIAL,
        public=False,
        actor=author,
        settings=SETTINGS,
    )


class TestTheWorkflow:
    @pytest.fixture(autouse=True)
    def pinned_clock(self):
        with time_machine.travel(datetime(2026, 11, 23, 12, tzinfo=UTC), tick=True):
            yield

    def test_a_new_report_has_its_summary_and_decisions_drafted(self, db, author):
        version = create(db, author, BriefingKind.SUBGROUP_REPORT)
        assert list(version.sections) == ["summary", "decisions", "commentary"]
        assert list(service.SUBGROUP_SECTIONS) == list(version.sections)
        assert version.sections["summary"].startswith("What was audited: ")
        assert version.sections["decisions"]
        assert version.sections["commentary"] == ""

    def test_saving_keeps_only_the_report_s_sections(self, db, author):
        version = create(db, author, BriefingKind.SUBGROUP_REPORT)
        # As a version saved before the summary and decisions, with a key since dropped.
        version.sections = {"commentary": "Old", "grade_notes": "No longer a section"}
        db.flush()
        saved = workflow.save(
            db,
            version=version,
            sections={"commentary": "New"},
            marking=Marking.OFFICIAL,
            read_lock=version.lock_version,
            actor=author,
        )
        # The summary and decisions stay missing: the document shows them as drafted.
        assert saved.sections == {"commentary": "New"}
        saved = workflow.save(
            db,
            version=saved,
            sections={"summary": "Ours", "decisions": "", "commentary": "New"},
            marking=Marking.OFFICIAL,
            read_lock=saved.lock_version,
            actor=author,
        )
        assert saved.sections == {"summary": "Ours", "decisions": "", "commentary": "New"}

    def test_saving_an_old_briefing_keeps_its_old_sections_text_where_it_shows(self, db, author):
        version = create(db, author, BriefingKind.BRIEFING)
        old = {
            "background": "Why we looked.",
            "looked_at": "What we looked at.",
            "improvement": "What we found.",
            "grade_patterns": "The grades.",
            "good_practice": "Good.",
            "what_to_do": "Do.",
            "reflection": "Reflect.",
        }
        version.sections = old
        db.flush()
        saved = workflow.save(
            db,
            version=version,
            sections={"reflection": "Reflect again."},
            marking=Marking.OFFICIAL,
            read_lock=version.lock_version,
            actor=author,
        )
        assert set(saved.sections) == {s.key for s in drafting.SECTIONS}
        assert saved.sections["background"] == "Why we looked.\n\nWhat we looked at."
        assert saved.sections["improvement"] == "What we found.\n\nThe grades."
        assert saved.sections["reflection"] == "Reflect again."
