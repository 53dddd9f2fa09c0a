"""An OpenID Connect provider on loopback, started by a test, whose ID tokens the test
can spoil on purpose: signed with a key it never published, for another audience, from
another issuer, expired, or carrying a nonce other than the one asked for. (The happy
paths also run against a provider the project did not write: oidc-provider-mock.)

It speaks enough of the protocol for the service's client: discovery, its key set,
the authorization endpoint (which approves at once, as the person ``subject`` with
``claims``) and the token endpoint, which checks the PKCE verifier as a provider must.
Keys are made here (RSA, 2048 bits); nothing is real."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey


@dataclass
class Provider:
    base: str = ""
    subject: str = "robin-0001"
    claims: dict[str, Any] = field(default_factory=dict)
    # Spoilers for the next ID tokens: claims replaced, or a key never published.
    override: dict[str, Any] = field(default_factory=dict)
    sign_with_unpublished_key: bool = False
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "k1"}))
    other_key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "k1"}))
    codes: dict[str, dict] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)  # every ID token, for replaying
    replay: str | None = None  # answer the next token requests with this ID token

    def id_token(self, *, client_id: str, nonce: str) -> str:
        if self.replay is not None:
            return self.replay
        now = int(time.time())
        claims = {
            "iss": self.base,
            "sub": self.subject,
            "aud": client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            **self.claims,
            **self.override,
        }
        claims = {k: v for k, v in claims.items() if v is not None}
        key = self.other_key if self.sign_with_unpublished_key else self.key
        token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
        self.issued.append(token)
        return token


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _json(self, body: dict, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            url = urlparse(self.path)
            if url.path == "/.well-known/openid-configuration":
                self._json(
                    {
                        "issuer": provider.base,
                        "authorization_endpoint": provider.base + "/authorize",
                        "token_endpoint": provider.base + "/token",
                        "jwks_uri": provider.base + "/jwks",
                        "response_types_supported": ["code"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }
                )
            elif url.path == "/jwks":
                self._json(KeySet([provider.key]).as_dict(private=False))
            elif url.path == "/authorize":
                asked = {k: v[0] for k, v in parse_qs(url.query).items()}
                code = secrets.token_urlsafe(16)
                provider.codes[code] = asked
                back = (
                    asked["redirect_uri"] + "?" + urlencode({"code": code, "state": asked["state"]})
                )
                self.send_response(302)
                self.send_header("Location", back)
                self.end_headers()
            else:
                self._json({"error": "not_found"}, 404)

        def do_POST(self) -> None:  # noqa: N802
            if urlparse(self.path).path != "/token":
                self._json({"error": "not_found"}, 404)
                return
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            asked = provider.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                .rstrip(b"=")
                .decode()
            )
            if (
                asked is None
                or asked.get("code_challenge") != challenge
                or form.get("redirect_uri") != asked.get("redirect_uri")
            ):
                self._json({"error": "invalid_grant"}, 400)
                return
            self._json(
                {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": provider.id_token(
                        client_id=asked["client_id"], nonce=asked.get("nonce", "")
                    ),
                }
            )

    return Handler


@contextmanager
def running_provider(**kwargs) -> Iterator[Provider]:
    provider = Provider(**kwargs)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
