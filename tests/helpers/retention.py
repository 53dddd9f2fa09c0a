"""A closed audit holding every kind of case text the retention schedule removes, and
everything it must keep beside it; sign-in records of known ages. Synthetic: the
children are "Child A" and "Child B", the people invented."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.models import KeptPost, SignInAttempt, SignInThrottle, User, WebSession
from app.actions.models import LearningAction
from app.audit_templates.models import AnswerType, GradeLevel, GradingScale, KeyArea, Question
from app.audits.models import Audit, AuditStatus, Child
from app.briefings.models import (
    Briefing,
    BriefingDocument,
    BriefingKind,
    BriefingVersion,
    Marking,
    VersionStatus,
)
from app.db import Base
from app.findings.models import Finding, FindingKind
from app.moderation.models import ChildMeetingNote, ModeratedGrade
from app.returns import versions
from app.returns.models import Answer, Grade, KeyAreaEvidence, Return, ReturnStatus
from tests.helpers.factories import make_audit

# The columns the schedule may change (to its marker, or an empty list), and nothing else.
CASE_TEXT_COLUMNS = {
    ("key_area_evidence", "went_well"),
    ("key_area_evidence", "could_be_better"),
    ("key_area_evidence", "impact_on_child"),
    ("answer", "value"),
    ("audit_return", "amendment_note"),
    ("audit_return", "excluded_reason"),
    ("return_submission", "content"),
    ("moderated_grade", "rationale"),
    ("child_meeting_note", "discussion"),
    ("child_meeting_note", "learning_points"),
    ("child", "context_tags"),
    ("finding", "statement"),
    ("briefing_version", "sections"),
    ("briefing_version", "check_report"),
}


@dataclass
class Case:
    audit: Audit
    expected: dict[str, int]  # the schedule's kind -> values due
    texts: list[str]  # every piece of case text written, to look for afterwards
    published_version_id: int
    kept_finding_id: int


def make_closed_audit(session: Session, *, closed_at: datetime) -> Case:
    """A closed audit of 2 children x 2 agencies (4 returns, 2 key areas each)."""
    audit = make_audit(session, children=2, agencies_count=2)
    texts: list[str] = []

    def said(text: str) -> str:
        texts.append(text)
        return text

    key_areas = list(
        session.scalars(
            select(KeyArea)
            .where(KeyArea.template_version_id == audit.template_version_id)
            .order_by(KeyArea.position)
        )
    )
    questions = {
        ka.id: list(
            session.scalars(
                select(Question).where(Question.key_area_id == ka.id).order_by(Question.position)
            )
        )
        for ka in key_areas
    }
    levels = {
        level.code: level
        for level in session.scalars(
            select(GradeLevel)
            .join(GradingScale, GradingScale.id == GradeLevel.scale_id)
            .where(GradingScale.template_version_id == audit.template_version_id)
        )
    }
    children = list(session.scalars(select(Child).where(Child.audit_id == audit.id)))
    child_a = next(c for c in children if c.pseudonym == "Child A")
    child_b = next(c for c in children if c.pseudonym == "Child B")
    child_a.context_tags = ["looked after", "SEND"]
    child_b.context_tags = []

    returns = list(session.scalars(select(Return).where(Return.audit_id == audit.id)))
    for n, return_ in enumerate(returns):
        return_.status = ReturnStatus.MODERATED
        return_.auditor_name = "Auditor One"
        return_.overall_grade_id = levels["G"].id
        for ka in key_areas:
            for question in questions[ka.id]:
                value = {
                    AnswerType.YES_PARTLY_NO: "yes",
                    AnswerType.DATE: "2026-03-31",
                    AnswerType.FREE_TEXT: said(f"Child {n} said she felt safe at school ({ka.id})"),
                }[question.answer_type]
                session.add(Answer(return_id=return_.id, question_id=question.id, value=value))
            session.add(
                KeyAreaEvidence(
                    return_id=return_.id,
                    key_area_id=ka.id,
                    went_well=said(f"The referral was made the same day ({n}, {ka.id})"),
                    could_be_better=said(f"The strategy minutes omit the mother ({n}, {ka.id})"),
                    impact_on_child="",  # empty: nothing to remove, and not counted
                )
            )
            session.add(Grade(return_id=return_.id, key_area_id=ka.id, level_id=levels["RI"].id))
    returns[0].amendment_note = said("Please add the date of the strategy discussion")
    returns[1].excluded_reason = said("The agency's records were held by another authority")
    session.flush()
    for return_ in returns:
        versions.record(session, return_=return_, submitted_by="Auditor One")

    first_area = key_areas[0]
    for return_ in returns:
        for ka, rationale in ((first_area, True), (key_areas[1], False)):
            session.add(
                ModeratedGrade(
                    audit_id=audit.id,
                    return_id=return_.id,
                    key_area_id=ka.id,
                    cell=ka.id,
                    self_level_id=levels["RI"].id,
                    level_id=levels["I"].id if rationale else levels["RI"].id,
                    rationale=said(f"No record of the child's view ({return_.id})")
                    if rationale
                    else "",
                    decided_by_label="Moderator One",
                    shift=1 if rationale else 0,
                )
            )
    # A decision superseded by a later one keeps its rationale until now too.
    session.add(
        ModeratedGrade(
            audit_id=audit.id,
            return_id=returns[0].id,
            key_area_id=None,
            cell=0,
            self_level_id=levels["G"].id,
            level_id=levels["RI"].id,
            rationale=said("First view: the plan was not shared with the school"),
            decided_by_label="Moderator One",
            superseded_at=closed_at - timedelta(days=60),
            shift=1,
        )
    )
    session.add(
        ChildMeetingNote(
            audit_id=audit.id,
            child_id=child_a.id,
            discussion=said("Child A's school was not invited to the strategy discussion"),
            learning_points=said("Invite education to every strategy discussion"),
            attendees="Moderator One, Auditor One",
        )
    )
    session.add(
        ChildMeetingNote(
            audit_id=audit.id,
            child_id=child_b.id,
            discussion=said("Child B's voice is recorded throughout"),
            learning_points="",
            attendees="Moderator One",
        )
    )
    session.add(
        Finding(
            audit_id=audit.id,
            kind=FindingKind.AREA_FOR_IMPROVEMENT,
            statement=said("Child A waited three weeks for an assessment"),
            child_id=child_a.id,
        )
    )
    kept_finding = Finding(
        audit_id=audit.id,
        kind=FindingKind.GOOD_PRACTICE,
        statement="Agencies shared information promptly at the front door",
    )
    session.add(kept_finding)
    session.add(
        LearningAction(
            audit_id=audit.id,
            title="Invite education to strategy discussions",
            description="Update the strategy discussion procedure",
            owning_agency_id=returns[0].agency_id,
            owner_name="Lead One",
            due_on=date(2027, 1, 31),
            evidence_of_completion="Procedure reissued in January",
        )
    )

    briefing = Briefing(
        audit_id=audit.id, kind=BriefingKind.BRIEFING, title="Strategy discussions", public=True
    )
    session.add(briefing)
    session.flush()
    pdf = b"%PDF-1.7 synthetic briefing"
    published = BriefingVersion(
        briefing_id=briefing.id,
        number=1,
        status=VersionStatus.PUBLISHED,
        marking=Marking.OFFICIAL,
        sections={"background": "Seven children's experience of strategy discussions"},
        check_report=[],
        published_at=closed_at - timedelta(days=30),
        published_on=(closed_at - timedelta(days=30)).date(),
    )
    draft = BriefingVersion(
        briefing_id=briefing.id,
        number=2,
        status=VersionStatus.DRAFT,
        marking=Marking.OFFICIAL,
        sections={
            "background": said("Child A's school was not invited"),
            "found": said("Strategy discussions left schools out"),
            "questions": "",
        },
        check_report=[
            {
                "kind": "name",
                "where": "background, line 1",
                "excerpt": said("»Child A's« school"),
                "message": "Looks like a pseudonym with case detail",
                "blocking": False,
                "table": None,
            }
        ],
    )
    session.add_all([published, draft])
    session.flush()
    session.add(
        BriefingDocument(
            version_id=published.id,
            pdf=pdf,
            sha256=hashlib.sha256(pdf).hexdigest(),
            size=len(pdf),
        )
    )

    audit.status = AuditStatus.CLOSED
    audit.closed_at = closed_at
    session.flush()
    expected = {
        "return_evidence": 16,  # 4 returns x 2 key areas x 2 boxes with text
        "return_answers": 8,  # 4 returns x 2 key areas, one free-text question each
        "return_notes": 2,
        "return_versions": 24,  # 4 submissions x (2 answers + 4 boxes)
        "moderation_rationales": 5,  # 4 changed grades and the superseded decision
        "meeting_notes": 3,
        "context_tags": 1,  # Child A's list (Child B has none)
        "child_findings": 1,
        "briefing_drafts": 3,  # two sections with text and the check report's one row
    }
    return Case(
        audit=audit,
        expected=expected,
        texts=texts,
        published_version_id=published.id,
        kept_finding_id=kept_finding.id,
    )


def make_sign_in_records(session: Session, *, now: datetime, days: int) -> dict[str, int]:
    """Of each kind of sign-in record, one just past ``days`` old and one just inside
    (and a live session); returns how many of each kind are due at ``now``."""
    user = User(email=f"someone.{secrets.token_hex(4)}@example.org", display_name="Someone")
    session.add(user)
    session.flush()
    old, recent = now - timedelta(days=days, minutes=1), now - timedelta(days=days - 1)

    def web(**times) -> WebSession:
        return WebSession(token_hash=secrets.token_hex(32), user_id=user.id, **times)

    session.add_all(
        [
            # Signed out long ago; timed out long ago (never marked ended); still live.
            web(
                created_at=old - timedelta(hours=1),
                last_seen_at=old - timedelta(hours=1),
                expires_at=old + timedelta(hours=7),
                ended_at=old,
                end_reason="signed out",
            ),
            web(created_at=old - timedelta(hours=8), last_seen_at=old, expires_at=old),
            web(
                created_at=recent,
                last_seen_at=recent,
                expires_at=recent + timedelta(hours=8),
                ended_at=recent,
                end_reason="signed out",
            ),
            web(created_at=now, last_seen_at=now, expires_at=now + timedelta(hours=8)),
            SignInThrottle(
                account="someone@example.org",
                client_address="192.0.2.1",  # an address reserved for documentation
                failures=2,
                window_started_at=old,
            ),
            SignInThrottle(
                account="someone@example.org",
                client_address="192.0.2.2",
                failures=5,
                window_started_at=old - timedelta(minutes=30),
                locked_until=recent,  # locked until inside the period: kept
            ),
            SignInAttempt(client_address="192.0.2.1", attempted_at=old),
            SignInAttempt(client_address="192.0.2.1", attempted_at=recent),
            KeptPost(user_id=user.id, path="/x", fields=[], created_at=now - timedelta(hours=25)),
            KeptPost(user_id=user.id, path="/y", fields=[], created_at=now - timedelta(hours=23)),
        ]
    )
    session.flush()
    return {"web_sessions": 2, "sign_in_throttle": 1, "sign_in_attempts": 1, "kept_posts": 1}


def dump(session: Session) -> dict[str, dict[tuple, dict]]:
    """Every row of every table, by primary key: to compare before and after."""
    session.flush()
    out: dict[str, dict[tuple, dict]] = {}
    for table in Base.metadata.sorted_tables:
        key = [c.name for c in table.primary_key.columns]
        rows = session.execute(select(table)).mappings().all()
        out[table.name] = {tuple(row[k] for k in key): dict(row) for row in rows}
    return out


def changed_cells(before: dict, after: dict) -> dict[tuple[str, str], int]:
    """(table, column) -> how many rows' values differ, for rows in both."""
    found: dict[tuple[str, str], int] = {}
    for table, rows in before.items():
        for key, row in rows.items():
            new = after[table].get(key)
            if new is None:
                continue
            for column, value in row.items():
                if new[column] != value:
                    found[(table, column)] = found.get((table, column), 0) + 1
    return found
