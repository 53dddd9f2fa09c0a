"""Findings and learning actions for the demo's audit: invented, but written the way a
QAPP moderation meeting records them, with actions in every part of the lifecycle
(one long overdue, one due soon, one completed with evidence, one not accepted).

Made through the services, as the demo moderator and (for their agency's progress)
the demo agency lead when those accounts exist, so the history reads as it would.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.access.models import User
from app.access.policy import SYSTEM, Actor, Via
from app.actions import service
from app.actions.models import ActionStatus, LearningAction
from app.agencies.models import Agency, AgencyKind
from app.audit_templates.models import KeyArea
from app.audits import cohort
from app.audits import service as audits
from app.audits.models import Audit
from app.context import RequestContext, bound
from app.findings import service as findings
from app.findings.models import FindingKind

S = ActionStatus


class _Step(TypedDict, total=False):
    """What a demo step passes to ``service.change_status`` besides the status."""

    note: str
    evidence: str
    reason: str


AFI, GOOD = FindingKind.AREA_FOR_IMPROVEMENT, FindingKind.GOOD_PRACTICE

# (kind, statement, themes, key area title, agency kind, about the n-th child or None)
FindingRow = tuple[FindingKind, str, list[str], str, AgencyKind | None, int | None]
FINDINGS: list[FindingRow] = [
    (
        AFI,
        "Strategy discussion minutes rarely recorded the child's own views or who had "
        "spoken with them, so decisions were made without the child's voice.",
        ["Voice of the child", "Strategy discussion", "Recording"],
        "Strategy discussion",
        None,
        None,
    ),
    (
        AFI,
        "Health colleagues were not invited to three of the seven strategy discussions, "
        "so known health concerns were missing from the decision to hold a section 47 enquiry.",
        ["Information sharing", "Strategy discussion"],
        "Strategy discussion",
        AgencyKind.ACUTE_HEALTH,
        None,
    ),
    (
        AFI,
        "Consent to share information with the GP practice was neither sought nor its "
        "absence explained, delaying the health chronology.",
        ["Consent and capacity", "Information sharing"],
        "Referral",
        AgencyKind.SOCIAL_CARE,
        1,
    ),
    (
        AFI,
        "Interim safety plans listed actions without an owner or a date, so drift between "
        "the strategy discussion and conference went unnoticed.",
        ["SMART planning", "Management oversight and supervision"],
        "Interim safety plan",
        AgencyKind.SOCIAL_CARE,
        None,
    ),
    (
        GOOD,
        "Schools' referrals described the child's lived experience in the child's own words "
        "and were made on the day the concern arose.",
        ["Voice of the child"],
        "Referral",
        AgencyKind.EDUCATION,
        None,
    ),
    (
        GOOD,
        "Police shared intelligence promptly and attended every strategy discussion.",
        ["Information sharing"],
        "Strategy discussion",
        AgencyKind.POLICE,
        None,
    ),
]


def _findings(session: Session, audit: Audit, moderator: Actor, rows: list[FindingRow]) -> list:
    """The findings ``rows`` describe, recorded on ``audit`` by the moderator: each on
    its key area and about its agency (and child) where it names one."""
    agencies = list(audit.agencies)
    key_areas = {
        k.title: k.id
        for k in session.scalars(
            select(KeyArea).where(KeyArea.template_version_id == audit.template_version_id)
        )
    }
    children = [c.id for c in cohort.list_children(session, audit=audit)]
    themes = {t.name: t.id for t in findings.list_themes(session, active=True)}
    with as_(moderator):
        return [
            findings.create_finding(
                session,
                actor=moderator,
                audit=audit,
                kind=kind,
                statement=statement,
                theme_ids=[themes[n] for n in names if n in themes],
                key_area_id=key_areas.get(area),
                agency_id=_agency(agencies, agency_kind, i).id if agency_kind else None,
                child_id=children[child % len(children)]
                if child is not None and children
                else None,
            )
            for i, (kind, statement, names, area, agency_kind, child) in enumerate(rows)
        ]


def _agency(agencies: list[Agency], kind: AgencyKind | None, fallback: int) -> Agency:
    return next((a for a in agencies if a.kind == kind), agencies[fallback % len(agencies)])


def as_(actor: Actor):
    """Work done as ``actor``: the audit log and the action's history name them."""
    return bound(RequestContext(actor=actor))


def _actor(session: Session, email: str) -> Actor | None:
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        return None
    return Actor(
        user_id=user.id, label=user.email, roles=user.roles, agency_id=user.agency_id, via=Via.CLI
    )


def load_demo_actions(session: Session, audit: Audit, today: date) -> list[LearningAction]:
    """Add the demo findings and learning actions to ``audit`` (which must be open, in
    moderation or in learning), dated around ``today``."""
    audit = audits.get_audit(session, audit_id=audit.id, actor=SYSTEM)
    agencies = list(audit.agencies)
    moderator = _actor(session, "moderator@example.org") or SYSTEM
    lead = _actor(session, "lead.socialcare@example.org")
    made = _findings(session, audit, moderator, FINDINGS)
    voice, health, consent, planning = (f.id for f in made[:4])
    social_care = _agency(agencies, AgencyKind.SOCIAL_CARE, 0)
    acute = _agency(agencies, AgencyKind.ACUTE_HEALTH, 2)
    community = _agency(agencies, AgencyKind.COMMUNITY_HEALTH, 3)
    police = _agency(agencies, AgencyKind.POLICE, 1)
    schools = _agency(agencies, AgencyKind.EDUCATION, 4)

    # (title, success measure, owning agency, owner, due in days, findings, the path)
    plans: list[tuple[str, str, Agency, str, int, list[int], list[tuple[ActionStatus, _Step]]]] = [
        (
            "Add a 'voice of the child' section to the strategy discussion minutes template",
            "A dip sample of 10 strategy minutes in the next quarter shows the child's views "
            "recorded in at least 9.",
            social_care,
            "Head of Service, Front Door",
            -35,
            [voice],
            [(S.AGREED, {}), (S.IN_PROGRESS, {"note": "Template redrafted; awaiting sign-off."})],
        ),
        (
            "Invite the hospital safeguarding team to every strategy discussion",
            "Health attends or sends information to 95% of strategy discussions over three months.",
            acute,
            "Named Nurse for Safeguarding Children",
            7,
            [health],
            [(S.AGREED, {"note": "Agreed at the QAPP moderation meeting."})],
        ),
        (
            "Reissue the consent and information-sharing guidance to front door staff",
            "All front door staff confirm they have read it; a re-audit finds consent recorded "
            "or its absence explained in every referral.",
            social_care,
            "Principal Social Worker",
            -10,
            [consent],
            [
                (S.AGREED, {}),
                (S.IN_PROGRESS, {}),
                (
                    S.COMPLETED,
                    {
                        "evidence": "Guidance reissued on the intranet and briefed at all four "
                        "front door team meetings; 38 of 40 staff have confirmed reading it.",
                        "note": "Two staff on long-term leave will be briefed on return.",
                    },
                ),
            ],
        ),
        (
            "Introduce SMART action templates for interim safety plans",
            "Every interim safety plan sampled names an owner and a date for each action.",
            social_care,
            "Team Manager, Safeguarding",
            45,
            [planning],
            [(S.AGREED, {}), (S.IN_PROGRESS, {})],
        ),
        (
            "Hold a joint police and social care workshop on strategy discussion thresholds",
            "Workshop evaluation; fewer strategy discussions held without police present.",
            police,
            "Detective Inspector, Public Protection",
            30,
            [health],
            [
                (
                    S.NOT_ACCEPTED,
                    {
                        "reason": "Police already attend every strategy discussion (see the "
                        "good practice finding); the gap is health attendance, covered by "
                        "the hospital's action."
                    },
                )
            ],
        ),
        (
            "Share the schools' referral practice as an example in the next learning briefing",
            "The briefing is published and downloaded by practitioners in every agency.",
            schools,
            "Designated Safeguarding Lead network chair",
            60,
            [made[4].id],
            [],
        ),
        (
            "Add health visitors' chronology to the front door information request",
            "Health chronologies arrive within 3 working days in 9 of 10 cases audited.",
            community,
            "Safeguarding Lead, Health Visiting",
            -5,
            [health, consent],
            [(S.AGREED, {})],
        ),
    ]
    return [
        _action(
            session,
            audit,
            moderator,
            lead,
            today,
            (title, measure, agency, owner, days, linked),
            steps=[(to, extra, 0) for to, extra in path],
        )
        for title, measure, agency, owner, days, linked, path in plans
    ]


Step = tuple[ActionStatus, _Step, int]  # the status, what goes with it, days after made
# (title, success measure, owning agency, owner, due in days, findings)
Plan = tuple[str, str, Agency, str, int, list[int]]


def _action(
    session: Session,
    audit: Audit,
    moderator: Actor,
    lead: Actor | None,
    today: date,
    plan: Plan,
    *,
    steps: list[Step],
) -> LearningAction:
    """One action, due ``days`` after ``today``, taken along its steps, each ``n`` days
    after it was made (by the clock: app.clock.back_by), by the agency's lead where it
    is their agency's progress, otherwise by the moderator."""
    title, measure, agency, owner, days, linked = plan
    with as_(moderator):
        action = service.create_action(
            session,
            actor=moderator,
            audit=audit,
            title=title,
            owning_agency_id=agency.id,
            owner_name=owner,
            due_on=today + timedelta(days=days),
            success_measure=measure,
            finding_ids=linked,
        )
    for to, extra, after in steps:
        progress = to in (S.IN_PROGRESS, S.COMPLETED, S.IMPACT_EVIDENCED)
        who = lead if progress and lead and lead.agency_id == agency.id else moderator
        with as_(who), clock.later_by(after):
            action = service.change_status(session, actor=who, action=action, to=to, **extra)
    return action


# Last year's exploitation audit: what it found, and actions that were all seen through
# (most on time, one late, two with their impact evidenced).
LAST_YEAR_FINDINGS: list[FindingRow] = [
    (
        AFI,
        "Return home interviews were offered in fewer than half of missing episodes, and "
        "what young people said in them was not shared with the police.",
        ["Voice of the child", "Information sharing"],
        "Missing episodes and return home interviews",
        AgencyKind.SOCIAL_CARE,
        None,
    ),
    (
        AFI,
        "Strategy discussions about exploitation were held without health, so known "
        "sexual health contacts were missed.",
        ["Strategy discussion", "Information sharing"],
        "Strategy discussions and section 47 enquiries",
        AgencyKind.COMMUNITY_HEALTH,
        None,
    ),
    (
        AFI,
        "Plans did not say who would disrupt the places and people young people were "
        "exploited by, so disruption depended on one officer.",
        ["SMART planning", "Risk assessment"],
        "Contextual safeguarding and disruption",
        AgencyKind.POLICE,
        None,
    ),
    (
        GOOD,
        "Youth justice workers knew the young people well and recorded their own words.",
        ["Voice of the child"],
        "Multi-agency planning and the child's voice",
        AgencyKind.YOUTH_JUSTICE,
        None,
    ),
]


def load_last_year_actions(session: Session, audit: Audit, then: date) -> list[LearningAction]:
    """Last year's findings and actions for ``audit``, made on ``then`` (the clock
    already put back to it): every action done, most on time, one late, two with
    their impact evidenced months later."""
    audit = audits.get_audit(session, audit_id=audit.id, actor=SYSTEM)
    agencies = list(audit.agencies)
    moderator = _actor(session, "moderator@example.org") or SYSTEM
    lead = _actor(session, "lead.socialcare@example.org")
    made = _findings(session, audit, moderator, LAST_YEAR_FINDINGS)
    interviews, health, disruption = (f.id for f in made[:3])
    social_care = _agency(agencies, AgencyKind.SOCIAL_CARE, 0)
    police = _agency(agencies, AgencyKind.POLICE, 1)
    community = _agency(agencies, AgencyKind.COMMUNITY_HEALTH, 2)
    done: _Step = {
        "evidence": "Done as planned; the evidence is on the subgroup's shared drive.",
        "note": "Reported to the subgroup.",
    }
    impact: _Step = {
        "evidence": "A dip sample six months on found the change in most records sampled.",
    }
    plans: list[tuple[str, str, Agency, str, int, list[int], list[Step]]] = [
        (
            "Offer a return home interview after every missing episode and share it with police",
            "Nine in ten missing episodes have an interview offered within 72 hours.",
            social_care,
            "Head of Service, Adolescents",
            90,
            [interviews],
            [(S.AGREED, {}, 1), (S.IN_PROGRESS, {}, 20), (S.COMPLETED, done, 80)],
        ),
        (
            "Invite the sexual health service to exploitation strategy discussions",
            "Health attends or sends information to nine in ten exploitation strategy discussions.",
            community,
            "Named Nurse for Safeguarding Children",
            60,
            [health],
            [
                (S.AGREED, {}, 1),
                (S.IN_PROGRESS, {}, 10),
                (S.COMPLETED, done, 55),
                (S.IMPACT_EVIDENCED, impact, 200),
            ],
        ),
        (
            "Name a disruption lead in every exploitation plan",
            "Every plan sampled names who disrupts each place and person of concern.",
            police,
            "Detective Inspector, Exploitation Hub",
            45,
            [disruption],
            [(S.AGREED, {}, 2), (S.IN_PROGRESS, {}, 30), (S.COMPLETED, done, 75)],  # late
        ),
        (
            "Brief all front door staff on the exploitation screening tool",
            "All front door staff briefed; screening tool used in every referral sampled.",
            social_care,
            "Principal Social Worker",
            30,
            [interviews, disruption],
            [
                (S.AGREED, {}, 1),
                (S.IN_PROGRESS, {}, 7),
                (S.COMPLETED, done, 28),
                (S.IMPACT_EVIDENCED, impact, 180),
            ],
        ),
    ]
    return [
        _action(session, audit, moderator, lead, then, (t, m, a, o, d, f), steps=steps)
        for t, m, a, o, d, f, steps in plans
    ]
