"""What needs your attention: the start page a signed-in person lands on. A section for
each kind of thing waiting on one of their roles, each a few counts with a link to the
page where it is done, then their latest notifications and where to go.

- an auditor: their agency's returns still to do in current audits, as My work counts
  them (overdue first; those assigned to them; those sent back; questionnaires);
- an agency lead: returns waiting for their sign-off, returns not yet given to an
  auditor, learning assurance questionnaires their agency has still to answer,
  their agency's learning actions past their due date, and the review of their
  agency's accounts once it is due (app/access/leavers.py);
- a moderator: audits in moderation with grades still to decide, returns in and
  waiting for moderation to open, late returns, and briefings waiting for them to
  approve;
- an administrator: audits planned and not yet open, audits whose returns are due
  within 7 days, approved briefings to publish, and requests for a role that wait for
  a second administrator;
- a subgroup chair: for each subgroup they chair, the learning actions of the audits it
  leads that are overdue (escalated to it), and how many of those have gone on to the
  Executive;
- a member of the Executive: the learning actions escalated to the Executive.

Counts, not lists: each section is one GROUP BY or one count however much there is,
so the page costs the same few statements for a partnership with one audit as for one
with fifty (tests/test_start_page.py counts them). Each count is scoped as the page it
links to scopes its list (app/access/policy.py), so no one is told of anything they
could not open: an auditor counts only their own agency's returns, as My work does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Exists, and_, case, func, select
from sqlalchemy.orm import Session

from app.access import leavers
from app.access.models import GrantDecision, Role, RoleGrantRequest
from app.access.policy import Actor, Permission, audit_scope, return_scope
from app.actions.lifecycle import OPEN as OPEN_ACTIONS
from app.actions.models import LearningAction
from app.actions.service import action_scope
from app.agencies.models import Subgroup
from app.audits.models import Audit, AuditStatus
from app.briefings.models import Briefing, BriefingApproval, BriefingVersion, VersionStatus
from app.config import get_settings
from app.formatting import format_date, plural
from app.notifications import service as notifications
from app.notifications.models import Notification
from app.returns import work
from app.returns.models import EDITABLE_STATUSES, Return, ReturnStatus

SHOWN = 5  # rows a section lists (one an audit, say); the rest are "and N more"
DUE_SOON_DAYS = 7  # an administrator hears of audits whose returns are due this soon
NOTIFICATIONS_SHOWN = 3


@dataclass(frozen=True)
class Link:
    """A link by route name, drawn with ``url()`` by the template."""

    route: str
    text: str
    params: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    hidden: str = ""  # what the link is about, for screen readers ("returns to do")


@dataclass(frozen=True)
class Row:
    """One line of a section: what (``key``), how many (``value``), and where to act."""

    key: str
    value: str
    link: Link | None = None
    tag: str = ""  # a red tag beside the value: "Overdue", "Late"


@dataclass
class Section:
    title: str
    rows: list[Row]
    link: Link | None = None  # the section's own link: where all of it is done
    more: int = 0  # rows left out (beyond SHOWN)
    more_link: Link | None = None  # where the rows left out are


@dataclass
class StartPage:
    sections: list[Section]  # only those with something waiting
    notifications: list[Notification]
    places: list[Link]

    @property
    def nothing_waiting(self) -> bool:
        return not self.sections


# Where a person may go from the start page, by what their roles allow.
PLACES = (
    (Permission.RETURN_EDIT, Link("returns.my_work", "My work")),
    (Permission.AUDIT_READ, Link("audits.list", "Audits")),
    (Permission.ACTION_READ, Link("actions.tracker", "Learning actions")),
    (Permission.BRIEFING_EDIT, Link("briefings.list", "Briefings and subgroup reports")),
    (Permission.SIGNED_IN, Link("briefings.library", "The library of published briefings")),
    (Permission.ACCOUNT_APPROVE, Link("access.agency_invite", "Invite someone")),
    (Permission.ACCOUNT_APPROVE, Link("access.registrations", "Requests for an account")),
)


def start_page(session: Session, *, actor: Actor, today: date) -> StartPage:
    """The actor's start page on ``today``: a fixed few statements, whatever the data."""
    sections: list[Section] = []
    if actor.agency_id is not None and Role.AUDITOR in actor.roles:
        sections += _auditor(session, actor, today)
    if actor.agency_id is not None and Role.AGENCY_LEAD in actor.roles:
        sections += _agency_lead(session, actor, today)
    if Role.MODERATOR in actor.roles:
        sections += _moderator(session, actor, today)
    if Role.ADMIN in actor.roles:
        sections += _admin(session, actor, today)
    if Role.SUBGROUP_CHAIR in actor.roles:
        sections += _subgroup_chair(session, actor, today)
    if Role.EXECUTIVE in actor.roles:
        sections += _executive(session, actor, today)
    told = (
        notifications.mine(session, user_id=actor.user_id, limit=NOTIFICATIONS_SHOWN)
        if actor.user_id is not None
        else []
    )
    return StartPage(
        sections=[s for s in sections if s.rows],
        notifications=told,
        places=[link for permission, link in PLACES if actor.may(permission)],
    )


# --- building blocks ---------------------------------------------------------------------


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows of the group meet ``condition`` (0, never NULL, for no rows)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _questionnaire() -> Exists:
    """The audit (joined as Audit) is a briefing's learning assurance questionnaire
    (app/briefings/assurance.py): an audit a briefing's ``assurance_audit_id`` names."""
    return (
        select(Briefing.id).where(Briefing.assurance_audit_id == Audit.id).correlate(Audit).exists()
    )


def _section(
    title: str,
    rows: Sequence[Row],
    *,
    link: Link | None = None,
    more_link: Link | None = None,
) -> list[Section]:
    if not rows:
        return []
    return [
        Section(
            title,
            list(rows[:SHOWN]),
            link=link,
            more=max(0, len(rows) - SHOWN),
            more_link=more_link,
        )
    ]


def _by_due_date(rows: Sequence[Any]) -> list[Any]:
    """Soonest due first (an audit with no due date last), then by title."""
    return sorted(rows, key=lambda r: (r.returns_due_on or date.max, r.title))


def _its(count: int) -> str:
    return "its" if count == 1 else "their"


def _due(due_on: date | None) -> str:
    return f"due {format_date(due_on)}" if due_on else "no due date set"


# --- an auditor ----------------------------------------------------------------------------


def _my_work(actor: Actor) -> tuple[ColumnElement[bool], ...]:
    """The returns My work lists (app/returns/work.py): the actor's own agency's, in
    current audits, that they may read, and not left out of moderation."""
    return (
        Return.agency_id == actor.agency_id,
        return_scope(actor),
        Audit.status.in_(work.CURRENT),
        Return.excluded_at.is_(None),
    )


def _auditor(session: Session, actor: Actor, today: date) -> list[Section]:
    questionnaire = _questionnaire()
    to_do, overdue, mine, sent_back, questionnaires = session.execute(
        select(
            _count(~questionnaire),
            _count(and_(~questionnaire, Audit.returns_due_on < today)),
            _count(Return.assigned_to_id == actor.user_id),
            _count(Return.status == ReturnStatus.RETURNED),
            _count(questionnaire),
        )
        .select_from(Return)
        .join(Audit, Audit.id == Return.audit_id)
        .where(*_my_work(actor), Return.status.not_in(work.DONE))
    ).one()
    rows = []
    if overdue:
        rows.append(Row("Overdue", f"{plural(overdue, 'return')} past {_its(overdue)} due date"))
    if to_do:
        rows.append(Row("To do", f"{plural(to_do, 'return')} in current audits"))
    if mine:
        rows.append(Row("Assigned to you", f"{plural(mine, 'return')} your agency's lead gave you"))
    if sent_back:
        rows.append(
            Row("Sent back for amendment", f"{plural(sent_back, 'return')} to change and submit")
        )
    if questionnaires:
        rows.append(
            Row(
                "Questionnaires",
                f"{plural(questionnaires, 'learning assurance questionnaire')} to answer",
            )
        )
    return _section(
        "Your agency's returns",
        rows,
        link=Link("returns.my_work", "Go to My work"),
    )


# --- an agency lead ------------------------------------------------------------------------


def _agency_lead(session: Session, actor: Actor, today: date) -> list[Section]:
    editable = and_(Return.status.in_(EDITABLE_STATUSES), Return.excluded_at.is_(None))
    found = session.execute(
        select(
            Audit.id,
            Audit.title,
            Audit.returns_due_on,
            Briefing.id.label("briefing_id"),  # a questionnaire's briefing, else None
            # Sent for sign-off and unchanged since (app/returns/signoff.py ``waiting``).
            _count(
                and_(
                    Return.sign_off_requested_at.is_not(None),
                    Return.sign_off_version == Return.version,
                )
            ).label("to_sign_off"),
            _count(and_(editable, Return.assigned_to_id.is_(None))).label("unassigned"),
            func.min(case((editable, Return.id))).label("to_answer"),
        )
        .select_from(Return)
        .join(Audit, Audit.id == Return.audit_id)
        .outerjoin(Briefing, Briefing.assurance_audit_id == Audit.id)
        .where(
            Return.agency_id == actor.agency_id,
            return_scope(actor),
            audit_scope(actor),
            Audit.status.in_(work.CURRENT),
        )
        .group_by(Audit.id, Audit.title, Audit.returns_due_on, Briefing.id)
    ).all()
    found = _by_due_date(found)
    all_audits = Link("audits.list", "See all your agency's audits")
    sign_off = [
        Row(
            a.title,
            f"{plural(a.to_sign_off, 'return')} sent to you to sign off",
            Link("audits.overview", "Sign off", {"audit_id": a.id}, hidden=f"returns in {a.title}"),
        )
        for a in found
        if a.to_sign_off
    ]
    unassigned = [
        Row(
            a.title,
            f"{plural(a.unassigned, 'return')} not given to an auditor, {_due(a.returns_due_on)}",
            Link("returns.assign", "Assign", {"audit_id": a.id}, hidden=f"returns in {a.title}"),
        )
        for a in found
        if a.unassigned and a.briefing_id is None
    ]
    questionnaires = [
        Row(
            a.title,
            f"Your agency's answers are {_due(a.returns_due_on)}",
            Link("returns.task_list", "Open", {"return_id": a.to_answer}, hidden=a.title),
            tag="Overdue" if a.returns_due_on and a.returns_due_on < today else "",
        )
        for a in found
        if a.briefing_id is not None and a.to_answer is not None
    ]
    # The agency's last access review rides along: no statement more.
    overdue_actions, reviewed, added = session.execute(
        select(func.count(), *leavers.review_dates(actor.agency_id))
        .select_from(LearningAction)
        .where(
            action_scope(actor),
            LearningAction.owning_agency_id == actor.agency_id,
            _overdue(today),
        )
    ).one()
    actions = []
    if overdue_actions:
        actions.append(
            Row(
                "Overdue",
                f"{plural(overdue_actions, 'learning action')} your agency owns, past "
                f"{_its(overdue_actions)} due date",
                Link(
                    "actions.tracker",
                    "See them",
                    query={"agency_id": actor.agency_id, "overdue": "yes"},
                    hidden="overdue learning actions",
                ),
            )
        )
    accounts = []
    if leavers.review_due_on(reviewed or added, get_settings()) <= today:
        accounts.append(
            Row(
                "Access review due",
                f"Last reviewed {format_date(reviewed)}" if reviewed else "Not reviewed yet",
                Link(
                    "access.review",
                    "Review",
                    {"agency_id": actor.agency_id},
                    hidden="your agency's accounts",
                ),
            )
        )
    return [
        *_section("Returns waiting for your sign-off", sign_off, more_link=all_audits),
        *_section("Returns not yet assigned", unassigned, more_link=all_audits),
        *_section("Questionnaires to answer for your agency", questionnaires, more_link=all_audits),
        *_section("Your agency's learning actions", actions),
        *_section("Your agency's accounts", accounts),
    ]


# --- a moderator ---------------------------------------------------------------------------


def _moderator(session: Session, actor: Actor, today: date) -> list[Section]:
    counted = Return.excluded_at.is_(None)  # a return left out is waited for by no one
    found = session.execute(
        select(
            Audit.id,
            Audit.title,
            Audit.status,
            Audit.returns_due_on,
            # In moderation, a submitted return is one with a grade still to decide: it
            # becomes "moderated" once every cell is (app/moderation/service.py).
            _count(and_(counted, Return.status == ReturnStatus.SUBMITTED)).label("submitted"),
            _count(
                and_(
                    counted,
                    Return.status.in_(EDITABLE_STATUSES),
                    Audit.returns_due_on < today,
                )
            ).label("late"),
            _count(counted).label("expected"),
        )
        .select_from(Return)
        .join(Audit, Audit.id == Return.audit_id)
        .where(
            return_scope(actor),
            audit_scope(actor),
            Audit.status.in_(work.CURRENT),
            ~_questionnaire(),  # answered by agencies, never moderated
        )
        .group_by(Audit.id, Audit.title, Audit.status, Audit.returns_due_on)
    ).all()
    found = _by_due_date(found)
    to_decide = [
        Row(
            a.title,
            f"{plural(a.submitted, 'return')} with grades to decide",
            Link("moderation.workspace", "Moderate", {"audit_id": a.id}, hidden=a.title),
        )
        for a in found
        if a.status == AuditStatus.MODERATION and a.submitted
    ]
    waiting = [
        Row(
            a.title,
            (
                f"All {plural(a.expected, 'return')} in, {_due(a.returns_due_on)}"
                if a.submitted == a.expected
                else f"{a.submitted} of {plural(a.expected, 'return')} in, {_due(a.returns_due_on)}"
            ),
            (
                Link("moderation.open_check", "Open moderation", {"audit_id": a.id}, hidden=a.title)
                if a.submitted == a.expected
                else Link(
                    "audits.returns",
                    "See returns",
                    {"audit_id": a.id},
                    query={"status": ReturnStatus.SUBMITTED.value},
                    hidden=f"submitted to {a.title}",
                )
            ),
        )
        for a in found
        if a.status == AuditStatus.OPEN and a.submitted
    ]
    late = [
        Row(
            a.title,
            f"{plural(a.late, 'return')} not in, {_due(a.returns_due_on)}",
            Link("audits.overview", "See progress", {"audit_id": a.id}, hidden=a.title),
            tag="Late",
        )
        for a in found
        if a.late
    ]
    approvals = _to_approve(session, actor)
    return [
        *_section(
            "Moderation: grades to decide",
            to_decide,
            more_link=Link(
                "audits.list", "See every audit in moderation", query={"status": "moderation"}
            ),
        ),
        *_section(
            "Returns in, waiting for moderation",
            waiting,
            more_link=Link("audits.list", "See every open audit", query={"status": "open"}),
        ),
        *_section("Late returns", late, more_link=Link("audits.list", "See every audit")),
        *_section(
            "Briefings waiting for your approval",
            approvals,
            more_link=Link(
                "briefings.list", "See every submitted briefing", query={"status": "submitted"}
            ),
        ),
    ]


def _to_approve(session: Session, actor: Actor) -> list[Row]:
    """Versions submitted for approval that the actor may approve: not one they wrote
    in (four eyes, app/briefings/workflow.py) and not one they have approved already."""
    approved_by_me = (
        select(BriefingApproval.id)
        .where(
            BriefingApproval.version_id == BriefingVersion.id,
            BriefingApproval.user_id == actor.user_id,
        )
        .exists()
    )
    found = session.execute(
        select(
            BriefingVersion.id,
            BriefingVersion.number,
            BriefingVersion.author_ids,
            BriefingVersion.submitted_at,
            Briefing.title,
        )
        .join(Briefing, Briefing.id == BriefingVersion.briefing_id)
        .where(BriefingVersion.status == VersionStatus.SUBMITTED, ~approved_by_me)
        .order_by(BriefingVersion.submitted_at, BriefingVersion.id)
    ).all()
    return [
        Row(
            v.title,
            f"Version {v.number}, submitted {format_date(v.submitted_at)}",
            Link("briefings.editor", "Review", {"version_id": v.id}, hidden=v.title),
        )
        for v in found
        if actor.user_id not in (v.author_ids or [])
    ]


# --- an administrator ----------------------------------------------------------------------


def _admin(session: Session, actor: Actor, today: date) -> list[Section]:
    planned, due_soon = session.execute(
        select(
            _count(Audit.status == AuditStatus.PLANNED),
            _count(
                and_(
                    Audit.status == AuditStatus.OPEN,
                    Audit.returns_due_on >= today,
                    Audit.returns_due_on <= today + timedelta(days=DUE_SOON_DAYS),
                )
            ),
        )
        .select_from(Audit)
        .where(audit_scope(actor))
    ).one()
    to_publish = session.scalar(
        select(func.count())
        .select_from(BriefingVersion)
        .where(BriefingVersion.status == VersionStatus.APPROVED)
    )
    # Each asked by one administrator and decided by another, never the person it is for
    # (app/access/grants.py ``check_decider``).
    requests = session.scalar(
        select(func.count())
        .select_from(RoleGrantRequest)
        .where(
            RoleGrantRequest.decision == GrantDecision.PENDING,
            RoleGrantRequest.requested_by_id != actor.user_id,
            RoleGrantRequest.user_id != actor.user_id,
        )
    )
    audits = []
    if planned:
        audits.append(
            Row(
                "Planned",
                f"{plural(planned, 'audit')} not yet open",
                Link(
                    "audits.list", "See them", query={"status": "planned"}, hidden="planned audits"
                ),
            )
        )
    if due_soon:
        audits.append(
            Row(
                "Due soon",
                f"{plural(due_soon, 'open audit')} with returns due by "
                f"{format_date(today + timedelta(days=DUE_SOON_DAYS))}",
                Link(
                    "audits.list",
                    "See them",
                    query={"status": "open", "sort": "returns_due_on"},
                    hidden="open audits by due date",
                ),
            )
        )
    briefings = []
    if to_publish:
        briefings.append(
            Row(
                "Approved",
                f"{plural(to_publish, 'briefing version')} approved and ready to publish",
                Link(
                    "briefings.list",
                    "See them",
                    query={"status": "approved"},
                    hidden="approved briefings",
                ),
            )
        )
    grants = []
    if requests:
        grants.append(
            Row(
                "Waiting for you",
                f"{plural(requests, 'request')} to give someone the administrator or moderator "
                "role, for a second administrator to approve or refuse",
                Link("access.role_grants", "See them", hidden="requests for a role"),
            )
        )
    return [
        *_section("Audits", audits),
        *_section("Briefings to publish", briefings),
        *_section("Requests for a role", grants),
    ]


# --- a subgroup chair, and the Executive ---------------------------------------------------


def _executive_from(today: date) -> date:
    """Due before this, an open action is escalated to the Executive (lifecycle.assess)."""
    return today - timedelta(days=get_settings().escalate_to_executive_after_days)


def _overdue(today: date) -> ColumnElement[bool]:
    """The tracker's "overdue" (app/actions/tracker.py): open, due before today."""
    return and_(LearningAction.status.in_(OPEN_ACTIONS), LearningAction.due_on < today)


def _subgroup_chair(session: Session, actor: Actor, today: date) -> list[Section]:
    found = session.execute(
        select(
            Subgroup.id,
            Subgroup.name,
            func.count(LearningAction.id).label("overdue"),
            _count(LearningAction.due_on < _executive_from(today)).label("executive"),
        )
        .select_from(Subgroup)
        .join(Audit, Audit.lead_subgroup_id == Subgroup.id)
        .join(LearningAction, LearningAction.audit_id == Audit.id)
        .where(Subgroup.chair_user_id == actor.user_id, _overdue(today), action_scope(actor))
        .group_by(Subgroup.id, Subgroup.name)
        .order_by(Subgroup.name)
    ).all()
    rows = [
        Row(
            name,
            f"{plural(overdue, 'learning action')} of the audits it leads past "
            f"{_its(overdue)} due date"
            + (f", {executive} of them escalated to the Executive" if executive else ""),
            Link(
                "actions.tracker",
                "See them",
                query={"subgroup_id": subgroup_id, "overdue": "yes"},
                hidden=f"overdue learning actions, {name}",
            ),
            tag="Escalated" if executive else "",
        )
        for subgroup_id, name, overdue, executive in found
    ]
    return _section("Overdue actions escalated to your subgroup", rows)


def _executive(session: Session, actor: Actor, today: date) -> list[Section]:
    escalated = session.scalar(
        select(func.count())
        .select_from(LearningAction)
        .where(
            _overdue(today),
            LearningAction.due_on < _executive_from(today),
            action_scope(actor),
        )
    )
    rows = []
    if escalated:
        rows.append(
            Row(
                "Escalated",
                f"{plural(escalated, 'learning action')} more than "
                f"{get_settings().escalate_to_executive_after_days} days overdue",
                Link(
                    "actions.tracker",
                    "See the overdue actions",
                    query={"overdue": "yes"},
                    hidden="overdue learning actions",
                ),
            )
        )
    return _section("Actions escalated to the Executive", rows)
