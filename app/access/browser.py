"""The session cookie and the browser's part in signing in, shared by the JSON
sign-in API and the sign-in pages."""

from __future__ import annotations

import re

from fastapi import Request, Response
from sqlalchemy.orm import Session

from app.access import signin
from app.access.auth import live_session, session_cookie_name, session_token_from
from app.access.csrf import SECURE_SIGN_IN_COOKIE, SIGN_IN_COOKIE
from app.access.models import WebSession
from app.access.secrets import new_token
from app.clock import utcnow
from app.config import Settings
from app.errors import StateError


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, plain: str, web: WebSession) -> None:
    # The cookie lasts no longer than the session's absolute lifetime; the database
    # decides whether it still works (idle, ended, expired).
    seconds = max(0, int((web.expires_at - utcnow()).total_seconds()))
    response.set_cookie(
        session_cookie_name(is_secure(request)),
        plain,
        max_age=seconds,
        path="/",
        secure=is_secure(request),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        session_cookie_name(is_secure(request)),
        path="/",
        secure=is_secure(request),
        httponly=True,
        samesite="lax",
    )


# What new_token() makes (URL-safe base64); anything else in the cookie is ignored.
_SIGN_IN_KEY = re.compile(r"[A-Za-z0-9_-]{20,100}")


def sign_in_cookie_name(secure: bool) -> str:
    return SECURE_SIGN_IN_COOKIE if secure else SIGN_IN_COOKIE


def sign_in_key_from(request: Request) -> str | None:
    """The sign-in form's random key, from its cookie (app.access.csrf)."""
    value = request.cookies.get(sign_in_cookie_name(is_secure(request)))
    return value if value and _SIGN_IN_KEY.fullmatch(value) else None


def sign_in_key(request: Request) -> str:
    """The browser's sign-in key, or a new one (set it with ``set_sign_in_cookie``)."""
    return sign_in_key_from(request) or new_token()


def set_sign_in_cookie(response: Response, request: Request, key: str) -> None:
    # For as long as the browser is open: the key signs nobody in, it only binds the
    # sign-in form to the browser it was shown in.
    response.set_cookie(
        sign_in_cookie_name(is_secure(request)),
        key,
        path="/",
        secure=is_secure(request),
        httponly=True,
        samesite="lax",
    )


def pending_session(session: Session, request: Request) -> WebSession:
    """The session part-way through signing in, from its cookie."""
    settings = settings_of(request)
    if not settings.require_second_factor:
        raise StateError("Second factors are turned off for this service.")
    token = session_token_from(request)
    web = live_session(session, token, settings) if token else None
    if web is None:
        raise signin.SignInFirst("Sign in with your e-mail address and password first.")
    return web
