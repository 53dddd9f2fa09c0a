"""One request, one transaction, ended in one place (app.deps.transactional): kept
when the endpoint succeeds, undone when it raises or answers with a refusal (status
400 or more), unless the route says its refusals must be kept."""

from __future__ import annotations

import pytest
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select

from app.access.policy import Permission
from app.access.rules import ROUTE_RULES
from app.agencies import service as agencies
from app.agencies.models import Agency, AgencyKind
from app.deps import SessionDep, transactional
from app.errors import InvalidInput


def _add(session, name: str) -> None:
    agencies.create_agency(session, name=name, kind=AgencyKind.OTHER)
    session.flush()


def _wrote(session, name: str) -> Agency | None:
    return session.scalar(select(Agency).where(Agency.name == name))


@pytest.fixture
def probe(app, monkeypatch):
    """Adds a route to the app for one test, with a rule, and takes it away after."""
    added = []

    def add(endpoint, name: str) -> str:
        path = f"/_probe/{name}"
        app.add_api_route(path, endpoint, methods=["POST"], name=name)
        monkeypatch.setitem(ROUTE_RULES, name, Permission.PUBLIC)
        added.append(app.router.routes[-1])
        return path

    yield add
    for route in added:
        app.router.routes.remove(route)


class TestOneTransaction:
    def test_a_success_is_kept(self, anonymous_client, probe, db):
        @transactional
        def ok(session: SessionDep) -> HTMLResponse:
            _add(session, "Kept")
            return HTMLResponse("saved", status_code=200)

        assert anonymous_client.post(probe(ok, "probe_ok")).status_code == 200
        assert _wrote(db, "Kept") is not None

    def test_a_page_that_shows_a_refusal_keeps_nothing(self, anonymous_client, probe, db):
        @transactional
        def refusing_page(session: SessionDep) -> HTMLResponse:
            _add(session, "Half written")
            return HTMLResponse("There is a problem", status_code=422)

        assert anonymous_client.post(probe(refusing_page, "probe_page")).status_code == 422
        assert _wrote(db, "Half written") is None

    def test_a_json_refusal_keeps_nothing(self, anonymous_client, probe, db):
        @transactional
        def refusing_json(session: SessionDep) -> JSONResponse:
            _add(session, "Half written too")
            return JSONResponse({"detail": "stale"}, status_code=409)

        assert anonymous_client.post(probe(refusing_json, "probe_json")).status_code == 409
        assert _wrote(db, "Half written too") is None

    def test_a_raised_error_keeps_nothing(self, anonymous_client, probe, db):
        @transactional
        def raising(session: SessionDep) -> HTMLResponse:
            _add(session, "Before the error")
            raise InvalidInput("No.")

        assert anonymous_client.post(probe(raising, "probe_raise")).status_code == 422
        assert _wrote(db, "Before the error") is None

    def test_a_route_that_keeps_its_refusals_says_so(self, anonymous_client, probe, db):
        @transactional(keep_refusals=True)
        def counted(session: SessionDep) -> HTMLResponse:
            _add(session, "Failure counted")
            return HTMLResponse("Wrong password", status_code=422)

        assert anonymous_client.post(probe(counted, "probe_keep")).status_code == 422
        assert _wrote(db, "Failure counted") is not None
