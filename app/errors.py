"""The error tree and the one place that turns errors into responses.

Services raise ``AppError`` subclasses that carry their HTTP status; routers never
build error responses by hand. Unexpected exceptions are logged and answered with
a plain message: a stack trace or SQL text never reaches a user. This module imports
nothing of the app's: anything may raise these errors.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class AppError(Exception):
    status_code = 400
    code = "bad_request"
    # Whether a route marked ``transactional(keep_refusals=True)`` commits what was
    # written before this was raised (a refusal's own audit-log row) rather than roll
    # it back.
    kept = False

    def __init__(self, message: str, *, fields: list[FieldError] | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.fields = fields or []
        self.extra = extra

    def to_json(self) -> dict:
        body: dict = {"detail": self.message, "code": self.code}
        if self.fields:
            body["errors"] = [{"field": f.field, "message": f.message} for f in self.fields]
        body.update(self.extra)
        return body


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class InvalidInput(AppError):
    status_code = 422
    code = "invalid"


class StateError(Conflict):
    """The object is not in a state that allows this (e.g. editing a published template)."""

    code = "wrong_state"


def _loc_to_field(loc: tuple) -> str:
    # ("body", "answers", 0, "value") -> "answers[0].value"; query/path keep their name.
    parts = list(loc[1:]) if loc and loc[0] == "body" else list(loc)
    if parts and isinstance(parts[0], int):  # a position in an unparsable body
        return "body"
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def validation_fields(errors) -> list[FieldError]:
    fields = []
    for err in errors:
        message = err.get("msg", "is not valid")
        message = message.removeprefix("Value error, ")
        fields.append(FieldError(_loc_to_field(tuple(err.get("loc", ()))), message))
    return fields


SERVER_ERROR = "Something went wrong on our side. Nothing was saved."

# How a browser is shown an error: a page in the service's design (app.templating).
# Passed in, so this module imports nothing of the app's and anything may raise.
PageResponder = Callable[[Request, int, dict, Mapping[str, str] | None], Response]
# Whether the caller may use the route at all, asked before its invalid input is
# answered: raises the AppError (401, 403) its endpoint would have (app.caller_first).
CallerCheck = Callable[[Request], Awaitable[None]]


def wants_page(request: Request) -> bool:
    """Browsers get pages; the API and its documentation get JSON."""
    path = request.url.path
    return not path.startswith(("/api/", "/openapi.json", "/docs"))


# The methods an Allow header may name: each is tried against the routes in turn.
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class _DecidesForItself(Exception):
    """A mounted application that is not a router: its methods cannot be read."""


def _accepts(routes: Sequence[BaseRoute], scope: Scope) -> bool:
    """Whether the router would hand this request (path and method) to a route, as
    Starlette's Router decides: the first route that matches fully takes it, and a
    mount takes every method its path has (a mounted router: its own routes)."""
    for route in routes:
        match, child = route.matches(scope)
        if match is not Match.FULL:
            continue
        if not isinstance(route, Mount):
            return True
        if isinstance(route.app, StaticFiles):
            return scope["method"] in ("GET", "HEAD")
        if route.routes:
            return _accepts(route.routes, {**scope, **child})
        raise _DecidesForItself
    return False


def allowed_methods(routes: Sequence[BaseRoute], path: str, root_path: str = "") -> str | None:
    """The Allow header for ``path``: every method some route would take, or None if a
    mounted application decides for itself. Starlette's own 405 names only the methods
    of the first route with the path, when a path's methods are routes of their own
    (GET and POST of a list); FastAPI's included routers are matched the same way here
    as when a request is routed."""
    found = []
    for method in _METHODS:
        probe: Scope = {"type": "http", "method": method, "path": path, "root_path": root_path}
        try:
            if _accepts(routes, probe):
                found.append(method)
        except _DecidesForItself:
            return None
    return ", ".join(found) or None


def install_error_handlers(
    app: FastAPI, *, page: PageResponder, check_caller: CallerCheck | None = None
) -> None:
    """``check_caller`` runs before a request's invalid input is answered 422: it raises
    the 401 or 403 the route's endpoint would have answered (app.caller_first)."""

    # Once per path (at most this many kept): every route is tried for every method.
    @lru_cache(maxsize=1024)
    def allow_for(path: str, root_path: str) -> str | None:
        return allowed_methods(app.router.routes, path, root_path)

    def respond(
        request: Request, status: int, body: dict, headers: Mapping[str, str] | None = None
    ) -> Response:
        if wants_page(request):
            return page(request, status, body, headers)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        return respond(request, exc.status_code, exc.to_json())

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        # Who may send this comes first: what is wrong with a body the caller may not
        # send at all is not theirs to learn (a 401 or 403, as the endpoint answers).
        if check_caller is not None:
            try:
                await check_caller(request)
            except AppError as refusal:
                return respond(request, refusal.status_code, refusal.to_json())
            except OperationalError as down:
                return await _unavailable(request, down)
        err = InvalidInput("The request is not valid.", fields=validation_fields(exc.errors()))
        return respond(request, 422, err.to_json())

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        # Services check the rules first; this is the backstop for a race between
        # two requests (e.g. two people adding "Child A" at the same moment).
        log.warning("integrity error: %s", exc.orig)
        err = Conflict(
            "This change conflicts with data saved at the same time. Reload and try again."
        )
        return respond(request, 409, err.to_json())

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        # Input checks refuse what the database cannot store; this catches the rest.
        log.warning("data error: %s", exc.orig)
        err = InvalidInput("A value in the request cannot be stored. Nothing was saved.")
        return respond(request, 422, err.to_json())

    @app.exception_handler(OperationalError)
    async def _unavailable(request: Request, exc: OperationalError) -> Response:
        # The database is unreachable, or (SQLite) stayed locked past the busy timeout.
        log.error("database unavailable: %s", exc.orig)
        body = {
            "detail": "The database is busy or unavailable. Nothing was saved; try again "
            "in a moment.",
            "code": "unavailable",
        }
        return respond(request, 503, body, headers={"Retry-After": "5"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
        code = "not_found" if exc.status_code == 404 else "http_error"
        headers = exc.headers
        if exc.status_code == 405:
            # Mounts change the scope's root_path on the way in; app_root_path is the
            # top level's.
            scope = request.scope
            allow = allow_for(scope["path"], scope.get("app_root_path", scope.get("root_path", "")))
            if allow is not None:
                headers = {**(headers or {}), "Allow": allow}
        return respond(request, exc.status_code, {"detail": detail, "code": code}, headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return respond(request, 500, {"detail": SERVER_ERROR, "code": "server_error"})
