"""Protections every response gets: a request id, security headers, a size limit.

Pure ASGI middleware (not BaseHTTPMiddleware), so streaming and background work are
untouched and the cost per request stays small.
"""

from __future__ import annotations

import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style anywhere: pages load their own files from 'self'.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)
# A briefing's print preview: the document's own inline styles, and nothing else.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
# The API documentation page (app/api_docs.py): Swagger UI's own files from 'self', no
# inline script; its styles set style attributes, so inline styles are allowed there.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; object-src 'none'; base-uri 'none'"
)


class ProtectionMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        https = scope.get("scheme") == "https"
        docs = scope["path"] == "/docs"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                # A response may bring a stricter policy of its own (the print preview
                # of a briefing: inline styles, no script at all).
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = DOCS_CSP if docs else CSP
                headers["X-Content-Type-Options"] = "nosniff"
                # Other sites learn nothing of the address a link was followed from; the
                # service's own forms keep their origin (under no-referrer a browser
                # posts them with "Origin: null", and the origin check refuses that).
                headers["Referrer-Policy"] = "same-origin"
                headers["X-Frame-Options"] = "DENY"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
                # Pages and data about children are never cached; the service's own
                # static files may be.
                static = scope["path"].startswith(("/assets/", "/static/"))
                headers.setdefault(
                    "Cache-Control", "public, max-age=3600" if static else "no-store"
                )
                if https:
                    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
            await send(message)

        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _too_large(send_with_headers, self.max_body_bytes)
            return

        received = 0
        overflowed = False
        answered = False

        async def limited_receive() -> Message:
            nonlocal received, overflowed
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    overflowed = True
                    raise _BodyTooLarge
            return message

        async def send_unless_overflowed(message: Message) -> None:
            # A body sent in chunks (no Content-Length) is found too large only while it
            # is read, and whoever was reading may turn the error into an answer of its
            # own (FastAPI's "error parsing the body", a 400): the answer is 413 anyway.
            nonlocal answered
            if overflowed and not answered:
                return
            answered = answered or message["type"] == "http.response.start"
            await send_with_headers(message)

        try:
            await self.app(scope, limited_receive, send_unless_overflowed)
        except Exception:
            if not overflowed:
                raise
        if overflowed and not answered:
            await _too_large(send_with_headers, self.max_body_bytes)


class _BodyTooLarge(Exception):
    pass


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = (
        b'{"detail":"The request is larger than the service accepts (%d bytes). '
        b'Nothing was saved.","code":"too_large"}' % limit
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
