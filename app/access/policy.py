"""Need-to-know, in one place: what each role may do, and which objects each person
may see. Every query for returns (and audits, children and progress) takes its
WHERE clause from here; each route's required permission is in ``app.access.rules``.

An object the caller may not see is filtered out of the query, so it answers 404
exactly as if it did not exist and never appears in a list, a count or a search.
A role that may not use a route at all gets 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import aliased

from app.access.models import Role
from app.audits.models import Audit, AuditStatus, Child, Involvement, audit_agency
from app.briefings.models import Briefing
from app.errors import AppError
from app.returns.models import EDITABLE_STATUSES, Return, ReturnStatus


class Permission(StrEnum):
    PUBLIC = "public"  # no sign-in needed
    SIGNED_IN = "signed_in"  # any signed-in person: their own account, sessions, tokens
    REFERENCE_READ = "reference.read"  # agencies and subgroups
    REFERENCE_MANAGE = "reference.manage"
    TEMPLATE_READ = "template.read"
    TEMPLATE_MANAGE = "template.manage"
    AUDIT_READ = "audit.read"  # audits, cohorts, progress (each filtered below)
    AUDIT_MANAGE = "audit.manage"  # plan audits, cohorts, involvements; open
    RETURN_READ = "return.read"
    RETURN_EDIT = "return.edit"  # save drafts and submit: an auditor, own agency only
    RETURN_REOPEN = "return.reopen"
    RETURN_ASSIGN = "return.assign"  # an agency lead gives its returns to its auditors
    RETURN_SIGN_OFF = "return.sign_off"  # an agency lead signs off its returns (if asked)
    USER_MANAGE = "user.manage"
    AUDIT_LOG_READ = "audit_log.read"
    MODERATE = "moderate"  # open moderation, decide grades, send returns back, finish
    FINDING_MANAGE = "finding.manage"  # record an audit's findings
    ACTION_READ = "action.read"  # the action tracker (actions name no child)
    ACTION_MANAGE = "action.manage"  # create, edit, agree, refuse and close actions
    ACTION_UPDATE = "action.update"  # progress and evidence; agency leads: own agency only
    BRIEFING_EDIT = "briefing.edit"  # draft, edit, submit for approval, publish, withdraw
    BRIEFING_APPROVE = "briefing.approve"  # a moderator or the QAPP chair
    # A briefing's assurance questionnaire, for one's own agency: its auditors and its
    # lead (who answers for the agency as a whole), through the briefings API.
    ASSURANCE_ANSWER = "assurance.answer"
    # The return pages' forms (save an area, the whole case, submit): an auditor's into
    # their agency's returns, a lead's into their agency's assurance questionnaire only
    # (which of the two the object check says: app/returns/service.py ``may_write``).
    RETURN_ANSWER = "return.answer"
    # Requests for an account from people who signed in with their organisation's
    # identity provider (app/access/sso.py): administrators decide any, an agency lead
    # their own agency's.
    ACCOUNT_APPROVE = "account.approve"
    # The year's programme of audits (its timeline and spreadsheet); changing it is
    # planning audits (AUDIT_MANAGE).
    PROGRAMME_READ = "programme.read"


P = Permission


class Via(StrEnum):
    """How the actor came to be asking; stored and shown as the plain value."""

    SESSION = "session"  # a browser's web session
    TOKEN = "token"  # a personal API token
    CLI = "cli"  # audit-tools on the server (and the demo data it loads)
    SYSTEM = "system"  # the service itself, reading what its documents are drawn from
    ANONYMOUS = "anonymous"  # nobody signed in


_READ = {P.SIGNED_IN, P.REFERENCE_READ, P.TEMPLATE_READ, P.AUDIT_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # The business unit plans audits and keeps the reference data, but does not
    # read what agencies wrote about children: it sees progress counts only.
    Role.ADMIN: frozenset(
        _READ
        | {P.REFERENCE_MANAGE, P.TEMPLATE_MANAGE, P.AUDIT_MANAGE, P.USER_MANAGE, P.AUDIT_LOG_READ}
        | {P.ACTION_READ, P.ACTION_MANAGE, P.ACTION_UPDATE, P.BRIEFING_EDIT}
        | {P.ACCOUNT_APPROVE, P.PROGRAMME_READ}
    ),
    Role.AUDITOR: frozenset(
        _READ | {P.RETURN_READ, P.RETURN_EDIT, P.RETURN_ANSWER, P.ACTION_READ, P.ASSURANCE_ANSWER}
    ),
    Role.MODERATOR: frozenset(
        _READ
        | {P.RETURN_READ, P.RETURN_REOPEN, P.MODERATE, P.FINDING_MANAGE}
        | {P.ACTION_READ, P.ACTION_MANAGE, P.ACTION_UPDATE}
        | {P.BRIEFING_EDIT, P.BRIEFING_APPROVE, P.PROGRAMME_READ}
    ),
    Role.AGENCY_LEAD: frozenset(
        _READ
        | {P.RETURN_READ, P.RETURN_ASSIGN, P.RETURN_SIGN_OFF, P.ACTION_READ, P.ACTION_UPDATE}
        | {P.ASSURANCE_ANSWER, P.RETURN_ANSWER, P.ACCOUNT_APPROVE, P.PROGRAMME_READ}
    ),
    Role.PRACTITIONER: frozenset({P.SIGNED_IN}),
    Role.SCRUTINEER: frozenset(
        _READ | {P.RETURN_READ, P.AUDIT_LOG_READ, P.ACTION_READ, P.PROGRAMME_READ}
    ),
    # Those an overdue learning action is escalated to: they follow audits and their
    # actions across the partnership, and read no return.
    Role.SUBGROUP_CHAIR: frozenset(_READ | {P.ACTION_READ, P.PROGRAMME_READ}),
    Role.EXECUTIVE: frozenset(_READ | {P.ACTION_READ, P.PROGRAMME_READ}),
}

# Roles that see every audit and every return they may read at all; the others
# (auditors and agency leads) see only what concerns their own agency.
PARTNERSHIP_WIDE = frozenset(
    {Role.ADMIN, Role.MODERATOR, Role.SCRUTINEER, Role.SUBGROUP_CHAIR, Role.EXECUTIVE}
)


@dataclass(frozen=True)
class Actor:
    """Who is asking, however they signed in (password, token, or later SSO)."""

    user_id: int | None
    label: str
    roles: frozenset[Role] = frozenset()
    agency_id: int | None = None
    via: Via = Via.SESSION
    credential_id: int | None = None  # the web session's or token's id
    name: str = ""  # how pages name the person (their display name, not their e-mail)
    permissions: frozenset[Permission] = field(init=False)

    def __post_init__(self) -> None:
        granted = {P.PUBLIC}
        for role in self.roles:
            granted |= ROLE_PERMISSIONS[role]
        object.__setattr__(self, "permissions", frozenset(granted))

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def partnership_wide(self) -> bool:
        return bool(self.roles & PARTNERSHIP_WIDE)


ANONYMOUS = Actor(user_id=None, label="anonymous", via=Via.ANONYMOUS)
SYSTEM = Actor(user_id=None, label="system", roles=frozenset(Role), via=Via.SYSTEM)


class NotSignedIn(AppError):
    status_code = 401
    code = "not_signed_in"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


S = TypeVar("S")
_BUILT: dict[tuple, Any] = {}


def per_scope(name: str, actor: Actor, build: Callable[[Actor], S]) -> S:
    """``build(actor)`` (a statement), built once for everyone who sees the same: the
    scopes here depend only on an actor's roles, agency and way in, and ``build`` is
    given an actor with nothing else (no user id, no name). A statement built once is
    keyed for SQLAlchemy's compiled cache once, not on every request (0.1-0.2 ms of a
    read, bench/api.py); what varies between requests must be a bind parameter."""
    key = (name, actor.roles, actor.agency_id, actor.via)
    found = _BUILT.get(key)
    if found is None:
        # As many as there are kinds of reader (sets of roles, times agencies), not people.
        seeing = Actor(None, name, actor.roles, actor.agency_id, actor.via)
        found = _BUILT[key] = build(seeing)
    return found


def require(actor: Actor, permission: Permission) -> None:
    if actor.may(permission):
        return
    if actor.user_id is None and actor.via == Via.ANONYMOUS:
        raise NotSignedIn("Sign in to use this service.")
    raise Forbidden("Your role does not allow this.")


# --- which objects each person may see -------------------------------------------


def return_scope(actor: Actor) -> ColumnElement[bool]:
    """Returns the actor may read: all for moderators and scrutineers, their own
    agency's for auditors and agency leads, none for anyone else."""
    if not actor.may(P.RETURN_READ):
        return false()
    if actor.roles & {Role.MODERATOR, Role.SCRUTINEER} or actor.via == Via.SYSTEM:
        return true()
    if actor.agency_id is None:
        return false()
    own = Return.agency_id == actor.agency_id
    revealed = _revealed_to_agency(actor.agency_id)
    if Role.AGENCY_LEAD in actor.roles:
        # Leads own their agency's learning from the audit, whatever its stage.
        return or_(own, revealed)
    # An auditor works on returns while the audit is open (or, in moderation, on one
    # not in yet: late, or sent back for amendment, and not left out); before and
    # after, they are not theirs to read.
    audit = aliased(Audit)  # the outer query may join Audit itself
    workable = (
        select(audit.id)
        .where(
            audit.id == Return.audit_id,
            or_(
                audit.status == AuditStatus.OPEN,
                and_(audit.status == AuditStatus.MODERATION, still_to_come()),
            ),
        )
        .correlate(Return)
        .exists()
    )
    return or_(and_(own, workable), revealed, and_(own, _answered_questionnaire()))


def _answered_questionnaire() -> ColumnElement[bool]:
    """A briefing's assurance questionnaire that the agency has answered: its auditors
    still read what it said once the questionnaire closes (which the last answer does,
    as it is submitted). It names no child."""
    return Return.status.in_(SUBMITTED_STATUSES) & (
        select(Briefing.id).where(Briefing.assurance_audit_id == Return.audit_id).exists()
    )


def still_to_come() -> ColumnElement[bool]:
    """A return an auditor may still work on during moderation: not submitted (late,
    or sent back for amendment) and not left out of moderation by the chair."""
    return and_(Return.status.in_(EDITABLE_STATUSES), Return.excluded_at.is_(None))


# Once the chair opens moderation, the audit is no longer blind: for the moderation
# meeting, each participating agency may read every return of it (read-only). Before
# and after, an auditor reads only their own agency's returns, and only while working.
REVEALED = AuditStatus.MODERATION
SUBMITTED_STATUSES = (ReturnStatus.SUBMITTED, ReturnStatus.MODERATED)
# Moderated grades exist from moderation on: aggregate figures (never a return) show.
MODERATED_STATUSES = (AuditStatus.MODERATION, AuditStatus.LEARNING, AuditStatus.CLOSED)


def _revealed_to_agency(agency_id: int) -> ColumnElement[bool]:
    """The returns of an audit in moderation that each participating agency may read:
    those submitted. One still to come (late, or sent back) stays its own agency's
    until it is in: no agency reads another's draft."""
    audit = aliased(Audit)
    return Return.status.in_(SUBMITTED_STATUSES) & (
        select(audit.id)
        .where(
            audit.id == Return.audit_id,
            audit.status == REVEALED,
            select(audit_agency.c.audit_id)
            .where(audit_agency.c.audit_id == audit.id, audit_agency.c.agency_id == agency_id)
            .exists(),
        )
        .correlate(Return)
        .exists()
    )


def return_count_scope(actor: Actor) -> ColumnElement[bool]:
    """Returns counted in progress views: the admin also sees every count."""
    if actor.partnership_wide:
        return true()
    return return_scope(actor)


def audit_scope(actor: Actor) -> ColumnElement[bool]:
    if not actor.may(P.AUDIT_READ):
        return false()
    if actor.partnership_wide or actor.via == Via.SYSTEM:
        return true()
    if actor.agency_id is not None:
        return (
            select(audit_agency.c.audit_id)
            .where(audit_agency.c.audit_id == Audit.id, audit_agency.c.agency_id == actor.agency_id)
            .exists()
        )
    return false()


def child_scope(actor: Actor) -> ColumnElement[bool]:
    """Children of the cohort: agency-bound people see only children their agency
    was involved with."""
    if not actor.may(P.AUDIT_READ):
        return false()
    if actor.partnership_wide or actor.via == Via.SYSTEM:
        return true()
    if actor.agency_id is not None:
        return (
            select(Involvement.id)
            .where(Involvement.child_id == Child.id, Involvement.agency_id == actor.agency_id)
            .exists()
        )
    return false()


def involvement_scope(actor: Actor) -> ColumnElement[bool]:
    if actor.partnership_wide or actor.via == Via.SYSTEM:
        return true()
    if actor.agency_id is not None:
        return Involvement.agency_id == actor.agency_id
    return false()


def may_edit_return(actor: Actor, agency_id: int) -> bool:
    """An auditor edits only their own agency's returns (the audit must also be open:
    the returns service checks that); ``agency_id`` is the return's agency."""
    return (
        actor.may(P.RETURN_EDIT)
        and Role.AUDITOR in actor.roles
        and actor.agency_id is not None
        and agency_id == actor.agency_id
    ) or actor.via == Via.SYSTEM


def may_answer_questionnaire(actor: Actor, agency_id: int) -> bool:
    """A briefing's assurance questionnaire (only that: the caller checks the return is
    one) is answered for its agency by the agency's auditors, as any return is, or by its
    lead, who answers for the agency as a whole; ``agency_id`` is the return's agency."""
    return actor.may(P.ASSURANCE_ANSWER) and (
        may_edit_return(actor, agency_id) or may_lead_agency(actor, agency_id)
    )


def may_lead_agency(actor: Actor, agency_id: int) -> bool:
    """The agency's own lead: who assigns its returns to its auditors and, where an audit
    asks, signs them off; ``agency_id`` is the return's agency."""
    return (
        Role.AGENCY_LEAD in actor.roles
        and actor.agency_id is not None
        and agency_id == actor.agency_id
    ) or actor.via == Via.SYSTEM


def may_update_action(actor: Actor, agency_id: int) -> bool:
    """Progress and evidence on a learning action: moderators and admins (who manage
    actions) on any action, an agency lead only on their own agency's; ``agency_id``
    is the action's owning agency."""
    if not actor.may(P.ACTION_UPDATE):
        return False
    if actor.may(P.ACTION_MANAGE) or actor.via == Via.SYSTEM:
        return True
    return actor.agency_id is not None and agency_id == actor.agency_id
