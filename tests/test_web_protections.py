"""Protections on every response: security headers, body size limit, CSRF for
changes made with the session cookie."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Form

from app.access import service as access
from app.access.auth import SESSION_COOKIE
from app.access.csrf import csrf_token_for
from app.access.models import Role
from app.access.policy import Permission
from app.access.rules import ROUTE_RULES
from app.access.secrets import new_token
from app.deps import SessionDep, transactional
from tests.helpers.access import signed_in_cookie
from tests.helpers.app_client import AppClient


class TestSecurityHeaders:
    def test_every_response_has_them(self, anonymous_client):
        for path in ("/api/health", "/api/v1/agencies", "/api/v1/nothing"):
            headers = anonymous_client.get(path).headers
            csp = headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "same-origin"
            assert headers["x-request-id"]
            assert "strict-transport-security" not in headers  # plain http

    def test_hsts_over_https(self, app, db):
        with AppClient(app, base_url="https://testserver") as client:
            assert "max-age=" in client.get("/api/health").headers["strict-transport-security"]


class TestRequestSize:
    def test_declared_body_over_the_limit_is_413_and_nothing_is_read(self, client, app):
        limit = app.state.settings.max_request_bytes
        r = client.post(
            "/api/v1/agencies",
            content=b"x" * (limit + 1),
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 413 and r.json()["code"] == "too_large"

    def test_streamed_body_over_the_limit_is_413(self, client, app):
        limit = app.state.settings.max_request_bytes

        def chunks():
            for _ in range(limit // 65536 + 2):
                yield b"x" * 65536

        r = client.post(
            "/api/v1/templates/import",
            content=chunks(),
            headers={"Content-Type": "application/yaml"},
        )
        assert r.status_code == 413


@pytest.fixture
def cookie_session(db):
    """A signed-in browser's cookie."""
    user = access.create_user(
        db, email="moderator@example.org", display_name="Moderator", roles={Role.ADMIN}
    )
    return signed_in_cookie(db, user)


class TestCsrf:
    def test_a_change_by_cookie_without_the_token_is_refused(
        self, anonymous_client, cookie_session
    ):
        anonymous_client.cookies.set(SESSION_COOKIE, cookie_session)
        r = anonymous_client.post("/api/v1/subgroups", json={"name": "Without token"})
        assert r.status_code == 403 and "expired" in r.json()["detail"]
        listed = anonymous_client.get("/api/v1/subgroups").json()
        assert listed["total"] == 0  # reading needs no token; nothing was created

    def test_the_right_header_lets_it_through(self, anonymous_client, app, cookie_session):
        anonymous_client.cookies.set(SESSION_COOKIE, cookie_session)
        token = csrf_token_for(cookie_session, app.state.settings.secret_key)
        r = anonymous_client.post(
            "/api/v1/subgroups", json={"name": "With token"}, headers={"X-CSRF-Token": token}
        )
        assert r.status_code == 201, r.text

    def test_a_token_for_another_session_is_refused(self, anonymous_client, app, cookie_session):
        anonymous_client.cookies.set(SESSION_COOKIE, cookie_session)
        wrong = csrf_token_for(new_token(), app.state.settings.secret_key)
        r = anonymous_client.post(
            "/api/v1/subgroups", json={"name": "Wrong"}, headers={"X-CSRF-Token": wrong}
        )
        assert r.status_code == 403

    def test_a_plain_form_post_carries_it_in_a_field(
        self, anonymous_client, app, cookie_session, monkeypatch
    ):
        @transactional
        def form_probe(session: SessionDep, note: Annotated[str, Form()]) -> dict:
            return {"note": note}

        app.add_api_route("/_probe", form_probe, methods=["POST"], name="probe")
        monkeypatch.setitem(ROUTE_RULES, "probe", Permission.SIGNED_IN)
        try:
            anonymous_client.cookies.set(SESSION_COOKIE, cookie_session)
            token = csrf_token_for(cookie_session, app.state.settings.secret_key)
            ok = anonymous_client.post("/_probe", data={"note": "hi", "csrf_token": token})
            refused = anonymous_client.post("/_probe", data={"note": "hi"})
        finally:
            app.router.routes.pop()
        assert ok.status_code == 200 and ok.json() == {"note": "hi"}
        assert refused.status_code == 403

    def test_bearer_tokens_need_no_csrf_token(self, anonymous_client, db):
        user = access.create_user(
            db, email="admin@example.org", display_name="A", roles={Role.ADMIN}
        )
        _row, plain = access.create_token(db, user=user, name="script", days=1)
        db.commit()
        r = anonymous_client.post(
            "/api/v1/subgroups",
            json={"name": "By script"},
            headers={"Authorization": f"Bearer {plain}"},
        )
        assert r.status_code == 201


def _chunks(total: int):
    """A body sent in pieces, without a Content-Length."""
    for _ in range(total // 65536 + 2):
        yield b"x" * 65536


class TestChunkedBodies:
    """A body without a Content-Length is found too large only while it is read; FastAPI
    used to turn that into its own 400 ("error parsing the body")."""

    def test_a_chunked_json_body_over_the_limit_is_413(self, client, app):
        r = client.post(
            "/api/v1/agencies",
            content=_chunks(app.state.settings.max_request_bytes),
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 413 and r.json()["code"] == "too_large"

    def test_a_chunked_page_form_over_the_limit_is_413(self, anonymous_client, app, cookie_session):
        anonymous_client.cookies.set(SESSION_COOKIE, cookie_session)
        field = b"name=" + b"x" * 4000 + b"&"  # fields Starlette's form parser accepts

        def fields():
            for _ in range(app.state.settings.max_request_bytes // len(field) + 2):
                yield field

        r = anonymous_client.post(
            "/admin/agencies/new",
            content=fields(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 413


class TestQueryStrings:
    def test_a_query_string_that_is_not_utf8_is_400(self, client):
        r = client.get("/api/v1/audits?q=caf%E9")  # é in Latin-1, not UTF-8
        assert r.status_code == 400
        assert r.json()["errors"] == [
            {"field": "query", "message": "must be UTF-8 text, %-encoded"}
        ]

    def test_a_page_says_so_too(self, anonymous_client, cookie_session):
        anonymous_client.cookies.set(SESSION_COOKIE, cookie_session)
        r = anonymous_client.get("/audits?q=%FF")
        assert r.status_code == 400 and "There is a problem with the request" in r.text

    def test_utf8_is_read_as_sent(self, client):
        assert client.get("/api/v1/audits?q=caf%C3%A9").status_code == 200


FOREIGN = "https://evil.example"


class TestOrigin:
    """A change made with the session cookie must come from the service's own pages,
    even with the right CSRF token (tokens leak; a browser's Origin does not lie)."""

    def _post(self, client, app, cookie, **headers):
        client.cookies.set(SESSION_COOKIE, cookie)
        token = csrf_token_for(cookie, app.state.settings.secret_key)
        return client.post(
            "/api/v1/subgroups",
            json={"name": "From somewhere"},
            headers={"X-CSRF-Token": token, **headers},
        )

    @pytest.mark.parametrize(
        "headers",
        [
            {"Origin": FOREIGN},
            {"Origin": "null"},  # a sandboxed frame, or a page with no-referrer
            {"Origin": "http://testserver:8080"},  # another port is another origin
            {"Referer": f"{FOREIGN}/page"},
        ],
    )
    def test_a_foreign_origin_is_refused_and_nothing_is_saved(
        self, anonymous_client, app, cookie_session, headers
    ):
        r = self._post(anonymous_client, app, cookie_session, **headers)
        assert r.status_code == 403 and "another website" in r.json()["detail"]
        assert anonymous_client.get("/api/v1/subgroups").json()["total"] == 0

    @pytest.mark.parametrize(
        "headers",
        [
            {"Origin": "http://testserver"},  # the host the request was sent to
            {"Origin": "http://127.0.0.1:8000"},  # settings.public_url
            {"Referer": "http://testserver/admin/agencies"},
            {},  # not a browser: the token alone
        ],
    )
    def test_the_services_own_origin_is_accepted(
        self, anonymous_client, app, cookie_session, headers
    ):
        assert self._post(anonymous_client, app, cookie_session, **headers).status_code == 201

    def test_a_bearer_token_carries_no_ambient_authority(self, anonymous_client, db):
        user = access.create_user(
            db, email="script@example.org", display_name="S", roles={Role.ADMIN}
        )
        _row, plain = access.create_token(db, user=user, name="script", days=1)
        db.commit()
        r = anonymous_client.post(
            "/api/v1/subgroups",
            json={"name": "By script"},
            headers={"Authorization": f"Bearer {plain}", "Origin": FOREIGN},
        )
        assert r.status_code == 201

    def test_the_referrer_policy_keeps_the_services_own_origin(self, anonymous_client):
        # Under "no-referrer" a browser posts the service's own forms with Origin: null.
        assert anonymous_client.get("/sign-in").headers["referrer-policy"] == "same-origin"


class TestMethodsAndCredentials:
    def test_405_names_every_method_the_path_has(self, client):
        r = client.put("/api/v1/subgroups")  # GET and POST are two routes
        assert r.status_code == 405
        assert r.headers["allow"] == "GET, POST"

    def test_a_path_of_another_route_is_405_not_an_id(self, client):
        assert client.get("/api/v1/templates/import").status_code == 405
        assert client.patch("/api/v1/actions/counts", json={}).status_code == 405

    def test_without_credentials_401_comes_before_the_body_is_checked(self, anonymous_client):
        r = anonymous_client.patch("/api/v1/subgroups/1", json={"active": None})
        assert r.status_code == 401 and r.json()["code"] == "not_signed_in"
        # Public routes still check their bodies.
        assert anonymous_client.post("/api/v1/auth/sign-in", json={}).status_code == 422
