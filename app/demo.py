"""A realistic synthetic partnership for demonstrations, training and benchmarks.

Everything here is invented: the partnership, the agencies and the children, who
are pseudonyms ("Child A") with an age band and a few context tags. The evidence
text is written the way auditors write it, so the service can be tried for real.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.access.demo import load_demo_users
from app.access.models import Role, User
from app.access.policy import Actor
from app.actions.demo import load_demo_actions, load_last_year_actions
from app.agencies import service as agencies
from app.agencies.models import Agency, AgencyKind, Subgroup
from app.audit_templates import files
from app.audit_templates import service as templates
from app.audit_templates.models import AnswerType, TemplateVersion
from app.audits import lifecycle
from app.audits import service as audits
from app.audits.cohort import add_child
from app.audits.models import AgeBand, Audit
from app.briefings.demo import add_demo_reach, draft_demo_report, publish_demo_briefing
from app.moderation.demo import moderate
from app.programme import calendar
from app.programme.demo import load_demo_programme
from app.returns import service as returns
from app.returns.models import Return, ReturnStatus
from app.returns.schemas import AnswerIn, EvidenceIn, GradeIn

Progress = Callable[[str, int], None]  # (what was done, how many steps)

PARTNERSHIP_AGENCIES = [
    ("Westshire Children's Social Care", AgencyKind.SOCIAL_CARE),
    ("Westshire Police", AgencyKind.POLICE),
    ("Westshire Acute Hospitals NHS Trust", AgencyKind.ACUTE_HEALTH),
    ("Westshire Health and Care NHS Trust", AgencyKind.COMMUNITY_HEALTH),
    ("Westshire GP practices", AgencyKind.GP),
    ("Westshire schools and colleges", AgencyKind.EDUCATION),
    ("Probation Service, Westshire", AgencyKind.PROBATION),
    ("Westshire Youth Justice Service", AgencyKind.YOUTH_JUSTICE),
    ("Westshire district councils", AgencyKind.DISTRICT_COUNCIL),
    ("Westshire Women's Aid", AgencyKind.VOLUNTARY),
]

SUBGROUPS = [
    ("QAPP", "Quality Assurance Practice and Procedures group: multi-agency case audits."),
    ("GET SAFE", "Child exploitation and extra-familial harm."),
    ("CSPR group", "Child safeguarding practice reviews and rapid reviews."),
    ("Education safeguarding group", "Safeguarding in schools, colleges and early years."),
    ("Executive", "The three statutory safeguarding partners."),
]

# A child of a demo cohort: pseudonym, age band, tags, the agencies involved (by index).
CohortChild = tuple[str, AgeBand, list[str], list[int]]

# The audit of 7 children across 5 agencies described in the partnership's annual
# report; who was involved with whom is invented.
COHORT: list[CohortChild] = [
    ("Child A", AgeBand.AGE_1_4, ["CP plan"], [0, 1, 2, 3]),
    ("Child B", AgeBand.AGE_10_13, ["SEND", "CP plan"], [0, 1, 3, 4]),
    ("Child C", AgeBand.UNDER_1, ["CP plan"], [0, 1, 2, 3]),
    ("Child D", AgeBand.AGE_14_15, ["CIN"], [0, 1, 4]),
    ("Child E", AgeBand.AGE_5_9, ["CP plan", "young carer"], [0, 1, 3, 4]),
    ("Child F", AgeBand.AGE_16_17, ["exploitation"], [0, 1, 2, 4]),
    ("Child G", AgeBand.AGE_5_9, ["CP plan", "SEND"], [0, 1, 3, 4]),
]
AUDIT_AGENCIES = [0, 1, 2, 3, 5]  # social care, police, acute, community health, schools

EVIDENCE = {
    "Referral": (
        [
            "The concern was recognised on the day it arose and the referral was made the same day, "
            "with a clear account of what the child had said.",
            "The referral set out the history well, including two earlier contacts, so the Front Door "
            "could see the pattern rather than a single incident.",
        ],
        [
            "The referral did not say whether the child had been spoken to, and the threshold "
            "guidance was not referred to in the record.",
            "There was a delay of three days between the disclosure and the referral while the "
            "designated lead was away; no deputy picked it up.",
        ],
        [
            "The child was seen by a social worker within 24 hours, so the risk was assessed quickly.",
            "The delay meant the child stayed at home for a weekend without any safety plan.",
        ],
    ),
    "Strategy discussion": (
        [
            "The strategy discussion was held within a day with social care, police and health, and "
            "information about other adults in the household was shared.",
            "Our representative brought the full health history, including missed appointments.",
        ],
        [
            "The minutes were emailed but not saved to our record, so the actions could not be found "
            "by the practitioner who took over.",
            "Education was not invited although the school held the most recent information.",
        ],
        [
            "Actions were agreed quickly and the child was protected the same day.",
            "Information from the school reached the enquiry a week late, after the child had "
            "been seen.",
        ],
    ),
    "Interim safety plan": (
        [
            "The safety plan named who would do what by when, including our agency's checks.",
            "The plan covered the siblings as well as the child referred.",
        ],
        [
            "The plan relied on the parent's agreement without testing whether it was realistic.",
            "Our agency was not told about the plan and so did not carry out its part.",
        ],
        [
            "The child's routine was kept stable while the enquiry went on.",
            "No one checked the plan was working until the conference, two weeks later.",
        ],
    ),
    "Section 47 enquiry": (
        [
            "The child was seen alone and their words are recorded in full.",
            "We updated the social worker promptly when new information came in from the GP.",
        ],
        [
            "Our record does not show the outcome of the enquiry or why it was reached.",
            "The child's wishes were summarised by the parent rather than heard directly.",
        ],
        [
            "The child said they felt listened to, and the plan reflected what they asked for.",
            "It is not clear from our record what difference the enquiry made for the child.",
        ],
    ),
    "Initial child protection conference": (
        [
            "Our report was shared with the parents two days before and set out strengths as well "
            "as worries.",
            "The conference was held within 15 working days and our agency attended in person.",
        ],
        [
            "The report was shared on the morning of the conference, leaving the parents no time "
            "to read it.",
            "The child's views were not brought into the conference by any agency.",
        ],
        [
            "The plan agreed was clear and the family understood it.",
            "The child did not know what had been decided about them.",
        ],
    ),
}
GENERIC_EVIDENCE = (
    ["Practice was timely and well recorded, and the child's voice is clear in the record."],
    ["Recording was brief and the rationale for decisions is not always clear."],
    ["The child's circumstances improved and they told us they felt safer."],
)
LIVED_EXPERIENCE = [
    "The child was living with their mother and her partner; school noticed they were often "
    "hungry and tired, and they told a teacher they did not want to go home at weekends.",
    "The baby was rarely seen outside the home; the health visitor had two missed visits "
    "before the injury was seen at the hospital.",
    "The young person was missing from home on several evenings and was found in another "
    "town; they said they had 'friends' there who gave them money.",
    "The child said they were frightened when the adults argued and that they hid in their room "
    "with their younger brother.",
]


def demo_loaded(session: Session) -> bool:
    return (
        session.scalar(select(Agency.id).where(Agency.name == PARTNERSHIP_AGENCIES[0][0]))
        is not None
    )


def load_reference_data(session: Session) -> tuple[list[Agency], list[Subgroup]]:
    agency_rows = [agencies.create_agency(session, name=n, kind=k) for n, k in PARTNERSHIP_AGENCIES]
    subgroup_rows = [agencies.create_subgroup(session, name=n, description=d) for n, d in SUBGROUPS]
    return agency_rows, subgroup_rows


def load_library(session: Session) -> dict[str, TemplateVersion]:
    """Import and publish every shipped template; keyed by slug."""
    published = {}
    for path in files.library_files():
        version = files.import_text(session, text=path.read_text(encoding="utf-8"))
        published[version.slug] = templates.publish(session, version=version)
    return published


def _answer(question, quality: int, rng: random.Random, day: date) -> str:
    match question.answer_type:
        case AnswerType.YES_PARTLY_NO:
            weights = [(6, 2, 1), (4, 3, 1), (2, 4, 3), (1, 3, 6)][quality]
            return rng.choices(["yes", "partly", "no"], weights=weights)[0]
        case AnswerType.YES_NO:
            return rng.choices(["yes", "no"], weights=[(6, 1), (4, 2), (2, 4), (1, 6)][quality])[0]
        case AnswerType.SINGLE_CHOICE:
            return rng.choice(question.options[:-1] or question.options)
        case AnswerType.DATE:
            return day.isoformat()
        case AnswerType.NUMBER | AnswerType.INTEGER:
            low = int(float(question.minimum)) if question.minimum is not None else 6
            high = int(float(question.maximum)) if question.maximum is not None else 21
            return str(rng.randint(low, max(low, high)))
        case _:
            return rng.choice(LIVED_EXPERIENCE)


def fill_return(
    session: Session,
    *,
    return_: Return,
    version: TemplateVersion,
    rng: random.Random,
    complete: bool,
    start: date,
) -> None:
    """Answer, evidence and grade a return the way an auditor would, all of it or part."""
    levels = [lv.code for lv in version.scale.levels] if version.scale else []
    # Agencies tend to grade themselves kindly: most self-grades are Good.
    quality = rng.choices(range(len(levels) or 1), weights=[2, 6, 3, 1][: len(levels) or 1])[0]
    key_areas = version.key_areas if complete else version.key_areas[: rng.randint(1, 2)]
    answers, grades, evidence = [], [], []
    for index, key_area in enumerate(key_areas):
        day = start + timedelta(days=[0, 1, 2, 6, 14][min(index, 4)])
        for question in key_area.questions:
            if complete or question.required or rng.random() < 0.5:
                answers.append(
                    AnswerIn(question_id=question.id, value=_answer(question, quality, rng, day))
                )
        well, better, impact = EVIDENCE.get(key_area.title, GENERIC_EVIDENCE)
        evidence.append(
            EvidenceIn(
                key_area_id=key_area.id,
                went_well=rng.choice(well),
                could_be_better=rng.choice(better),
                impact_on_child=rng.choice(impact),
            )
        )
        if key_area.graded and levels:
            shift = rng.choice([0, 0, 0, 1, -1])
            grades.append(
                GradeIn(
                    key_area_id=key_area.id,
                    level=levels[max(0, min(len(levels) - 1, quality + shift))],
                )
            )
    overall = (complete and version.has_overall_grade, levels[quality] if levels else None)
    returns.save_draft(
        session,
        return_=return_,
        read_version=return_.version,
        answers=answers,
        grades=grades,
        evidence=evidence,
        overall_grade=overall,
        auditor_name=rng.choice(["A. Auditor", "B. Reviewer", "C. Safeguarding lead"]),
    )
    session.refresh(return_)


def build_audit(
    session: Session,
    *,
    version: TemplateVersion,
    title: str,
    subgroup: Subgroup,
    agency_rows: list[Agency],
    cohort: list[CohortChild],
    rng: random.Random,
    states: list[ReturnStatus] | None = None,
    today: date,
    progress: Progress | None = None,
    due_in_days: int = 10,
) -> Audit:
    """Create and open an audit, then bring each return to a state: the given list in
    order, or drawn at random."""
    audit = audits.create_audit(
        session,
        template_version_id=version.id,
        title=title,
        lead_subgroup_id=subgroup.id,
        returns_due_on=today + timedelta(days=due_in_days),
        moderation_meeting_on=today + timedelta(days=due_in_days + 14),
        agency_ids=[a.id for a in agency_rows],
    )
    for pseudonym, age_band, tags, agency_indexes in cohort:
        add_child(
            session,
            audit=audit,
            pseudonym=pseudonym,
            age_band=age_band,
            context_tags=tags,
            agency_ids=[agency_rows[i].id for i in agency_indexes],
        )
    lifecycle.open_audit(session, audit=audit, confirm=True)
    version = templates.get_version(session, version_id=version.id)
    rows = list(
        session.scalars(select(Return).where(Return.audit_id == audit.id).order_by(Return.id))
    )
    for i, return_ in enumerate(rows):
        state = states[i % len(states)] if states else rng.choice(list(ReturnStatus)[:3])
        start = today - timedelta(days=rng.randint(60, 200))
        if state != ReturnStatus.NOT_STARTED:
            complete = state != ReturnStatus.DRAFT
            fill_return(
                session, return_=return_, version=version, rng=rng, complete=complete, start=start
            )
        if state in (ReturnStatus.SUBMITTED, ReturnStatus.RETURNED):
            returns.submit(session, return_=return_, read_version=return_.version)
            session.refresh(return_)
        if state == ReturnStatus.RETURNED:
            returns.reopen(
                session,
                return_=return_,
                read_version=return_.version,
                note="Please add the date of the strategy discussion and say where the minutes "
                "are saved on your record.",
            )
        if progress:
            progress("return", 1)
    return audit


# Mixed states for the headline audit: mostly submitted, some drafts, a few not
# started and one sent back for amendment, as a fortnight before the deadline.
HEADLINE_STATES = [
    ReturnStatus.SUBMITTED,
    ReturnStatus.DRAFT,
    ReturnStatus.SUBMITTED,
    ReturnStatus.NOT_STARTED,
    ReturnStatus.SUBMITTED,
    ReturnStatus.DRAFT,
    ReturnStatus.SUBMITTED,
    ReturnStatus.RETURNED,
    ReturnStatus.SUBMITTED,
    ReturnStatus.NOT_STARTED,
    ReturnStatus.DRAFT,
    ReturnStatus.SUBMITTED,
]


def load_demo(
    session: Session, *, today: date | None = None, progress: Progress | None = None
) -> Audit:
    """Load the demo partnership and its *Identification of need and risk* audit of 7
    children across 5 agencies. Refuses to run twice."""
    today = today or clock.today()
    rng = random.Random(2022)
    agency_rows, subgroup_rows = load_reference_data(session)
    # One account per role; PARTNERSHIP_AGENCIES starts with social care, then police.
    made = load_demo_users(session, {"social care": agency_rows[0], "police": agency_rows[1]})
    subgroup_rows[0].chair_user_id = next(
        (u.id for u in made if Role.SUBGROUP_CHAIR in u.roles), None
    )
    if progress:
        progress("reference data", 1)
    library = load_library(session)
    if progress:
        progress("templates", 1)
    audit = build_audit(
        session,
        version=library["identification-of-need-and-risk"],
        title="Identification of need and risk: multi-agency audit",
        subgroup=subgroup_rows[0],
        agency_rows=[agency_rows[i] for i in AUDIT_AGENCIES],
        cohort=COHORT,
        rng=rng,
        states=HEADLINE_STATES,
        today=today,
        progress=progress,
    )
    # A second audit, still being planned, shows the other end of the cycle.
    send = audits.create_audit(
        session,
        template_version_id=library["voice-of-the-child-send"].id,
        title="Voice of the child with SEND (JTAI method)",
        lead_subgroup_id=subgroup_rows[0].id,
        returns_due_on=today + timedelta(days=45),
        moderation_meeting_on=today + timedelta(days=60),
        agency_ids=[agency_rows[i].id for i in (0, 3, 4, 5)],
    )
    for letter in "ABCDE":
        add_child(session, audit=send, pseudonym=f"Child {letter}", context_tags=["SEND"])
    load_moderated_audits(session, agency_rows, subgroup_rows, library, rng, today, progress)
    load_last_year(session, agency_rows, subgroup_rows, library, today, progress)
    # The programme: each audit above as the planned audit it was made for.
    load_demo_programme(session, today=today)
    return audit


# Last year's audits, so that trends compare one year with the next: an exploitation
# audit on the deep dive's theme, and four weeks later an audit of the identification
# of need and risk on the headline audit's theme (``last_year_days``).
LAST_YEAR_EXPLOITATION: list[CohortChild] = [
    ("Young person 1", AgeBand.AGE_14_15, ["exploitation", "missing"], [0, 1, 2, 3]),
    ("Young person 2", AgeBand.AGE_16_17, ["exploitation"], [0, 1, 3]),
    ("Young person 3", AgeBand.AGE_14_15, ["exploitation", "looked after"], [0, 1, 2]),
    ("Young person 4", AgeBand.AGE_10_13, ["exploitation", "missing"], [0, 1, 2, 3]),
    ("Young person 5", AgeBand.AGE_16_17, ["exploitation", "CIN"], [0, 1, 3]),
]
LAST_YEAR_NEED: list[CohortChild] = [
    ("Child A", AgeBand.UNDER_1, ["CP plan"], [0, 2, 3]),
    ("Child B", AgeBand.AGE_5_9, ["CIN"], [0, 1, 4]),
    ("Child C", AgeBand.AGE_1_4, ["CP plan", "neglect"], [0, 1, 3]),
    ("Child D", AgeBand.AGE_10_13, ["neglect"], [0, 3, 4]),
    ("Child E", AgeBand.AGE_5_9, ["CP plan"], [0, 1, 2, 4]),
    ("Child F", AgeBand.AGE_14_15, ["CIN", "SEND"], [0, 4]),
]
LAST_YEAR_BRIEFING = "7 minute briefing: exploitation, missing and return home interviews"


def last_year_days(today: date) -> tuple[int, int]:
    """How many days before ``today`` last year's two audits were moderated: the need
    and risk audit a year back, the exploitation audit four weeks before it; both in
    the partnership year (April to March) before today's whatever the day, and at
    least two months into it (their months are in the year's programme, which starts
    then)."""
    last = date(calendar.year_of(today) - 1, calendar.YEAR_STARTS, 1)
    this = date(calendar.year_of(today), calendar.YEAR_STARTS, 1)

    def within(day: date) -> date:
        return min(max(day, last + timedelta(days=60)), this - timedelta(days=1))

    need = within(today - timedelta(days=365))
    exploitation = within(need - timedelta(days=28))
    return (today - exploitation).days, (today - need).days


def load_last_year(session, agency_rows, subgroup_rows, library, today, progress) -> None:
    """Last year's audits, written through the same services with the clock put back
    (app.clock.back_by): both moderated and in learning, the exploitation audit with its
    findings and actions (all seen through, one late) and a published briefing whose
    downloads and "was this useful?" answers run through the year. Its own random
    numbers, so the rest of the demo is as it was."""
    rng = random.Random(2021)
    moderator = demo_moderator(session)
    earlier, later = last_year_days(today)
    then = today - timedelta(days=earlier)
    with clock.back_by(earlier):
        exploitation = build_audit(
            session,
            version=library["child-exploitation-cp-procedures"],
            title="Child exploitation: multi-agency case audit",
            subgroup=subgroup_rows[1],  # GET SAFE
            agency_rows=[agency_rows[i] for i in (0, 1, 3, 7)],
            cohort=LAST_YEAR_EXPLOITATION,
            rng=rng,
            states=[ReturnStatus.SUBMITTED],
            today=then,
            progress=progress,
            due_in_days=-30,
        )
        # A year before the deep dive, moderation changed more of the agencies' grades.
        moderate(
            session, audit=exploitation, moderator=moderator, rng=rng, lowered=0.45, finish=True
        )
        load_last_year_actions(session, exploitation, then)
        version_id = publish_demo_briefing(
            session,
            audit=exploitation,
            author=demo_admin(session),
            approver=moderator,
            today=then,
            title=LAST_YEAR_BRIEFING,
            assurance=False,
        )
    add_demo_reach(
        session,
        version_id=version_id,
        agency_ids=[agency_rows[i].id for i in (0, 1, 3, 5, 7)],
        since=then,
        # Up to eleven months of it, the last ending before today.
        months=max(1, min(11, (earlier - 30) // 30)),
        rng=rng,
    )
    with clock.back_by(later):
        need = build_audit(
            session,
            version=library["identification-of-need-and-risk"],
            title="Neglect referrals: multi-agency audit of the identification of need and risk",
            subgroup=subgroup_rows[0],  # QAPP
            agency_rows=[agency_rows[i] for i in AUDIT_AGENCIES],
            cohort=LAST_YEAR_NEED,
            rng=rng,
            states=[ReturnStatus.SUBMITTED],
            today=today - timedelta(days=later),
            progress=progress,
            due_in_days=-30,
        )
        moderate(session, audit=need, moderator=moderator, rng=rng, lowered=0.35, finish=True)


# Three audits further on: a GET SAFE deep dive whose moderation is finished (it is in
# *learning*), a Front Door audit being moderated now, and an audit whose moderation
# meeting is about to start.
EXPLOITATION_COHORT: list[CohortChild] = [
    ("Young person 1", AgeBand.AGE_14_15, ["exploitation", "missing"], [0, 1, 2]),
    ("Young person 2", AgeBand.AGE_16_17, ["exploitation"], [0, 1, 2, 3]),
    ("Young person 3", AgeBand.AGE_14_15, ["exploitation", "CIN"], [0, 1, 3]),
    ("Young person 4", AgeBand.AGE_16_17, ["exploitation", "looked after"], [0, 1, 2]),
    ("Young person 5", AgeBand.AGE_10_13, ["exploitation", "missing"], [0, 1, 2, 3]),
    ("Young person 6", AgeBand.AGE_14_15, ["exploitation"], [0, 1, 3]),
]
# The audit whose moderation meeting is next: every return in, nothing decided yet.
# Child D is known to six agencies (social care, police, both health trusts, schools,
# youth justice): the widest picture the meeting view has to show side by side.
MEETING_COHORT: list[CohortChild] = [
    ("Child A", AgeBand.AGE_14_15, ["exploitation"], [0, 1, 3, 5]),
    ("Child B", AgeBand.AGE_16_17, ["missing"], [0, 1, 7]),
    ("Child C", AgeBand.AGE_10_13, ["exploitation", "SEND"], [0, 3, 5]),
    ("Child D", AgeBand.AGE_14_15, ["exploitation", "missing", "CIN"], [0, 1, 2, 3, 5, 7]),
    ("Child E", AgeBand.AGE_16_17, ["looked after"], [0, 1, 7]),
    ("Child F", AgeBand.AGE_14_15, ["exploitation"], [0, 1, 5]),
]
DEEP_DIVE_TITLE = "GET SAFE deep dive: child protection procedures in exploitation cases"
MEETING_TITLE = "Extra-familial harm: multi-agency case audit (JTAI method)"
FRONT_DOOR_COHORT: list[CohortChild] = [
    ("Child A", AgeBand.AGE_5_9, ["school referral"], [0, 1, 2]),
    ("Child B", AgeBand.AGE_10_13, ["school referral"], [0, 2]),
    ("Child C", AgeBand.AGE_5_9, ["school referral", "SEND"], [0, 1, 2]),
    ("Child D", AgeBand.AGE_14_15, ["school referral"], [0, 2]),
]


def load_moderated_audits(session, agency_rows, subgroup_rows, library, rng, today, progress):
    moderator = demo_moderator(session)
    deep_dive = build_audit(
        session,
        version=library["child-exploitation-cp-procedures"],
        title=DEEP_DIVE_TITLE,
        subgroup=subgroup_rows[1],  # GET SAFE
        agency_rows=[agency_rows[i] for i in (0, 1, 3, 7)],  # with youth justice
        cohort=EXPLOITATION_COHORT,
        rng=rng,
        states=[ReturnStatus.SUBMITTED],
        today=today,
        progress=progress,
        due_in_days=-75,
    )
    moderate(session, audit=deep_dive, moderator=moderator, rng=rng, finish=True)
    load_demo_actions(session, deep_dive, today)
    # Four eyes: the business unit drafts the briefing, the QAPP chair approves it.
    publish_demo_briefing(
        session, audit=deep_dive, author=demo_admin(session), approver=moderator, today=today
    )
    draft_demo_report(session, audit=deep_dive, author=demo_admin(session))
    front_door = build_audit(
        session,
        version=library["identification-of-need-and-risk"],
        title="Front Door referrals from schools: monthly audit",
        subgroup=subgroup_rows[0],
        agency_rows=[agency_rows[i] for i in (0, 1, 5)],
        cohort=FRONT_DOOR_COHORT,
        rng=rng,
        states=[ReturnStatus.SUBMITTED],
        today=today,
        progress=progress,
        due_in_days=-5,
    )
    moderate(session, audit=front_door, moderator=moderator, rng=rng, share=0.6)
    meeting = build_audit(
        session,
        version=library["child-exploitation-cp-procedures"],
        title=MEETING_TITLE,
        subgroup=subgroup_rows[1],  # GET SAFE
        agency_rows=[agency_rows[i] for i in (0, 1, 2, 3, 5, 7)],
        cohort=[
            (p, a, t, [(0, 1, 2, 3, 5, 7).index(i) for i in ids]) for p, a, t, ids in MEETING_COHORT
        ],
        rng=rng,
        states=[ReturnStatus.SUBMITTED],
        today=today,
        progress=progress,
        due_in_days=-3,
    )
    moderate(session, audit=meeting, moderator=moderator, rng=rng, share=0.0)


def demo_moderator(session: Session) -> Actor:
    user = session.scalars(select(User).where(User.email == "moderator@example.org")).one()
    return Actor(user_id=user.id, label=user.display_name, roles=frozenset({Role.MODERATOR}))


def demo_admin(session: Session) -> Actor:
    """The business unit's admin, as the demo's steps name them."""
    user = session.scalars(select(User).where(User.email == "admin@example.org")).one()
    return Actor(user_id=user.id, label=user.display_name, roles=frozenset({Role.ADMIN}))


def headline_return_count() -> int:
    return sum(len(c[3]) for c in COHORT)


def load_large(
    session: Session,
    *,
    audits_count: int = 20,
    children: int = 8,
    today: date | None = None,
    progress: Progress | None = None,
) -> list[Audit]:
    """More audits on the demo's agencies and templates, for benchmarks."""
    today = today or clock.today()
    rng = random.Random(7)
    agency_rows = list(session.scalars(select(Agency).order_by(Agency.id)))[:6]
    # The demo's first subgroup and published template (load the demo first).
    subgroup = session.scalars(select(Subgroup).order_by(Subgroup.id).limit(1)).one()
    version = session.scalars(
        select(TemplateVersion)
        .where(TemplateVersion.status == "published")
        .order_by(TemplateVersion.id)
        .limit(1)
    ).one()
    made = []
    for n in range(audits_count):
        cohort: list[CohortChild] = [
            (
                f"Child {chr(65 + i % 26)}{i // 26 or ''}".strip(),
                rng.choice(list(AgeBand)),
                [],
                sorted(rng.sample(range(len(agency_rows)), rng.randint(2, 5))),
            )
            for i in range(children)
        ]
        made.append(
            build_audit(
                session,
                version=version,
                title=f"Benchmark audit {n + 1}",
                subgroup=subgroup,
                agency_rows=agency_rows,
                cohort=cohort,
                rng=rng,
                today=today,
                progress=progress,
            )
        )
    return made
