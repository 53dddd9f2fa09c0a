"""The trends tests' partnership, built once for the package through the services and
rolled back at the end: every figure in the tests is worked out by hand from it.

Two agencies, Police and Health; a template whose key areas are "Voice of the child"
then "Assessment", on the Ofsted scale (O, G, RI, I). Two audits on the theme "Voice of
the child", two children each, every agency with every child:

- "Voice audit 2025" (lead: the quality assurance subgroup), moderation started
  10 June 2025, finished (in learning, so counted in the tally). Police graded G
  everywhere, Health RI. Moderators lowered Police's "Assessment" to RI for both
  children, raised Health's "Voice of the child" to G for Child A, kept the rest.
- "Voice audit 2026" (lead: the GET SAFE subgroup), moderation started 15 June 2026,
  still in moderation (counted live). Police graded "Voice of the child" O and
  "Assessment" G; Health G everywhere. Moderators lowered Health's "Assessment" to RI
  for Child A and to I for Child B, kept the rest.

Overall grades were all kept. Findings: in 2025, "Information sharing" (about no
agency) and "Voice of the child" + "Information sharing" (Police, about "Voice of the
child"); in 2026, "Voice of the child" (Health, about "Assessment"). Learning actions
(due; completed, by the status history): Police's due 30 Sep 2025 done 20 Sep 2025;
Health's due 31 Oct 2025 done 15 Nov 2025; Police's due 31 Aug 2026 still in progress;
Health's due 31 May 2026 done 20 May 2026, impact evidenced 1 July 2026; Police's due
31 Jan 2027, agreed. The 2025 audit's briefing: downloads in December 2025 (Police 3,
Health 1, one reader not signed in) and January 2026 (Police 2); "was this useful?" yes
(Police, 6 Dec 2025), no (not signed in, 7 Dec 2025), yes (Health, 1 June 2026); its
assurance questionnaire sent 1 February 2026, answered by Police, not Health.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.models import Role
from app.access.policy import SYSTEM, Actor
from app.actions import service as actions
from app.actions.models import ActionStatus, ActionStatusChange, action_finding
from app.agencies import service as agencies
from app.agencies.models import AgencyKind
from app.audit_templates import service as templates
from app.audit_templates.schemas import TemplateContent
from app.audits import cohort, lifecycle
from app.audits import service as audits
from app.briefings.models import (
    Briefing,
    BriefingDownload,
    BriefingFeedback,
    BriefingKind,
    BriefingVersion,
    Marking,
    VersionStatus,
)
from app.findings import service as findings
from app.findings.models import FindingKind, Theme
from app.moderation import lifecycle as moderation_lifecycle
from app.moderation import service as moderation
from app.returns import service as returns
from app.returns.models import Return, ReturnStatus
from app.returns.schemas import AnswerIn, GradeIn
from tests.helpers.factories import make_agency, template_content
from tests.helpers.sessions import rolled_back, rolled_back_session
from tests.moderation.test_moderation import complete

TODAY = date(2026, 11, 23)
VOICE, ASSESSMENT = "Voice of the child", "Assessment"


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 10, tzinfo=UTC)


@dataclass(frozen=True)
class Built:
    police: int
    health: int
    quality: int  # the 2025 audit's lead subgroup
    get_safe: int  # the 2026 audit's
    family: int  # the template family
    earlier: int
    latest: int


def _audit(
    db: Session, version, title: str, subgroup, agency_ids: list[int], children=2, theme=VOICE
):
    audit = audits.create_audit(
        db,
        template_version_id=version.id,
        title=title,
        theme=theme,
        lead_subgroup_id=subgroup,
        returns_due_on=date.today() + timedelta(days=14),
        agency_ids=agency_ids,
    )
    for i in range(children):
        cohort.add_child(db, audit=audit, pseudonym=f"Child {chr(65 + i)}", agency_ids=agency_ids)
    lifecycle.open_audit(db, audit=audit, confirm=True)
    db.flush()
    return audits.get_audit(db, audit_id=audit.id, actor=SYSTEM, options=audits.WITH_AGENCIES)


def _graded(db: Session, audit, version, own, moderated, started: datetime, finish: bool):
    """Every return submitted with ``own(agency_id, area)`` (area None: overall), then
    moderated to ``moderated(agency_id, child_index, area, own)``."""
    shape = {
        "key_areas": [
            {"id": k.id, "questions": [{"id": q.id} for q in k.questions]}
            for k in version.key_areas
        ]
    }
    areas = {k.id: k.title for k in version.key_areas}
    for r in db.scalars(select(Return).where(Return.audit_id == audit.id).order_by(Return.id)):
        body = complete(shape, 1)
        returns.save_draft(
            db,
            return_=r,
            read_version=r.version,
            answers=[AnswerIn(**a) for a in body["answers"]],
            grades=[GradeIn(key_area_id=k, level=own(r.agency_id, t)) for k, t in areas.items()],
            evidence=[],
            overall_grade=(True, own(r.agency_id, None)),
        )
        db.refresh(r)
        returns.submit(db, return_=r, read_version=r.version)
    moderation_lifecycle.open_moderation(db, audit=audit)
    audit.moderation_started_at = started
    db.flush()
    grid = moderation.grid(db, actor=SYSTEM, audit=audit)
    first = min(c.id for c in grid.children)
    for (child_id, agency_id, cell), found in sorted(grid.cells.items()):
        area = areas.get(cell)
        given = own(agency_id, area)
        level = moderated(agency_id, child_id == first, area, given)
        moderation.decide(
            db,
            audit=grid.audit,
            return_=grid.returns[found.return_id],
            cell=cell,
            level_code=level,
            rationale="" if level == given else "The record did not show it.",
            actor=SYSTEM,
        )
    if finish:
        moderation_lifecycle.finish(db, actor=SYSTEM, audit=audit)


def _theme(db: Session, name: str) -> int:
    found = db.scalar(select(Theme.id).where(Theme.name == name))
    return found if found is not None else findings.create_theme(db, name=name).id


def _action(db: Session, audit, agency: int, due: date, steps: list[tuple[str, date]]) -> int:
    action = actions.create_action(
        db,
        actor=SYSTEM,
        audit=audit,
        title="Record the child's words at every strategy discussion",
        owning_agency_id=agency,
        owner_name="Head of Safeguarding",
        due_on=due,
        success_measure="A dip sample of strategy minutes shows the child's words.",
    )
    for status, day in steps:
        extra = (
            {"evidence": "Seen in a dip sample."}
            if status in ("completed", "impact_evidenced")
            else {}
        )
        actions.change_status(db, actor=SYSTEM, action=action, to=ActionStatus(status), **extra)
        db.flush()
        step = db.scalar(
            select(ActionStatusChange)
            .where(ActionStatusChange.action_id == action.id)
            .order_by(ActionStatusChange.id.desc())
            .limit(1)
        )
        step.changed_at = at(day.year, day.month, day.day)
    return action.id


def build(db: Session) -> Built:
    content = template_content(name="Trends test template")
    content["key_areas"][0]["title"] = VOICE
    content["key_areas"][1]["title"] = ASSESSMENT
    version = templates.create_draft(db, content=TemplateContent.model_validate(content))
    templates.publish(db, version=version)
    version = templates.get_version(db, version_id=version.id)
    police = make_agency(db, name="Police", kind=AgencyKind.POLICE).id
    health = make_agency(db, name="Health", kind=AgencyKind.COMMUNITY_HEALTH).id
    quality = agencies.create_subgroup(db, name="Quality assurance subgroup").id
    get_safe = agencies.create_subgroup(db, name="GET SAFE subgroup").id
    both = [police, health]

    earlier = _audit(db, version, "Voice audit 2025", quality, both)
    _graded(
        db,
        earlier,
        version,
        own=lambda agency, area: "G" if agency == police else "RI",
        moderated=lambda agency, first, area, own: (
            "RI"
            if agency == police and area == ASSESSMENT
            else "G"
            if agency == health and first and area == VOICE
            else own
        ),
        started=at(2025, 6, 10),
        finish=False,
    )
    latest = _audit(db, version, "Voice audit 2026", get_safe, both)
    _graded(
        db,
        latest,
        version,
        own=lambda agency, area: "O" if agency == police and area == VOICE else "G",
        moderated=lambda agency, first, area, own: (
            ("RI" if first else "I") if agency == health and area == ASSESSMENT else own
        ),
        started=at(2026, 6, 15),
        finish=False,
    )

    areas = {k.title: k.id for k in version.key_areas}
    sharing, voice = _theme(db, "Information sharing"), _theme(db, "Voice of the child")
    f1 = findings.create_finding(
        db,
        actor=SYSTEM,
        audit=earlier,
        kind=FindingKind.AREA_FOR_IMPROVEMENT,
        statement="Agencies did not share what they knew before the strategy discussion.",
        theme_ids=[sharing],
    )
    f2 = findings.create_finding(
        db,
        actor=SYSTEM,
        audit=earlier,
        kind=FindingKind.GOOD_PRACTICE,
        statement="Officers recorded what the child said, in the child's words.",
        theme_ids=[voice, sharing],
        agency_id=police,
        key_area_id=areas[VOICE],
    )
    f3 = findings.create_finding(
        db,
        actor=SYSTEM,
        audit=latest,
        kind=FindingKind.AREA_FOR_IMPROVEMENT,
        statement="Assessments did not say how the child's views were weighed.",
        theme_ids=[voice],
        agency_id=health,
        key_area_id=areas[ASSESSMENT],
    )
    done = [("agreed", date(2025, 7, 1)), ("in_progress", date(2025, 7, 2))]
    x1 = _action(db, earlier, police, date(2025, 9, 30), [*done, ("completed", date(2025, 9, 20))])
    x2 = _action(
        db, earlier, health, date(2025, 10, 31), [*done, ("completed", date(2025, 11, 15))]
    )
    x3 = _action(db, latest, police, date(2026, 8, 31), done)
    _action(
        db,
        latest,
        health,
        date(2026, 5, 31),
        [*done, ("completed", date(2026, 5, 20)), ("impact_evidenced", date(2026, 7, 1))],
    )
    _action(db, latest, police, date(2027, 1, 31), done[:1])
    # Each action answers a finding: the key area filter reaches actions through them.
    for action_id, finding in ((x1, f2), (x2, f1), (x3, f3)):
        db.execute(action_finding.insert().values(action_id=action_id, finding_id=finding.id))

    moderation_lifecycle.finish(db, actor=SYSTEM, audit=earlier)
    _briefing(db, earlier, police, health, version)
    db.flush()
    return Built(police, health, quality, get_safe, version.family_id, earlier.id, latest.id)


def _briefing(db: Session, audit, police: int, health: int, version) -> None:
    briefing = Briefing(audit_id=audit.id, kind=BriefingKind.BRIEFING, title="Voice briefing")
    db.add(briefing)
    db.flush()
    published = BriefingVersion(
        briefing_id=briefing.id,
        number=1,
        status=VersionStatus.PUBLISHED,
        marking=Marking.OFFICIAL,
        sections={},
        published_at=at(2025, 12, 1),
    )
    db.add(published)
    db.flush()
    downloads = [
        *[(at(2025, 12, 5), police)] * 3,
        (at(2025, 12, 5), health),
        (at(2025, 12, 6), None),
        *[(at(2026, 1, 10), police)] * 2,
    ]
    for when, agency in downloads:
        db.add(
            BriefingDownload(
                briefing_id=briefing.id,
                version_id=published.id,
                agency_id=agency,
                signed_in=agency is not None,
                at=when,
            )
        )
    for when, useful, agency in (
        (at(2025, 12, 6), True, police),
        (at(2025, 12, 7), False, None),
        (at(2026, 6, 1), True, health),
    ):
        db.add(
            BriefingFeedback(
                briefing_id=briefing.id,
                version_id=published.id,
                useful=useful,
                agency_id=agency,
                signed_in=agency is not None,
                at=when,
            )
        )
    questionnaire = _audit(
        db, version, "Learning assurance: Voice briefing", None, [police, health], 1, theme=""
    )
    questionnaire.opened_at = at(2026, 2, 1)
    answered = db.scalar(
        select(Return).where(Return.audit_id == questionnaire.id, Return.agency_id == police)
    )
    answered.status = ReturnStatus.SUBMITTED
    briefing.assurance_audit_id = questionnaire.id


@pytest.fixture(scope="package")
def built(engine) -> Iterator[tuple]:
    """The partnership, once for the package: (the connection, the ids)."""
    with rolled_back(engine) as connection, rolled_back_session(connection) as session:
        made = build(session)
        session.commit()
        yield connection, made


@pytest.fixture
def db(built) -> Iterator[Session]:
    """Each test's writes rolled back after it; the partnership kept."""
    with rolled_back_session(built[0]) as session:
        yield session


@pytest.fixture
def ids(built) -> Built:
    return built[1]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr("app.clock.today", lambda: TODAY)


def lead_of(agency_id: int) -> Actor:
    """An agency lead of the agency (for the small-count rule and need to know)."""
    return Actor(
        user_id=None, label="lead", roles=frozenset({Role.AGENCY_LEAD}), agency_id=agency_id
    )
