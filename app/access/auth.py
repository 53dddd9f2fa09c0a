"""Who is asking: a Bearer API token or a web session cookie, turned into an Actor.

This is the only place that reads credentials, so another way in (an organisation's
OpenID Connect sign-on, say) adds a branch here and a table of its own; the
permission rules in app.access.policy only ever see an Actor.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.attributes import set_committed_value
from starlette.requests import HTTPConnection

from app.access.models import ApiToken, Role, User, UserRole, WebSession
from app.access.policy import ANONYMOUS, Actor, Via
from app.access.secrets import digest
from app.clock import utcnow
from app.config import Settings
from app.db import after_read

SESSION_COOKIE = "case_audit_session"
SECURE_SESSION_COOKIE = "__Host-case_audit_session"
TOKEN_PREFIX = "cat_"
# Last-seen times are written at most this often, not on every request.
TOUCH_EVERY = timedelta(seconds=60)
# A token's use counts as its owner's use of the service (app/access/leavers.py), which
# is written at most this often: the inactivity rules count in days.
ACTIVE_EVERY = timedelta(hours=1)


def session_cookie_name(secure: bool) -> str:
    # The __Host- prefix makes browsers insist on Secure, path=/ and no Domain, so
    # it is used whenever the service is served over https.
    return SECURE_SESSION_COOKIE if secure else SESSION_COOKIE


def session_token_from(connection: HTTPConnection) -> str | None:
    # Over https only the __Host- cookie counts: a plain-named one could have been
    # planted from http or a sibling domain to sign someone into another account.
    return connection.cookies.get(session_cookie_name(connection.url.scheme == "https"))


def actor_for(user: User, *, via: Via, credential_id: int | None) -> Actor:
    return Actor(
        user_id=user.id,
        label=user.email,
        roles=user.roles,
        agency_id=user.agency_id,
        via=via,
        credential_id=credential_id,
        name=user.display_name,
    )


def authenticate(session: Session, connection: HTTPConnection, settings: Settings) -> Actor:
    """The actor behind the request's credentials, or ANONYMOUS: one query, whichever
    the credential (the credential, its owner and their roles together), and a write
    only once a minute per credential (its last use), once an hour per token's owner
    (their use of the service), or when a session has ended.

    A web session counts only once its second factor is given (or the partnership
    has turned second factors off); ``pending_session`` finds one part-way through.
    Nothing is cached between requests: a revoked token, an ended session, a disabled
    account or a changed role counts from the very next request, in every process.
    """
    header = connection.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return _token_actor(session, header[7:].strip()) or ANONYMOUS
    token = session_token_from(connection)
    if token:
        return _session_actor(session, connection, token, settings) or ANONYMOUS
    return ANONYMOUS


# A user's roles as one text column ("admin,moderator"), so the credential, its owner
# and their roles come back in one row.
_ROLES = (
    select(func.aggregate_strings(UserRole.role, ","))
    .where(UserRole.user_id == User.id)
    .scalar_subquery()
    .label("roles")
)
_OWNER = (User.id.label("user_id"), User.email, User.display_name, User.agency_id, _ROLES)


def _actor(row: Row, *, via: Via, credential_id: int) -> Actor:
    return Actor(
        user_id=row.user_id,
        label=row.email,
        name=row.display_name,
        roles=frozenset(Role(name) for name in row.roles.split(",")) if row.roles else frozenset(),
        agency_id=row.agency_id,
        via=via,
        credential_id=credential_id,
    )


# Both look-ups are built once, with bound parameters: building a statement costs more
# than running it (bench/api.py).
_TOKEN_OWNER = (
    select(ApiToken.id, ApiToken.last_used_at, User.last_active_at, *_OWNER)
    .join(User, User.id == ApiToken.user_id)
    .where(
        ApiToken.token_hash == bindparam("digest"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now", type_=ApiToken.expires_at.type),
        User.active.is_(True),
    )
)
_SESSION_OWNER = (
    select(
        WebSession.id,
        WebSession.last_seen_at,
        WebSession.expires_at,
        WebSession.second_factor_at,
        WebSession.ended_at,
        WebSession.flash.is_not(None).label("flash_waiting"),
        User.active,
        *_OWNER,
    )
    .join(User, User.id == WebSession.user_id)
    .where(WebSession.token_hash == bindparam("digest"))
)


def _token_actor(session: Session, token: str) -> Actor | None:
    """The token's owner, if the token is live and its owner active."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    now = utcnow()
    row = session.connection().execute(_TOKEN_OWNER, {"digest": digest(token), "now": now}).first()
    if row is None:
        return None
    _mark_owner_active(session, row.user_id, row.last_active_at, now)
    _touch(session, ApiToken.last_used_at, row.id, row.last_used_at, now)
    return _actor(row, via=Via.TOKEN, credential_id=row.id)


def _session_actor(
    session: Session, connection: HTTPConnection, token: str, settings: Settings
) -> Actor | None:
    """The session's owner, if the session is live and its second factor given."""
    now = utcnow()
    row = session.connection().execute(_SESSION_OWNER, {"digest": digest(token)}).first()
    if row is None or row.ended_at is not None:
        return None
    reason = _ends_because(row, active=row.active, now=now, settings=settings)
    if reason:
        _end_soon(session, row.id, reason, now)
        return None
    if not row.second_factor_at and settings.require_second_factor:
        return None
    # When the idle time last started again, as the service counts it (touched at most
    # once a minute): what the timeout warning counts from.
    connection.state.session_seen_at = _touch(
        session, WebSession.last_seen_at, row.id, row.last_seen_at, now
    )
    # Whether a flash message waits to be shown: a page reads the session for it only
    # then (app.templating._take_flash), not on every page.
    connection.state.flash_waiting = bool(row.flash_waiting)
    return _actor(row, via=Via.SESSION, credential_id=row.id)


def current_web_session(session: Session, actor: Actor) -> WebSession | None:
    """The web session the actor signed in with; None for a token, a script or nobody."""
    if actor.via != Via.SESSION or actor.credential_id is None:
        return None
    return session.get(WebSession, actor.credential_id)


def live_session(session: Session, token: str, settings: Settings) -> WebSession | None:
    """The web session for ``token`` if it has not ended, expired or sat idle too long.
    An expired one is ended, with the reason recorded (``_end_soon``)."""
    web = session.scalar(select(WebSession).where(WebSession.token_hash == digest(token)))
    if web is None or web.ended_at is not None:
        return None
    user = session.get(User, web.user_id)
    now = utcnow()
    reason = _ends_because(web, active=user is not None and user.active, now=now, settings=settings)
    if reason:
        _end_soon(session, web.id, reason, now)
        set_committed_value(web, "ended_at", now)
        set_committed_value(web, "end_reason", reason)
        return None
    return web


class _Lifetime(Protocol):
    expires_at: datetime
    last_seen_at: datetime


def _ends_because(web: _Lifetime, *, active: bool, now: datetime, settings: Settings) -> str:
    """Why a session not yet ended ends now ("" if it does not)."""
    if web.expires_at <= now:
        return "expired"
    if web.last_seen_at + timedelta(minutes=settings.session_idle_minutes) <= now:
        return "idle"
    if not active:
        return "user disabled"
    return ""


def _end_soon(session: Session, web_id: int, reason: str, now: datetime) -> None:
    """End the session, in a read request once its read is over (app.db.after_read)."""
    after_read(
        session,
        lambda s: s.execute(
            update(WebSession)
            .where(WebSession.id == web_id, WebSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        ),
    )


def end_session(web: WebSession, reason: str) -> None:
    web.ended_at = utcnow()
    web.end_reason = reason


def _mark_owner_active(
    session: Session, user_id: int, last: datetime | None, now: datetime
) -> None:
    """Record the token's owner's use of the service if the record is an hour old or
    more, withdrawing any notice that their account would be disabled for not being
    used (app/access/leavers.py ``mark_active`` does this at signing in). Written as
    ``_touch`` writes, and before it: the account's row first, as changes to a person's
    access take it (app/access/service.py)."""
    if last is not None and now - last < ACTIVE_EVERY:
        return
    after_read(
        session,
        lambda s: s.execute(
            update(User)
            .where(User.id == user_id)
            .values(last_active_at=now, inactivity_notice_at=None)
        ),
    )


def _touch(
    session: Session,
    column: InstrumentedAttribute[datetime | None],
    row_id: int,
    last: datetime | None,
    now: datetime,
) -> datetime:
    """Record a credential's use (``column``: when it was last used or seen) if the last
    record is a minute old or more, and return the time now on record. Written at once
    in a change, so that every request takes its locks in the same order (the
    credential's row first); after the read in a read (app.db.after_read)."""
    if last is not None and now - last < TOUCH_EVERY:
        return last
    table = column.class_
    after_read(
        session,
        lambda s: s.execute(update(table).where(table.id == row_id).values({column.key: now})),
    )
    return now
