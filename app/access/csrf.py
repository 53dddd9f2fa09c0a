"""CSRF protection for requests signed in with the session cookie.

The token is an HMAC of the session token under the service's secret key: nothing
to store, it changes with every new session, and it cannot be computed without the
cookie (which scripts cannot read: HttpOnly). Requests with a Bearer token carry no
ambient authority and need none.
"""

from __future__ import annotations

import hashlib
import hmac

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def csrf_token_for(session_token: str, secret_key: str) -> str:
    return hmac.new(
        secret_key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256
    ).hexdigest()


def csrf_valid(session_token: str, secret_key: str, given: str | None) -> bool:
    if not given:
        return False
    return hmac.compare_digest(csrf_token_for(session_token, secret_key), given)
