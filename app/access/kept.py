"""Nothing typed is lost at the session timeout.

A form posted after its web session has ended (it sat idle, or reached its absolute
lifetime) cannot be saved: nobody is signed in. When the post carries that session's
cookie and its CSRF token (so it came from that person's own page, not from another
site), what it holds is kept for that person, server-side, for ``KEEP_FOR``. The
sign-in page says why they were signed out and that their work was kept; after they
sign in again, the Kept work page posts it back to where it was going, as them; it is
removed once that page is saved, by the kept post or by the person's own later work. Nobody else can read it:
only its author's own signed-in pages show it. Only the newest post to a page is kept:
each carries the whole form.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request

from app.access.auth import session_token_from
from app.access.csrf import CSRF_FIELD, csrf_valid, sent_from_elsewhere
from app.access.models import KeptPost, User, WebSession
from app.access.secrets import digest
from app.clock import utcnow
from app.config import Settings
from app.db import after_read

KEEP_FOR = timedelta(hours=24)
# Why a session ended, when the person was still working: these posts are kept.
TIMED_OUT = ("idle", "expired")
# The forms where people write at length, whose posts are kept. Nothing else is: an
# action (sign out, publish, disable a user) is never carried out later on someone's
# behalf, and nothing that holds a password is stored.
KEEPABLE = frozenset({"returns.key_area_save", "returns.overall_save"})
NEVER_KEPT = ("password",)


def ended_session(session: Session, request: Request) -> WebSession | None:
    """The web session the request's cookie names, if it ended by timing out."""
    token = session_token_from(request)
    if not token:
        return None
    web = session.scalar(select(WebSession).where(WebSession.token_hash == digest(token)))
    if web is None or web.ended_at is None or web.end_reason not in TIMED_OUT:
        return None
    return web


def timed_out_at(web: WebSession, settings: Settings) -> datetime:
    """When the session really ended: its idle time or its lifetime ran out (it is
    marked ended only when next used, which may be days later)."""
    return min(web.expires_at, web.last_seen_at + timedelta(minutes=settings.session_idle_minutes))


def keep(session: Session, request: Request, form: FormData, settings: Settings) -> bool:
    """Keep a form posted to a page after its session timed out; True if it was kept."""
    route = getattr(request.scope.get("route"), "name", None)
    token = session_token_from(request)
    web = ended_session(session, request)
    if route not in KEEPABLE or token is None or web is None:
        return False
    if sent_from_elsewhere(request, [settings.public_url]):
        return False
    if web.second_factor_at is None and settings.require_second_factor:
        return False  # never fully signed in
    given = form.get(CSRF_FIELD) or request.headers.get("x-csrf-token")
    if not isinstance(given, str) or not csrf_valid(token, settings.secret_key, given):
        return False
    if utcnow() - timed_out_at(web, settings) > KEEP_FOR:
        return False
    if not session.scalar(select(User.active).where(User.id == web.user_id)):
        return False
    fields = [
        [name, value]
        for name, value in form.multi_items()
        if isinstance(value, str)
        and name != CSRF_FIELD
        and not any(word in name.lower() for word in NEVER_KEPT)
    ]
    # Where it was going, with its query ("?back=check" returns to Check your answers).
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    _drop(session, user_id=web.user_id, path=request.url.path)
    session.add(KeptPost(user_id=web.user_id, path=path, fields=fields))
    return True


def _drop(session: Session, *, user_id: int, path: str) -> None:
    session.execute(
        delete(KeptPost).where(
            KeptPost.user_id == user_id,
            or_(KeptPost.path == path, KeptPost.path.startswith(path + "?", autoescape=True)),
        )
    )


def waiting(session: Session, *, user_id: int) -> list[KeptPost]:
    """The person's kept posts still to be saved, oldest first (older ones removed,
    after the read in a read request: app.db.after_read)."""
    cutoff = utcnow() - KEEP_FOR
    after_read(session, lambda s: s.execute(delete(KeptPost).where(KeptPost.created_at < cutoff)))
    return list(
        session.scalars(
            select(KeptPost)
            .where(KeptPost.user_id == user_id, KeptPost.created_at >= cutoff)
            .order_by(KeptPost.id)
        )
    )


# The paths of the KEEPABLE routes: a return's key area, or its overall grade.
_RETURN_PAGE = re.compile(r"/returns/(\d+)/(?:areas/(\d+)|overall)")


def return_page(path: str) -> tuple[int, int | None] | None:
    """The return, and key area (None: the overall grade), a kept post was for."""
    found = _RETURN_PAGE.fullmatch(path.split("?", 1)[0])
    if found is None:
        return None
    return int(found[1]), int(found[2]) if found[2] else None


# A kept form posted back from the Kept work page while others wait says so (its
# ``then``); once saved, the person goes back there for the next, not on in the return.
BACK_TO_KEPT = "kept"


def still_waiting(session: Session, form: FormData, *, user_id: int) -> bool:
    """Whether a form just saved came from the Kept work page and more kept work waits."""
    return form.get("then") == BACK_TO_KEPT and bool(waiting(session, user_id=user_id))


def forget(session: Session, *, user_id: int) -> None:
    """Drop everything kept for the person: they signed out, or their access changed
    (password, authenticator, roles, disabled), so nothing of theirs is posted later."""
    session.execute(delete(KeptPost).where(KeptPost.user_id == user_id))


def saved(session: Session, request: Request, *, user_id: int) -> None:
    """The person has saved the page a kept post was for (the kept post itself, posted
    back, or their own later work): what was kept for it is no longer needed, and must
    not come back later over what they saved."""
    if getattr(request.scope.get("route"), "name", None) in KEEPABLE:
        _drop(session, user_id=user_id, path=request.url.path)
