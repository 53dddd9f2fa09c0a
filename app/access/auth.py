"""Who is asking: a Bearer API token or a web session cookie, turned into an Actor.

This is the only place that reads credentials, so another way in (an organisation's
OpenID Connect sign-on, say) adds a branch here and a table of its own; the
permission rules in app.access.policy only ever see an Actor.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from starlette.requests import HTTPConnection

from app.access.models import ApiToken, User, UserRole, WebSession
from app.access.policy import ANONYMOUS, Actor, Via
from app.access.secrets import digest
from app.clock import utcnow
from app.config import Settings
from app.db import get_or_404

SESSION_COOKIE = "case_audit_session"
SECURE_SESSION_COOKIE = "__Host-case_audit_session"
TOKEN_PREFIX = "cat_"
# Last-seen times are written at most this often, not on every request.
TOUCH_EVERY = timedelta(seconds=60)


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
    """The actor behind the request's credentials, or ANONYMOUS.

    A web session counts only once its second factor is given (or the partnership
    has turned second factors off); ``pending_session`` finds one part-way through.
    """
    header = connection.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return _token_actor(session, header[7:].strip()) or ANONYMOUS
    token = session_token_from(connection)
    if token:
        web = live_session(session, token, settings)
        if web is not None and (web.second_factor_at or not settings.require_second_factor):
            user = get_or_404(session, User, web.user_id, what="user")
            _touch(session, web)
            # When the idle time last started again, as the service counts it (touched
            # at most once a minute): what the timeout warning counts from.
            connection.state.session_seen_at = web.last_seen_at
            return actor_for(user, via=Via.SESSION, credential_id=web.id)
    return ANONYMOUS


def _token_actor(session: Session, token: str) -> Actor | None:
    """The token's owner. API calls are the hot path, so this reads plain columns in two
    small queries instead of loading the token, the user and the roles as objects."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    now = utcnow()
    row = session.execute(
        select(
            ApiToken.id,
            ApiToken.last_used_at,
            User.id.label("user_id"),
            User.email,
            User.display_name,
            User.agency_id,
        )
        .join(User, User.id == ApiToken.user_id)
        .where(
            ApiToken.token_hash == digest(token),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
            User.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    roles = frozenset(session.scalars(select(UserRole.role).where(UserRole.user_id == row.user_id)))
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return Actor(
        user_id=row.user_id,
        label=row.email,
        name=row.display_name,
        roles=roles,
        agency_id=row.agency_id,
        via=Via.TOKEN,
        credential_id=row.id,
    )


def current_web_session(session: Session, actor: Actor) -> WebSession | None:
    """The web session the actor signed in with; None for a token, a script or nobody."""
    if actor.via != Via.SESSION or actor.credential_id is None:
        return None
    return session.get(WebSession, actor.credential_id)


def live_session(session: Session, token: str, settings: Settings) -> WebSession | None:
    """The web session for ``token`` if it has not ended, expired or sat idle too long.
    An expired one is ended on the spot, with the reason recorded."""
    web = session.scalar(select(WebSession).where(WebSession.token_hash == digest(token)))
    if web is None or web.ended_at is not None:
        return None
    now = utcnow()
    if web.expires_at <= now:
        end_session(web, "expired")
        return None
    if web.last_seen_at + timedelta(minutes=settings.session_idle_minutes) <= now:
        end_session(web, "idle")
        return None
    user = session.get(User, web.user_id)
    if user is None or not user.active:
        end_session(web, "user disabled")
        return None
    return web


def end_session(web: WebSession, reason: str) -> None:
    web.ended_at = utcnow()
    web.end_reason = reason


def _touch(session: Session, web: WebSession) -> None:
    """Record activity for the idle timeout, written at once rather than at the next
    flush, so every request takes its locks in the same order (session row first)."""
    now: datetime = utcnow()
    if now - web.last_seen_at >= TOUCH_EVERY:
        session.execute(update(WebSession).where(WebSession.id == web.id).values(last_seen_at=now))
        set_committed_value(web, "last_seen_at", now)
