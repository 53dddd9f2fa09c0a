"""The API's answers as its contract says (issue 16): a 405 names every method its path
has, and who is asking is checked before what they sent (401 and 403 before 422)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from fastapi import APIRouter, FastAPI
from fastapi.responses import PlainTextResponse
from sqlalchemy import select
from starlette.routing import Mount, Router

from app import errors
from app.access import service as access
from app.access.auth import SESSION_COOKIE
from app.access.csrf import csrf_token_for
from app.access.models import ApiToken, Role
from app.errors import allowed_methods
from tests.helpers.access import bearer, signed_in_cookie, token_holder
from tests.helpers.factories import make_agency

API = "/api/v1"
NOON = datetime(2026, 3, 9, 12, tzinfo=UTC)
GARBAGE = {"nonsense": 1, "name": ["not", "a", "name"]}


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def _token(db, role: Role, *, agency_id: int | None = None) -> dict:
    return bearer(token_holder(db, role, f"Contract {role.value}", agency_id=agency_id)[1])


@pytest.fixture
def auditor(db) -> dict:
    agency = make_agency(db, name="Home agency")
    return _token(db, Role.AUDITOR, agency_id=agency.id)


@pytest.fixture
def admin(db) -> dict:
    return _token(db, Role.ADMIN)


def _allow(response) -> set[str]:
    return {method.strip() for method in response.headers["allow"].split(",")}


class TestAllow:
    @pytest.mark.parametrize(
        ("method", "path", "allowed"),
        [
            # Each method a route of its own, on one path.
            ("PUT", f"{API}/children/1", {"PATCH", "DELETE"}),
            ("DELETE", f"{API}/agencies/1", {"GET", "PATCH"}),
            ("POST", f"{API}/templates/1", {"GET"}),
            # /actions/{action_id:int} and /actions/counts: only the routes that match.
            ("PUT", f"{API}/actions/5", {"GET", "PATCH"}),
            ("PATCH", f"{API}/actions/counts", {"GET"}),
            # FastAPI's GET routes do not answer HEAD, so HEAD is not named.
            ("HEAD", f"{API}/subgroups", {"GET", "POST"}),
        ],
    )
    def test_an_api_405_names_every_method_of_the_path(self, client, method, path, allowed):
        r = client.request(method, path)
        assert r.status_code == 405
        assert _allow(r) == allowed
        if method != "HEAD":
            assert r.json() == {"detail": "Method Not Allowed", "code": "http_error"}

    def test_a_page_405_names_them_too_on_the_error_page(self, client):
        r = client.put("/admin/users/1")
        assert r.status_code == 405 and _allow(r) == {"GET", "POST"}
        assert r.headers["content-type"].startswith("text/html")
        r = client.delete("/sign-in")
        assert r.status_code == 405 and _allow(r) == {"GET", "POST"}

    def test_static_files_take_get_and_head(self, client):
        r = client.post("/static/nothing.css")
        assert r.status_code == 405 and _allow(r) == {"GET", "HEAD"}

    def test_worked_out_once_per_path(self, client, monkeypatch):
        calls: list[str] = []
        real = errors.allowed_methods

        def counted(routes, path, root_path=""):
            calls.append(path)
            return real(routes, path, root_path)

        monkeypatch.setattr(errors, "allowed_methods", counted)
        path = f"{API}/children/987654"  # a path no other test asks about
        assert client.put(path).status_code == 405
        assert client.post(path).status_code == 405
        assert calls == [path]

    def test_included_routers_with_prefixes_and_mounted_routers(self):
        app = FastAPI()
        router = APIRouter(prefix="/things")
        router.add_api_route("/{thing_id:int}", lambda thing_id: {}, methods=["GET"])
        router.add_api_route("/{thing_id:int}", lambda thing_id: {}, methods=["DELETE"])
        router.add_api_route("/new", lambda: {}, methods=["POST"])
        app.include_router(router, prefix="/v2")

        def hello(_request):
            return PlainTextResponse("hi")

        inner = Router()
        inner.add_route("/hello", hello, methods=["GET", "PUT"])
        app.mount("/inner", inner)
        app.mount("/opaque", PlainTextResponse("an application of its own"))

        def allow(path: str) -> set[str] | None:
            found = allowed_methods(app.router.routes, path)
            return None if found is None else set(found.split(", "))

        assert allow("/v2/things/7") == {"GET", "DELETE"}
        assert allow("/v2/things/new") == {"POST"}
        assert allow("/inner/hello") == {"GET", "HEAD", "PUT"}
        assert allow("/opaque/x") is None  # Starlette's own header stands
        assert isinstance(app.router.routes[-1], Mount)


class TestCallerBeforeBody:
    def test_a_role_that_may_not_use_the_route_gets_403_not_the_fields(
        self, anonymous_client, auditor
    ):
        r = anonymous_client.post(f"{API}/agencies", json=GARBAGE, headers=auditor)
        assert r.status_code == 403
        assert r.json() == {"detail": "Your role does not allow this.", "code": "forbidden"}

    def test_a_body_that_is_not_json_gets_403_too(self, anonymous_client, auditor):
        r = anonymous_client.post(
            f"{API}/agencies",
            content=b"{not json",
            headers={**auditor, "Content-Type": "application/json"},
        )
        assert r.status_code == 403 and r.json()["code"] == "forbidden"

    def test_a_path_parameter_the_caller_may_not_ask_about_gets_403(
        self, anonymous_client, auditor, admin
    ):
        assert anonymous_client.get(f"{API}/users/abc", headers=auditor).status_code == 403
        r = anonymous_client.get(f"{API}/users/abc", headers=admin)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.user_id"

    def test_without_credentials_401(self, anonymous_client):
        for sent in ({"json": GARBAGE}, {"content": b"{not json"}):
            headers = {"Content-Type": "application/json"}
            r = anonymous_client.post(f"{API}/agencies", headers=headers, **sent)
            assert r.status_code == 401 and r.json()["code"] == "not_signed_in", r.text
            assert "errors" not in r.json()

    def test_a_token_that_is_not_live_is_401(self, anonymous_client):
        r = anonymous_client.post(f"{API}/agencies", json=GARBAGE, headers=bearer("cat_unknown"))
        assert r.status_code == 401 and r.json()["code"] == "not_signed_in"

    def test_a_permitted_caller_still_gets_422_with_the_fields(self, anonymous_client, admin):
        r = anonymous_client.post(f"{API}/agencies", json=GARBAGE, headers=admin)
        assert r.status_code == 422
        body = r.json()
        assert body["code"] == "invalid"
        fields = {error["field"] for error in body["errors"]}
        assert {"name", "kind", "nonsense"} <= fields

    def test_public_routes_check_their_bodies_for_everyone(self, anonymous_client):
        r = anonymous_client.post(f"{API}/auth/sign-in", json={"email": 3})
        assert r.status_code == 422 and r.json()["code"] == "invalid"

    def test_looking_the_caller_up_writes_only_what_a_read_writes(
        self, anonymous_client, auditor, db
    ):
        anonymous_client.post(f"{API}/agencies", json=GARBAGE, headers=auditor)
        # The token's last use, as any request records it; nothing else (no agency).
        db.expire_all()
        assert db.scalar(select(ApiToken.last_used_at)) == NOON  # the auditor's, the only one
        assert anonymous_client.get(f"{API}/agencies", headers=auditor).json()["total"] == 1

    def test_a_cookie_session_without_its_csrf_token_is_403_before_422(
        self, anonymous_client, app, db
    ):
        user = access.create_user(
            db, email="admin-cookie@example.org", display_name="Admin", roles={Role.ADMIN}
        )
        cookie = signed_in_cookie(db, user)
        anonymous_client.cookies.set(SESSION_COOKIE, cookie)
        r = anonymous_client.post(f"{API}/agencies", json=GARBAGE)
        assert r.status_code == 403 and "expired" in r.json()["detail"]
        token = csrf_token_for(cookie, app.state.settings.secret_key)
        r = anonymous_client.post(f"{API}/agencies", json=GARBAGE, headers={"X-CSRF-Token": token})
        assert r.status_code == 422 and r.json()["errors"]

    def test_a_page_answers_with_its_403_page(self, anonymous_client, app, db):
        agency = make_agency(db, name="Home agency")
        user = access.create_user(
            db,
            email="auditor-page@example.org",
            display_name="Auditor",
            roles={Role.AUDITOR},
            agency_id=agency.id,
        )
        cookie = signed_in_cookie(db, user)
        anonymous_client.cookies.set(SESSION_COOKIE, cookie)
        token = csrf_token_for(cookie, app.state.settings.secret_key)
        too_big = "/admin/agencies/99999999999/deactivate"  # beyond any id: a 422
        r = anonymous_client.post(too_big, data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("text/html")
        anonymous_client.cookies.clear()
        r = anonymous_client.post(too_big, data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/sign-in?")
