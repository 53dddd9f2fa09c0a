"""Who is told what, for each event a person should hear of: each function is called by
the service that makes the change, in its transaction, and queues the e-mails
(app/notifications/service.py queue). Links are to the service's public address
(AUDIT_PUBLIC_URL)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access.models import Role, User
from app.access.policy import ROLE_PERMISSIONS, P
from app.actions.lifecycle import Standing
from app.actions.models import LearningAction
from app.agencies.models import Agency
from app.audits.models import Audit, Child
from app.briefings.models import BriefingVersion
from app.config import get_settings
from app.formatting import format_date
from app.notifications import subscriptions
from app.notifications.service import people, queue
from app.returns.models import Return


def _base() -> dict:
    settings = get_settings()
    return {"partnership": settings.partnership_name, "base": settings.public_url.rstrip("/")}


def _agencies(session: Session, audit: Audit) -> dict[int, str]:
    return dict(
        session.execute(
            select(Agency.id, Agency.name)
            .join(Return, Return.agency_id == Agency.id)
            .where(Return.audit_id == audit.id)
            .distinct()
        ).all()
    )


def _each_agency(
    session: Session,
    *,
    audit: Audit,
    roles: list[Role],
    kind: str,
    context: Callable[[int, str], dict],
) -> None:
    """Queue ``kind`` for the people with ``roles`` in each agency taking part in
    ``audit``, with the context ``context(agency_id, agency_name)`` gives."""
    agencies = _agencies(session, audit)
    by_agency: dict[int, list[User]] = defaultdict(list)
    for user in people(session, roles=roles, agency_ids=agencies):
        by_agency[user.agency_id or 0].append(user)
    for agency_id, users in by_agency.items():
        queue(
            session,
            kind=kind,
            users=users,
            context=context(agency_id, agencies[agency_id]),
            object_type="audit",
            object_id=audit.id,
        )


def audit_opened(session: Session, *, audit: Audit) -> None:
    """Each taking part agency's auditors and lead: the audit is open, with how many
    returns their agency has and when they are due. Not a family survey: families answer
    it by the one-time links an administrator passes on, not the agency's auditors."""
    if audit.survey_of_audit_id is not None:
        return
    base = _base()
    counts = dict(
        session.execute(
            select(Return.agency_id, func.count())
            .where(Return.audit_id == audit.id)
            .group_by(Return.agency_id)
        ).all()
    )
    _each_agency(
        session,
        audit=audit,
        roles=[Role.AUDITOR, Role.AGENCY_LEAD],
        kind="audit_opened",
        context=lambda agency_id, agency: {
            **base,
            "audit_title": audit.title,
            "agency": agency,
            "returns": counts.get(agency_id, 0),
            "due_on": format_date(audit.returns_due_on) if audit.returns_due_on else "",
            "link": f"{base['base']}/my-work",
        },
    )


def return_sent_back(session: Session, *, return_: Return, note: str) -> None:
    """The auditor the return is assigned to, or else its agency's auditors."""
    base = _base()
    audit = session.get(Audit, return_.audit_id)
    child = session.get(Child, return_.child_id)
    agency = session.get(Agency, return_.agency_id)
    assert audit is not None and child is not None and agency is not None
    assigned = session.get(User, return_.assigned_to_id) if return_.assigned_to_id else None
    users = (
        [assigned]
        if assigned is not None and assigned.active
        else people(session, roles=[Role.AUDITOR], agency_ids=[return_.agency_id])
    )
    queue(
        session,
        kind="return_sent_back",
        users=users,
        context={
            **base,
            "audit_title": audit.title,
            # In an audit about agencies the case is the agency itself: no one else named.
            "child": "" if audit.about_agencies else child.pseudonym,
            "agency": agency.name,
            "note": note,
            "link": f"{base['base']}/returns/{return_.id}",
        },
        object_type="return",
        object_id=return_.id,
    )


def moderation_opened(session: Session, *, audit: Audit) -> None:
    """Each taking part agency's lead: its returns are now locked and its grades seen."""
    base = _base()
    meeting_on = format_date(audit.moderation_meeting_on) if audit.moderation_meeting_on else ""
    _each_agency(
        session,
        audit=audit,
        roles=[Role.AGENCY_LEAD],
        kind="moderation_opened",
        context=lambda _agency_id, agency: {
            **base,
            "audit_title": audit.title,
            "agency": agency,
            "meeting_on": meeting_on,
            "link": f"{base['base']}/audits/{audit.id}",
        },
    )


def briefing_awaiting_approval(
    session: Session,
    *,
    version_id: int,
    title: str,
    number: int,
    submitted_by: str,
    authors: set[int],
) -> None:
    """Everyone who may approve briefings, except the version's authors (who may not)."""
    base = _base()
    approvers = [r for r, granted in ROLE_PERMISSIONS.items() if P.BRIEFING_APPROVE in granted]
    users = [u for u in people(session, roles=approvers) if u.id not in authors]
    queue(
        session,
        kind="briefing_awaiting_approval",
        users=users,
        context={
            **base,
            "title": title,
            "number": number,
            "submitted_by": submitted_by,
            "link": f"{base['base']}/briefings/versions/{version_id}",
        },
        object_type="briefing_version",
        object_id=version_id,
    )


def questionnaire_sent(session: Session, *, title: str, questionnaire: Audit) -> None:
    """Each agency's lead asked to answer the assurance questionnaire."""
    base = _base()
    due_on = format_date(questionnaire.returns_due_on) if questionnaire.returns_due_on else ""
    _each_agency(
        session,
        audit=questionnaire,
        roles=[Role.AGENCY_LEAD],
        kind="questionnaire_sent",
        context=lambda _agency_id, agency: {
            **base,
            "title": title,
            "agency": agency,
            "due_on": due_on,
            "link": f"{base['base']}/my-work",
        },
    )


# --- learning actions: overdue, then escalated ------------------------------------------


def _action_context(action: LearningAction, standing: Standing) -> dict:
    base = _base()
    audit = action.audit
    return {
        **base,
        "action_title": action.title,
        "audit_title": audit.title,
        "agency": action.owning_agency.name,
        "owner": action.owner_name,
        "due_on": format_date(action.due_on),
        "days_overdue": standing.overdue_days,
        "subgroup": audit.lead_subgroup.name if audit.lead_subgroup else "",
        "link": f"{base['base']}/actions/{action.id}",
    }


def _chair(session: Session, action: LearningAction) -> list[User]:
    subgroup = action.audit.lead_subgroup
    if subgroup is None or subgroup.chair_user_id is None:
        return []
    chair = session.get(User, subgroup.chair_user_id)
    return [chair] if chair is not None else []


def action_overdue(session: Session, *, action: LearningAction, standing: Standing) -> None:
    """An action has passed its due date: its named owner, its agency's leads and the
    chair of the subgroup leading its audit (to which it is now escalated)."""
    owner = session.get(User, action.owner_user_id) if action.owner_user_id else None
    users = [
        *([owner] if owner is not None else []),
        *people(session, roles=[Role.AGENCY_LEAD], agency_ids=[action.owning_agency_id]),
        *_chair(session, action),
    ]
    queue(
        session,
        kind="action_overdue",
        users=users,
        context=_action_context(action, standing),
        object_type="learning_action",
        object_id=action.id,
    )


def action_escalated(session: Session, *, action: LearningAction, standing: Standing) -> None:
    """An action overdue longer than the escalation threshold: the Executive's members,
    and the lead subgroup's chair, who answers for it there."""
    queue(
        session,
        kind="action_escalated",
        users=[*people(session, roles=[Role.EXECUTIVE]), *_chair(session, action)],
        context=_action_context(action, standing),
        object_type="learning_action",
        object_id=action.id,
    )


# --- briefings published, for those following their themes -----------------------------


def briefing_published(session: Session, *, version: BriefingVersion, updated: bool) -> None:
    """A learning briefing published (``updated``: a new version of one published
    before): everyone following one of its themes."""
    briefing = version.briefing
    on = subscriptions.briefing_themes(session, audit=briefing.drafted_from)
    base = _base()
    queue(
        session,
        kind="briefing_published",
        users=subscriptions.followers(session, theme_ids=[t.id for t in on]),
        context={
            **base,
            "title": briefing.title,
            "themes": ", ".join(t.name for t in on),
            "updated": updated,
            "link": f"{base['base']}/library/{briefing.id}",
            "subscriptions": f"{base['base']}/notifications/themes",
        },
        object_type="briefing_version",
        object_id=version.id,
    )


# --- accounts ---------------------------------------------------------------------------


def registration_waiting(session: Session, *, registration, agency: Agency) -> None:
    """Someone signed in with their organisation's identity provider and asked for an
    account: the administrators, and the agency's leads, who may approve it."""
    base = _base()
    approvers = [
        *people(
            session,
            roles=[r for r, granted in ROLE_PERMISSIONS.items() if P.USER_MANAGE in granted],
        ),
        *people(session, roles=[Role.AGENCY_LEAD], agency_ids=[agency.id]),
    ]
    queue(
        session,
        kind="registration_waiting",
        users=approvers,
        context={
            **base,
            "person": registration.display_name,
            "email": registration.email,
            "agency": agency.name,
            "link": f"{base['base']}/admin/registrations",
        },
        object_type="sso_registration",
        object_id=registration.id,
    )
