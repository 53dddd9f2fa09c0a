"""The error tree and the one place that turns errors into responses.

Services raise ``AppError`` subclasses that carry their HTTP status; routers never
build error responses by hand. Unexpected exceptions are logged and answered with
a plain message: a stack trace or SQL text never reaches a user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(exc.to_json(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        err = InvalidInput("The request is not valid.", fields=validation_fields(exc.errors()))
        return JSONResponse(err.to_json(), status_code=422)

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        # Services check the rules first; this is the backstop for a race between
        # two requests (e.g. two people adding "Child A" at the same moment).
        log.warning("integrity error: %s", exc.orig)
        err = Conflict(
            "This change conflicts with data saved at the same time. Reload and try again."
        )
        return JSONResponse(err.to_json(), status_code=409)

    @app.exception_handler(DataError)
    async def _data(_request: Request, exc: DataError) -> JSONResponse:
        # Input checks refuse what the database cannot store; this catches the rest.
        log.warning("data error: %s", exc.orig)
        err = InvalidInput("A value in the request cannot be stored. Nothing was saved.")
        return JSONResponse(err.to_json(), status_code=422)

    @app.exception_handler(OperationalError)
    async def _unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        # The database is unreachable, or (SQLite) stayed locked past the busy timeout.
        log.error("database unavailable: %s", exc.orig)
        return JSONResponse(
            {
                "detail": "The database is busy or unavailable. Nothing was saved; try again "
                "in a moment.",
                "code": "unavailable",
            },
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
        code = "not_found" if exc.status_code == 404 else "http_error"
        return JSONResponse(
            {"detail": detail, "code": code}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            {
                "detail": "Something went wrong on our side. Nothing was saved.",
                "code": "server_error",
            },
            status_code=500,
        )
