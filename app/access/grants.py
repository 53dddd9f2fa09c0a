"""Who may change whose roles: least privilege for the people who manage accounts.

- Nobody grants themselves a role: a change that adds any role to the caller's own
  account is refused (403, ``SelfGrantRefused``).
- Giving someone admin, moderator or scrutineer, when a person asks (a web session or an API
  token), is kept as a pending ``RoleGrantRequest``; their roles change only when
  another administrator, neither the one who asked nor the person it is for,
  approves it (approving or refusing your own request, or one for you, is 403,
  ``OwnRequestRefused``). ``audit-tools`` on the server grants directly: whoever can
  run it can reach the database anyway, and it is logged as the command line.
- The last active administrator cannot lose the role or be disabled (409,
  ``LastAdminRefused``): someone must be left to give it back.
- Nobody resets the password or the authenticator of another account holding such a
  role, except on the server (403, ``TakeoverRefused``): signing in as it would get
  round every rule above.

Each refusal is logged. The change it refuses writes nothing, so the row is written
by ``refusals_logged`` outside the change's savepoint, and the route keeps its
refusals (``@transactional(keep_refusals=True)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access.models import GrantDecision, Role, RoleGrantRequest, User, UserRole
from app.access.policy import Actor, Via
from app.auditlog import service as auditlog
from app.clock import utcnow
from app.errors import AppError, FieldError, InvalidInput, NotFound, StateError
from app.pagination import PageParams, page_of

# Roles that read what every agency wrote about children, or manage who may: giving
# them takes two administrators (the scrutineer reads every return and the log).
NEEDS_SECOND_ADMIN = frozenset({Role.ADMIN, Role.MODERATOR, Role.SCRUTINEER})
# pg_advisory_xact_lock key for changes that take the admin role away (any constant).
ADMINS_LOCK = 0x61646D696E73  # "admins"
REASON_MAX = 1000


class Refusal(AppError):
    """A change to someone's access refused by one of the rules above. It carries the
    audit-log row that records it, and the page field its message belongs to."""

    action = "access.refused"
    field = "roles"
    kept = True  # its audit-log row (``refusals_logged``) is committed on a keeping route

    def __init__(
        self, message: str, *, object_type: str, object_id: int, after: dict | None = None
    ) -> None:
        super().__init__(message)
        self.object_type = object_type
        self.object_id = object_id
        self.after = after


class SelfGrantRefused(Refusal):
    status_code = 403
    code = "own_roles"
    action = "user.self_grant_refused"


class OwnRequestRefused(Refusal):
    status_code = 403
    code = "own_request"
    action = "role_grant.decision_refused"
    field = "decision"


class LastAdminRefused(Refusal):
    status_code = 409
    code = "last_admin"
    action = "user.last_admin_refused"


class TakeoverRefused(Refusal):
    status_code = 403
    code = "privileged_account"
    action = "user.reset_refused"
    field = "user"


def check_reset(actor: Actor, user: User, what: str) -> None:
    """An administrator may not set the password of, or reset the authenticator of,
    another account that holds a role needing two administrators: they could then sign
    in as it (and, as another administrator, approve their own requests). That is done
    on the server (``audit-tools users reset-password``), where it is logged as the
    command line."""
    if by_person(actor) and actor.user_id != user.id and user.roles & NEEDS_SECOND_ADMIN:
        raise TakeoverRefused(
            f"{user.display_name} holds a role that takes two administrators to give, so "
            f"their {what} can only be reset on the server (audit-tools users), not here.",
            object_type="user",
            object_id=user.id,
            after={"refused": what},
        )


def log_refusal(session: Session, refusal: Refusal) -> None:
    auditlog.record(
        session,
        action=refusal.action,
        object_type=refusal.object_type,
        object_id=refusal.object_id,
        after={"refused": refusal.code, **(refusal.after or {})},
    )


@contextmanager
def refusals_logged(session: Session) -> Iterator[None]:
    """Run a change to someone's access in a savepoint. A ``Refusal`` undoes whatever
    the change wrote, writes the refusal's audit-log row, and is raised again for the
    caller to answer (on a route that keeps its refusals, so the row stays)."""
    try:
        with session.begin_nested():
            yield
    except Refusal as refusal:
        session.expire_all()
        log_refusal(session, refusal)
        raise


def _values(roles: Iterable[Role]) -> list[str]:
    return sorted(r.value for r in roles)


def by_person(actor: Actor) -> bool:
    """Whether a person asks (signed in, or with their token), rather than the server's
    own command line or the system."""
    return actor.via in (Via.SESSION, Via.TOKEN)


def needs_second_admin(actor: Actor, added: set[Role]) -> bool:
    return by_person(actor) and bool(added & NEEDS_SECOND_ADMIN)


def check_change(
    session: Session, *, actor: Actor, user: User, roles: set[Role], active: bool
) -> None:
    """Refuse a change that would give the caller a role of their own, or leave the
    service without an active administrator."""
    added = roles - user.roles
    if actor.user_id is not None and actor.user_id == user.id and added:
        raise SelfGrantRefused(
            "You cannot give yourself a role: ask another administrator.",
            object_type="user",
            object_id=user.id,
            after={"roles": _values(roles)},
        )
    refusal = last_admin_refusal(session, user=user, roles=roles, active=active)
    if refusal is not None:
        raise refusal


def last_admin_refusal(
    session: Session, *, user: User, roles: set[Role], active: bool
) -> LastAdminRefused | None:
    """The refusal, if giving ``user`` these roles and active flag would leave no active
    administrator."""
    loses_admin = (
        Role.ADMIN in user.roles and user.active and (Role.ADMIN not in roles or not active)
    )
    if not loses_admin or _other_active_admins(session, user.id) > 0:
        return None
    what = "disabled" if not active else "removed from the administrator role"
    return LastAdminRefused(
        f"{user.display_name} is the last active administrator and cannot be {what}: "
        "give someone else the administrator role first.",
        object_type="user",
        object_id=user.id,
        after={"roles": _values(roles), "active": active},
    )


def _other_active_admins(session: Session, user_id: int) -> int:
    if session.get_bind().dialect.name == "postgresql":
        # Two administrators removing each other at once: the second waits here until
        # the first commits, then counts what it left (SQLite's writers already queue).
        session.execute(select(func.pg_advisory_xact_lock(ADMINS_LOCK)))
    return (
        session.scalar(
            select(func.count(User.id)).where(
                User.id != user_id,
                User.active.is_(True),
                User.role_rows.any(UserRole.role == Role.ADMIN),
            )
        )
        or 0
    )


# --- requests ----------------------------------------------------------------------------


def ask(session: Session, *, actor: Actor, user: User, roles: set[Role]) -> RoleGrantRequest:
    """Keep ``roles`` (all the person's roles once approved) pending for a second
    administrator. A request already pending for the person is replaced by this one."""
    if actor.user_id is None:  # by_person: there is always someone
        raise StateError("Only a person can ask for a role to be granted.")
    session.refresh(user, ["active"], with_for_update=True)  # one request at a time
    waiting = session.scalars(
        select(RoleGrantRequest).where(
            RoleGrantRequest.user_id == user.id,
            RoleGrantRequest.decision == GrantDecision.PENDING,
        )
    ).all()
    for earlier in waiting:
        earlier.decision = GrantDecision.REPLACED
        earlier.decided_by_id = actor.user_id
        earlier.decided_by_label = actor.label
        earlier.decided_at = utcnow()
        auditlog.record(
            session,
            action="role_grant.replace",
            object_type="role_grant_request",
            object_id=earlier.id,
            after={"decision": GrantDecision.REPLACED.value},
        )
    request = RoleGrantRequest(
        user_id=user.id,
        roles=_values(roles),
        roles_before=_values(user.roles),
        requested_by_id=actor.user_id,
        requested_by_label=actor.label,
        requested_at=utcnow(),
        decision=GrantDecision.PENDING,
        decided_by_label="",
        reason="",
    )
    session.add(request)
    session.flush()
    auditlog.record(
        session,
        action="role_grant.request",
        object_type="role_grant_request",
        object_id=request.id,
        after={"user_id": user.id, "roles": request.roles, "roles_before": request.roles_before},
    )
    return request


def check_decider(actor: Actor, request: RoleGrantRequest) -> None:
    """A request is decided by a second administrator: not whoever asked, and not the
    person it would give the roles to."""
    if actor.user_id is None or actor.user_id not in (request.requested_by_id, request.user_id):
        return
    mine = actor.user_id == request.requested_by_id
    raise OwnRequestRefused(
        "You asked for this change: another administrator must approve or refuse it."
        if mine
        else "This change gives you roles: another administrator must approve or refuse it.",
        object_type="role_grant_request",
        object_id=request.id,
        after={"as": "requester" if mine else "subject"},
    )


def lock_pending(session: Session, request: RoleGrantRequest) -> None:
    """Re-read the request under its row lock; refuse (409) if it is decided already."""
    session.refresh(request, with_for_update=True)
    if request.decision != GrantDecision.PENDING:
        raise StateError(
            f"This request has been {request.decision.value} already: nothing was changed."
        )


def close(
    session: Session,
    *,
    request: RoleGrantRequest,
    actor: Actor,
    approved: bool,
    reason: str = "",
) -> RoleGrantRequest:
    """Record the decision (the caller has applied an approval's roles)."""
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise InvalidInput(
            "The reason is too long.",
            fields=[FieldError("reason", f"Must be {REASON_MAX} characters or fewer")],
        )
    request.decision = GrantDecision.APPROVED if approved else GrantDecision.REFUSED
    request.decided_by_id = actor.user_id
    request.decided_by_label = actor.label
    request.decided_at = utcnow()
    request.reason = "" if approved else reason
    session.flush()
    auditlog.record(
        session,
        action="role_grant.approve" if approved else "role_grant.refuse",
        object_type="role_grant_request",
        object_id=request.id,
        after={"decision": request.decision.value, "reason": request.reason},
    )
    return request


def get_request(session: Session, *, request_id: int) -> RoleGrantRequest:
    request = session.get(RoleGrantRequest, request_id)
    if request is None:
        raise NotFound(f"There is no role request with id {request_id}.")
    return request


def list_requests(
    session: Session, *, params: PageParams, pending: bool | None = True
) -> tuple[list[RoleGrantRequest], int]:
    """Requests newest first: only those waiting (the default), only those decided
    (``pending=False``), or all (None)."""
    stmt = select(RoleGrantRequest).order_by(
        RoleGrantRequest.requested_at.desc(), RoleGrantRequest.id.desc()
    )
    if pending is not None:
        waiting = RoleGrantRequest.decision == GrantDecision.PENDING
        stmt = stmt.where(waiting if pending else ~waiting)
    return page_of(session, stmt, params)


def pending_for(session: Session, *, user_ids: Iterable[int]) -> dict[int, RoleGrantRequest]:
    """The request waiting for each of these people, if any (one query)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    return {
        r.user_id: r
        for r in session.scalars(
            select(RoleGrantRequest).where(
                RoleGrantRequest.user_id.in_(ids),
                RoleGrantRequest.decision == GrantDecision.PENDING,
            )
        )
    }


def names(session: Session, requests: Iterable[RoleGrantRequest]) -> dict[int, str]:
    """The display names of the people the requests are for (one query)."""
    ids = sorted({r.user_id for r in requests})
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
