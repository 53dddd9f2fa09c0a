"""The error tree and the one place that turns errors into responses.

Services raise ``AppError`` subclasses that carry their HTTP status; routers never
build error responses by hand. Unexpected exceptions are logged and answered with
a plain message: a stack trace or SQL text never reaches a user. This module imports
nothing of the app's: anything may raise these errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def wants_page(request: Request) -> bool:
    """Browsers get pages; the API and its documentation get JSON."""
    path = request.url.path
    return not path.startswith(("/api/", "/openapi.json", "/docs"))


def _methods_for(routes, path: str) -> set[str]:
    """The methods of every route whose path matches, however deeply included."""
    found: set[str] = set()
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            found |= _methods_for(nested.routes, path)
            continue
        methods, pattern = getattr(route, "methods", None), getattr(route, "path_regex", None)
        if methods and pattern is not None and pattern.match(path):
            found |= set(methods)
    return found


def install_error_handlers(app: FastAPI, *, page: PageResponder) -> None:
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
            # Starlette names only the methods of the first route with this path; the
            # answer must name every method the path has (GET and POST of a list).
            methods = _methods_for(request.app.routes, request.scope["path"])
            headers = {**(headers or {}), "Allow": ", ".join(sorted(methods))}
        return respond(request, exc.status_code, {"detail": detail, "code": code}, headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return respond(request, 500, {"detail": SERVER_ERROR, "code": "server_error"})
