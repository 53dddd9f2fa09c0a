"""Accounts and API tokens: creating, changing, disabling.

Any change to a person's roles, agency or active flag ends their web sessions at
once, so what they may see changes with it. Who may change whose roles (nobody their
own; admin and moderator only with a second administrator's approval; never the
last administrator away) is ``app.access.grants``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from app.access import grants, kept
from app.access.auth import TOKEN_PREFIX
from app.access.models import (
    AGENCY_ROLES,
    ApiToken,
    ExternalIdentity,
    RecoveryCode,
    Role,
    RoleGrantRequest,
    User,
    UserRole,
    WebSession,
)
from app.access.policy import Actor
from app.access.secrets import digest, hash_password, new_token, password_problem
from app.agencies.models import Agency
from app.auditlog import service as auditlog
from app.clock import utcnow
from app.context import current
from app.db import get_or_404, rows_matched
from app.errors import Conflict, FieldError, InvalidInput, NotFound
from app.pagination import PageParams, page_of


def _check_roles(session: Session, roles: set[Role], agency_id: int | None) -> None:
    if roles & AGENCY_ROLES and agency_id is None:
        raise InvalidInput(
            "Auditors and agency leads belong to one agency.",
            fields=[
                FieldError("agency_id", "Choose the agency an auditor or agency lead works for")
            ],
        )
    if agency_id is not None:
        agency = session.get(Agency, agency_id)
        if agency is None or not agency.active:
            raise InvalidInput(
                "The agency cannot be used.",
                fields=[FieldError("agency_id", "Choose an agency that is still active")],
            )


def _check_password(password: str, field: str = "password") -> None:
    problem = password_problem(password)
    if problem:
        raise InvalidInput(
            f"The password {problem}.", fields=[FieldError(field, f"The password {problem}")]
        )


def user_view(user: User) -> dict:
    return {
        "email": user.email,
        "display_name": user.display_name,
        "roles": sorted(r.value for r in user.roles),
        "agency_id": user.agency_id,
        "active": user.active,
    }


def create_user(
    session: Session,
    *,
    email: str,
    display_name: str,
    roles: set[Role],
    agency_id: int | None = None,
    password: str | None = None,
    actor: Actor | None = None,
) -> User:
    """Add a person. Without a password they can sign in only once one is set. Admin
    or moderator asked by a person (``actor``, by default whoever the request or
    command is for) waits for a second administrator: the account is made with the
    other roles, and a request for all of them is kept pending."""
    actor = actor or current().actor
    email = email.strip().lower()
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise Conflict(
            "Someone with this e-mail address already has an account.",
            fields=[FieldError("email", "Already has an account")],
        )
    _check_roles(session, roles, agency_id)
    if password is not None:
        _check_password(password)
    waits = grants.needs_second_admin(actor, roles)
    user = User(
        email=email,
        display_name=display_name,
        agency_id=agency_id,
        active=True,
        password_hash=hash_password(password) if password else None,
        password_changed_at=utcnow() if password else None,
        role_rows=[
            UserRole(role=r)
            for r in sorted(roles)
            if not (waits and r in grants.NEEDS_SECOND_ADMIN)
        ],
    )
    session.add(user)
    session.flush()
    auditlog.record(
        session, action="user.create", object_type="user", object_id=user.id, after=user_view(user)
    )
    if waits:
        grants.ask(session, actor=actor, user=user, roles=set(roles))
    return user


def get_user(session: Session, *, user_id: int) -> User:
    return get_or_404(session, User, user_id, what="user")


def find_user(session: Session, *, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"There is no user {email}.")
    return user


def end_sessions(session: Session, *, user: User, reason: str) -> int:
    # What was kept from a timed-out session is not posted after an access change.
    kept.forget(session, user_id=user.id)
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )
    return rows_matched(result) or 0


def update_user(session: Session, *, user: User, changes: dict, actor: Actor | None = None) -> User:
    """Change roles, agency, name or active flag (``change_user``)."""
    return change_user(session, user=user, changes=changes, actor=actor)[0]


def change_user(
    session: Session, *, user: User, changes: dict, actor: Actor | None = None
) -> tuple[User, RoleGrantRequest | None]:
    """Change roles, agency, name or active flag; access changes end their sessions.
    A new agency also revokes their tokens and, unless the change names their roles,
    takes away the auditor and agency lead roles (their old agency's); enabling an
    account again counts as its use (app/access/leavers.py).

    ``actor`` (by default whoever the request or command is for) may not add a role
    to their own account (403) nor take the admin role from, or disable, the last
    active administrator (409): ``grants.Refusal``, which changes nothing. Roles that
    add admin or moderator, asked by a person, are kept pending for a second
    administrator (the request is returned); the rest of the change is made now."""
    actor = actor or current().actor
    changes = dict(changes)
    moved_from = user.agency_id
    moved = "agency_id" in changes and changes["agency_id"] != moved_from
    named = "roles" in changes
    asked = set(changes.pop("roles", user.roles))
    if moved and not named:
        # A mover: what their old agency's role gave them goes with it, unless this very
        # change names their roles at the new agency.
        asked -= AGENCY_ROLES
    if changes.get("active") is True and not user.active:
        # Enabled again: counted as used now, or the next inactivity run (app/access/
        # leavers.py) would disable it again at once.
        changes.update(last_active_at=utcnow(), inactivity_notice_at=None, disabled_reason=None)
    agency_id = changes.get("agency_id", user.agency_id)
    _check_roles(session, asked, agency_id)
    grants.check_change(
        session, actor=actor, user=user, roles=asked, active=changes.get("active", user.active)
    )
    request = None
    roles = asked
    if asked != user.roles and grants.needs_second_admin(actor, asked - user.roles):
        roles = set(user.roles)
        _check_roles(session, roles, agency_id)  # what they keep meanwhile must fit
        request = grants.ask(session, actor=actor, user=user, roles=asked)
    held = set(user.roles)
    _apply(session, user, roles, changes)
    if moved:
        _moved(session, user, moved_from, held - set(user.roles))
    return user, request


def _moved(session: Session, user: User, moved_from: int | None, dropped: set[Role]) -> None:
    """A mover's tokens stop too (their sessions ended with the change), logged with
    the roles the move took away."""
    revoked = revoke_tokens(session, user=user)
    # Their old organisation's identity provider no longer signs them in here: the new
    # one's links itself at their first sign-in with it (app/access/sso.py).
    unlinked = rows_matched(
        session.execute(delete(ExternalIdentity).where(ExternalIdentity.user_id == user.id))
    )
    auditlog.record(
        session,
        action="user.move",
        object_type="user",
        object_id=user.id,
        before={"agency_id": moved_from},
        after={
            "agency_id": user.agency_id,
            "roles_removed": sorted(r.value for r in dropped),
            "tokens_revoked": revoked,
            "identities_unlinked": unlinked,
        },
    )


def decide_grant(
    session: Session,
    *,
    request: RoleGrantRequest,
    approve: bool,
    reason: str = "",
    actor: Actor | None = None,
) -> RoleGrantRequest:
    """Approve (the person's roles become those asked, their sessions end) or refuse a
    pending request. Only a second administrator decides: not whoever asked, nor the
    person it is for (``grants.OwnRequestRefused``, 403); a request decided already,
    or one for someone whose roles have changed since it was asked, is 409. The last
    administrator's role is kept here too."""
    actor = actor or current().actor
    grants.check_decider(actor, request)
    grants.lock_pending(session, request)
    if approve:
        user = get_user(session, user_id=request.user_id)
        if {r.value for r in user.roles} != set(request.roles_before):
            # Approving the whole set asked would silently undo what changed since.
            raise Conflict(
                f"{user.display_name}'s roles have changed since this was asked: refuse it, "
                "and ask again from their roles as they are now."
            )
        roles = {Role(r) for r in request.roles}
        _check_roles(session, roles, user.agency_id)
        grants.check_change(session, actor=actor, user=user, roles=roles, active=user.active)
        _apply(session, user, roles, {})
    return grants.close(session, request=request, actor=actor, approved=approve, reason=reason)


def _apply(session: Session, user: User, roles: set[Role], changes: dict) -> User:
    with auditlog.changing(
        session, user, action="user.update", object_type="user", view=user_view
    ) as change:
        if roles != set(user.roles):
            user.role_rows = [UserRole(role=r) for r in sorted(roles)]
        for key, value in changes.items():
            setattr(user, key, value)
    after = change.after  # set when the block ended (None only had it deleted the user)
    if after is not None and any(
        change.before[k] != after[k] for k in ("roles", "agency_id", "active")
    ):
        end_sessions(session, user=user, reason="access changed")
    return user


def revoke_tokens(session: Session, *, user: User) -> int:
    """Revoke all the person's API tokens: after an account is recovered, tokens an
    intruder may have made must stop working too."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return rows_matched(result) or 0


def set_password(session: Session, *, user: User, password: str) -> None:
    """Set a new password (an admin's reset): every session ends, every token is revoked.
    Not for another account holding a role that takes two administrators, except on the
    server (``grants.check_reset``)."""
    grants.check_reset(current().actor, user, "password")
    _check_password(password)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_sessions(session, user=user, reason="password changed")
    revoked = revoke_tokens(session, user=user)
    auditlog.record(
        session,
        action="user.set_password",
        object_type="user",
        object_id=user.id,
        after={"tokens_revoked": revoked},
    )


def create_token(session: Session, *, user: User, name: str, days: int) -> tuple[ApiToken, str]:
    """A new personal access token; the plain token is returned once and never stored."""
    plain = new_token(TOKEN_PREFIX)
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=digest(plain),
        prefix=plain[: len(TOKEN_PREFIX) + 6],
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    auditlog.record(
        session,
        action="token.create",
        object_type="api_token",
        object_id=row.id,
        after={"user_id": user.id, "name": name, "expires_at": row.expires_at},
    )
    return row, plain


def revoke_token(session: Session, *, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        auditlog.record(session, action="token.revoke", object_type="api_token", object_id=token.id)
    return token


# The users list's sortable columns (a key, descending with a leading "-"); by email
# address unless sorted. People with no agency come first by agency; active people
# first by status.
USER_SORTS = {
    "name": func.lower(User.display_name),
    "email": func.lower(User.email),
    "agency": func.coalesce(
        select(func.lower(Agency.name)).where(Agency.id == User.agency_id).scalar_subquery(),
        "",
    ),
    "status": case((User.active.is_(True), 0), else_=1),
}


def list_users(
    session: Session,
    *,
    params: PageParams,
    active: bool | None = None,
    role: Role | None = None,
    agency_id: int | None = None,
    q: str | None = None,
    sort: str | None = None,
) -> tuple[list[User], int]:
    """A page of accounts, filtered; ``q`` finds words in the name or email address;
    ``sort`` is a key of USER_SORTS (by email address when None)."""
    stmt = select(User)
    if sort is None:
        stmt = stmt.order_by(User.email)
    else:
        column = USER_SORTS[sort.removeprefix("-")]
        first = column.desc() if sort.startswith("-") else column.asc()
        stmt = stmt.order_by(first, func.lower(User.email), User.id)
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    if role is not None:
        stmt = stmt.where(User.role_rows.any(UserRole.role == role))
    if agency_id is not None:
        stmt = stmt.where(User.agency_id == agency_id)
    if q:
        words = q.lower()
        stmt = stmt.where(
            or_(
                func.lower(User.display_name).contains(words, autoescape=True),
                func.lower(User.email).contains(words, autoescape=True),
            )
        )
    return page_of(session, stmt, params)


def reset_second_factor(session: Session, *, user: User) -> User:
    """Forget the person's authenticator and recovery codes, and end their sessions:
    they set up a new authenticator at their next sign-in. Not for another account
    holding a role that takes two administrators, except on the server."""
    grants.check_reset(current().actor, user, "authenticator")
    had = user.totp_confirmed_at is not None
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    end_sessions(session, user=user, reason="second factor reset")
    revoke_tokens(session, user=user)
    session.flush()
    auditlog.record(
        session,
        action="user.reset_second_factor",
        object_type="user",
        object_id=user.id,
        before={"second_factor": had},
        after={"second_factor": False},
    )
    return user


def list_tokens(session: Session, *, user: User) -> list[ApiToken]:
    """The person's own tokens, newest first, including revoked and expired ones."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def get_own_token(session: Session, *, user: User, token_id: int) -> ApiToken:
    """One of the person's own tokens; anyone else's is 404, as if it did not exist."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"There is no token with id {token_id}.")
    return token
