"""The data for bench/load.py: the demo partnership, and what 50 people need to work on
at once in an audit month.

Auditors get returns of their own (assigned, as an agency's lead would) in two open
audits; moderators a child each in an audit in moderation; practitioners a library of
published briefings (rendered here, in a worker process, as the server would). Phase 2
of the load test publishes approved briefing versions: one approved through the
workflow and its identification check, the rest copies of it, each a briefing of its
own (approving hundreds through the check would take minutes; each copy is the same
work to render). Everyone has a password and a confirmed authenticator.
"""

from __future__ import annotations

import math
import random

import pyotp
from alembic import command
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from app import clock
from app.access import service as access
from app.access.models import Role
from app.agencies.models import Agency, Subgroup
from app.audit_templates.models import TemplateFamily, TemplateVersion
from app.audits.models import AgeBand, Audit, Child
from app.briefings import jobs, render, workflow
from app.briefings.demo import approve_briefing
from app.briefings.models import (
    Briefing,
    BriefingApproval,
    BriefingKind,
    BriefingVersion,
    VersionStatus,
)
from app.config import get_settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.demo import (
    DEEP_DIVE_TITLE,
    MEETING_TITLE,
    build_audit,
    demo_admin,
    demo_moderator,
    load_demo,
)
from app.migrate import alembic_config
from app.moderation.demo import moderate
from app.returns.models import Return, ReturnStatus

PASSWORD = "a long load-test passphrase 4821"
RETURNS_PER_AUDITOR = 2
AUDITOR_AGENCIES = 6  # the demo's first six: social care, police, two health trusts, GPs, schools
# The briefings practitioners find in the library, besides the demo's own.
LIBRARY_TITLES = [
    "7 minute briefing: the voice of the child in strategy discussions",
    "7 minute briefing: information sharing at the Front Door",
    "7 minute briefing: safety plans that are tested, not assumed",
    "7 minute briefing: recording the outcome of an enquiry",
    "7 minute briefing: inviting education to strategy discussions",
    "7 minute briefing: missing episodes and return interviews",
    "7 minute briefing: disguised compliance",
    "7 minute briefing: professional curiosity about other adults",
    "7 minute briefing: sharing reports before a conference",
    "7 minute briefing: escalation when agencies disagree",
    "7 minute briefing: young carers",
]
SEARCH_WORDS = ["voice", "strategy", "safety", "missing", "conference", "exploitation", "carers"]
FODDER_TITLE = "Learning briefing: exploitation deep dive, published during the load test"


def person(session: Session, role: Role, n: int, agency_id: int | None = None) -> dict:
    """An account with a password and a confirmed authenticator, and its address (as
    the reverse proxy would report it: the sign-in throttle counts per address)."""
    email = f"load.{role.value}.{n}@example.org"
    user = access.create_user(
        session,
        email=email,
        display_name=f"Load {role.value.replace('_', ' ')} {n}",
        roles={role},
        agency_id=agency_id,
        password=PASSWORD,
    )
    user.totp_secret = pyotp.random_base32()
    user.totp_confirmed_at = clock.utcnow()
    session.flush()
    address = f"10.{user.id // 250}.1.{user.id % 250 + 1}"
    return {"id": user.id, "email": email, "totp": user.totp_secret, "address": address}


def template(session: Session, slug: str) -> TemplateVersion:
    return session.scalars(
        select(TemplateVersion)
        .join(TemplateFamily, TemplateFamily.id == TemplateVersion.family_id)
        .where(TemplateFamily.slug == slug, TemplateVersion.status == "published")
    ).one()


def first_subgroup(session: Session) -> Subgroup:
    return session.scalars(select(Subgroup).order_by(Subgroup.id).limit(1)).one()


def add_auditors(session: Session, count: int) -> list[dict]:
    """Auditors in six agencies, each given returns of their own (not started or in
    draft) in two open audits whose children all six agencies know."""
    agencies = list(session.scalars(select(Agency).order_by(Agency.id)))[:AUDITOR_AGENCIES]
    children = math.ceil(math.ceil(count / len(agencies)) * RETURNS_PER_AUDITOR / 2)
    cohort = [
        (f"Child {chr(65 + i)}", list(AgeBand)[i % len(AgeBand)], [], list(range(len(agencies))))
        for i in range(children)
    ]
    audit_ids = [
        build_audit(
            session,
            version=template(session, "identification-of-need-and-risk"),
            title=title,
            subgroup=first_subgroup(session),
            agency_rows=agencies,
            cohort=cohort,
            rng=random.Random(n),
            states=[ReturnStatus.NOT_STARTED, ReturnStatus.DRAFT],
            today=clock.today(),
        ).id
        for n, title in enumerate(["Neglect: case audit", "Domestic abuse: case audit"])
    ]
    people: list[dict] = []
    by_agency: dict[int, list[dict]] = {agency.id: [] for agency in agencies}
    for n in range(count):
        agency_id = agencies[n % len(agencies)].id
        auditor = {**person(session, Role.AUDITOR, n + 1, agency_id), "returns": []}
        people.append(auditor)
        by_agency[agency_id].append(auditor)
    for agency_id, mine in by_agency.items():
        rows = session.scalars(
            select(Return)
            .where(Return.audit_id.in_(audit_ids), Return.agency_id == agency_id)
            .order_by(Return.id)
        ).all()
        for i, return_ in enumerate(rows[: len(mine) * RETURNS_PER_AUDITOR]):
            owner = mine[i % len(mine)]
            return_.assigned_to_id = owner["id"]  # what the agency's lead would do
            owner["returns"].append({"id": return_.id, "audit": return_.audit_id})
    session.flush()
    return people


def add_moderators(session: Session, count: int) -> list[dict]:
    """Moderators, each with a child of their own in an audit in moderation: the demo's
    meeting audit (six children, nothing decided yet), then as many more audits like it
    as ``count`` needs."""
    audits = [session.scalars(select(Audit).where(Audit.title == MEETING_TITLE)).one()]
    agencies = list(session.scalars(select(Agency).order_by(Agency.id)))
    seats = lambda: [(a.id, c) for a in audits for c in children_of(session, a)]  # noqa: E731
    while len(seats()) < count:
        audit = build_audit(
            session,
            version=template(session, "child-exploitation-cp-procedures"),
            title=f"Extra-familial harm: cohort {len(audits) + 1}",
            subgroup=first_subgroup(session),
            agency_rows=[agencies[i] for i in (0, 1, 3, 5)],
            cohort=[
                (f"Child {chr(65 + i)}", AgeBand.AGE_14_15, [], [0, 1, 2, 3]) for i in range(6)
            ],
            rng=random.Random(len(audits)),
            states=[ReturnStatus.SUBMITTED],
            today=clock.today(),
            due_in_days=-3,
        )
        moderate(
            session, audit=audit, moderator=demo_moderator(session), rng=random.Random(1), share=0.0
        )
        audits.append(audit)
    taken = seats()
    people = []
    for n in range(count):
        audit_id, child = taken[n]
        others = [c for a, c in taken if a == audit_id]
        seat = {"audit": audit_id, "child": child, "children": others}
        people.append({**person(session, Role.MODERATOR, n + 1), **seat})
    return people


def children_of(session: Session, audit: Audit) -> list[int]:
    return list(
        session.scalars(select(Child.id).where(Child.audit_id == audit.id).order_by(Child.id))
    )


def approved(session: Session, *, audit: Audit, title: str, public: bool) -> BriefingVersion:
    """A briefing drafted by the business unit and approved by the QAPP chair, as the
    demo's own: through the workflow and its identification check."""
    return approve_briefing(
        session,
        audit=audit,
        title=title,
        public=public,
        author=demo_admin(session),
        approver=demo_moderator(session),
        settings=get_settings(),
    )


def render_fodder(session: Session, *, audit: Audit, count: int) -> list[int]:
    """Approved versions for phase 2 to publish: one through the workflow, the rest
    copies of it (see the module's docstring)."""
    first = approved(session, audit=audit, title=FODDER_TITLE, public=False)
    approval = session.scalars(
        select(BriefingApproval).where(BriefingApproval.version_id == first.id)
    ).one()
    copied = ("marking", "sections", "check_report", "small_counts_confirmed_by", "drafted_by")
    copied += ("author_ids", "suppressed_tables", "submitted_at", "approved_at", "approved_by")
    versions = []
    for _ in range(count - 1):
        version = BriefingVersion(
            number=1, status=VersionStatus.APPROVED, **{k: getattr(first, k) for k in copied}
        )
        briefing = Briefing(audit_id=audit.id, kind=BriefingKind.BRIEFING, title=FODDER_TITLE)
        briefing.versions = [version]
        session.add(briefing)
        versions.append(version)
    session.flush()
    for version in versions:
        session.add(
            BriefingApproval(
                version_id=version.id,
                user_id=approval.user_id,
                approver=approval.approver,
                approved_at=approval.approved_at,
                check_read=True,
            )
        )
    return [first.id] + [v.id for v in versions]


def prepare(url: str, counts: dict[str, int], fodder: int) -> dict:
    """Migrate, load the demo and everything the people need; publish the library's
    briefings (rendered here, in a worker process, as the server would). The plan: who
    signs in as whom and what each works on, and the versions phase 2 publishes."""
    engine = make_engine(url)
    try:
        if inspect(engine).get_table_names():
            raise SystemExit(f"error: the database at {engine.url!r} is not empty")
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        factory = make_sessionmaker(engine)
        with session_scope(factory) as session:
            load_demo(session)
        with session_scope(factory) as session:
            deep_dive = session.scalars(select(Audit).where(Audit.title == DEEP_DIVE_TITLE)).one()
            for title in LIBRARY_TITLES:
                version = approved(session, audit=deep_dive, title=title, public=True)
                workflow.publish(session, version=version)
            plan = {
                "people": {
                    "auditor": add_auditors(session, counts["auditor"]),
                    "moderator": add_moderators(session, counts["moderator"]),
                    "practitioner": [
                        person(session, Role.PRACTITIONER, n + 1)
                        for n in range(counts["practitioner"])
                    ],
                },
                "publisher": person(session, Role.ADMIN, 1),
                "fodder": render_fodder(session, audit=deep_dive, count=fodder),
                "search": SEARCH_WORDS,
            }
        try:
            published = jobs.process_pending(factory, get_settings())
        finally:
            render.shutdown()
        if published != len(LIBRARY_TITLES):
            raise RuntimeError(f"only {published} of the library's briefings were published")
        return plan
    finally:
        engine.dispose()
