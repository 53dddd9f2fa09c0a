"""CSRF protection for requests signed in with the session cookie.

The token is an HMAC of the session token under the service's secret key: nothing
to store, it changes with every new session, and it cannot be computed without the
cookie (which scripts cannot read: HttpOnly). Requests with a Bearer token carry no
ambient authority and need none.

A change made with the cookie must also come from the service's own pages: a browser
names where a request came from (Origin, or Referer where it sends no Origin), and
one from another site is refused even with the right token (a token can leak; the
origin of a request cannot be forged by the page that sends it). The service sends
``Referrer-Policy: same-origin``, so its own forms carry their real origin (under
``no-referrer`` a browser sends ``Origin: null`` with every form post).

The sign-in form has no session yet: its token is an HMAC of a random cookie set
with the form (``sign_in_token_for``), so another site cannot sign someone into an
account of its choosing (login CSRF).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
# The sign-in form's random key, in a cookie of its own (__Host- over https, as the
# session cookie).
SIGN_IN_COOKIE = "case_audit_sign_in"
SECURE_SIGN_IN_COOKIE = "__Host-case_audit_sign_in"


def csrf_token_for(session_token: str, secret_key: str) -> str:
    return hmac.new(
        secret_key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256
    ).hexdigest()


def csrf_valid(session_token: str, secret_key: str, given: str | None) -> bool:
    if not given:
        return False
    return hmac.compare_digest(csrf_token_for(session_token, secret_key), given)


def sign_in_token_for(browser_key: str, secret_key: str) -> str:
    """The sign-in form's token, for the random key in its cookie (SIGN_IN_COOKIE)."""
    return hmac.new(
        secret_key.encode(), b"sign-in:" + browser_key.encode(), hashlib.sha256
    ).hexdigest()


def sign_in_token_valid(browser_key: str | None, secret_key: str, given: str | None) -> bool:
    if not browser_key or not given:
        return False
    return hmac.compare_digest(sign_in_token_for(browser_key, secret_key), given)


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL (the port only when it is not the scheme's
    default), lower-case; None for anything that names no origin ("null", a path)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        return None
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address, bracketed as in a URL
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def own_origins(connection: HTTPConnection, public_urls: Iterable[str]) -> set[str]:
    """The service's own origins: where people reach it (settings.public_url) and the
    host this request was sent to."""
    urls = list(public_urls)
    host = connection.headers.get("host")
    if host:
        urls.append(f"{connection.url.scheme}://{host}")
    return {origin for origin in map(origin_of, urls) if origin is not None}


def sent_from_elsewhere(connection: HTTPConnection, public_urls: Iterable[str]) -> bool:
    """Whether the browser says the request came from a page that is not the
    service's own. A request that names no origin at all (not a browser: a script
    with the session cookie) is not refused here; the CSRF token still protects it."""
    origin = connection.headers.get("origin")
    if origin is None:
        referer = connection.headers.get("referer")
        if referer is None:
            return False
        origin = referer
    return origin_of(origin) not in own_origins(connection, public_urls)
