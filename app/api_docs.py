"""The API's own description: the OpenAPI document, with how to authenticate declared
on every route that needs someone signed in (a bearer token, or a browser's session
cookie with its CSRF token for changes), one error body on every operation, the body
of each download, and operation ids that are the routes' names; and its
documentation page (Swagger UI, served by the service itself: no CDN at run time, no
inline script).

Both are on outside production; in production only when ``AUDIT_API_DOCS=true``: the
document lists every route and field, which helps whoever probes the service more
than whoever uses it, and the partnership decides whether to publish it.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from app.access.auth import SECURE_SESSION_COOKIE, SESSION_COOKIE
from app.access.policy import Permission
from app.access.rules import ROUTE_RULES
from app.config import PROJECT_ROOT, Settings
from app.deps import SAFE_METHODS

# Every error the API answers has this body (app.errors), whatever its status.
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["detail", "code"],
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, in words for people."},
        "code": {
            "type": "string",
            "description": "What went wrong, for programs: invalid, not_found, forbidden, "
            "not_signed_in, conflict, wrong_state, too_large, bad_request ...",
        },
        "errors": {
            "type": "array",
            "description": "Each field that is wrong (422), by its place in the request.",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
# The statuses any API route may answer with an Error, beside its own.
ERRORS = {
    "400": "The request could not be read: a body that is not JSON, or a query string "
    "that is not UTF-8.",
    "401": "Not signed in: no bearer token, or one that is unknown, expired or revoked.",
    "403": "Signed in, but this person may not do this (or a change made with a "
    "browser's session cookie without its CSRF token, or from another site).",
    "404": "No such object, or none this person may see.",
    "409": "The object changed meanwhile, or its state does not allow this.",
    "413": "The request is larger than the service accepts.",
    "422": "A value in the request is not valid; ``errors`` names each field.",
    "429": "Too many attempts: wait before trying again.",
    "503": "The database is busy or unavailable: nothing was saved; try again shortly.",
}
SWAGGER_UI_DIST = PROJECT_ROOT / "node_modules" / "swagger-ui-dist"
# All the page needs of the package (it also holds a demo page pointing at a petstore).
SWAGGER_UI_FILES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"})
BEARER = "bearerAuth"
SESSION = "sessionCookie"
CSRF = "csrfToken"
CSRF_HEADER_NAME = "X-CSRF-Token"  # app.access.csrf.CSRF_HEADER as clients write it


def docs_on(settings: Settings) -> bool:
    """Whether /docs and /openapi.json are served: as set, else everywhere but production."""
    if settings.api_docs is not None:
        return settings.api_docs
    return settings.environment != "production"


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus how to authenticate on every API route whose rule is
    not public: an HTTP bearer token (a personal API token), or else a browser's
    session cookie, with its CSRF token for a change (``security_for``)."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        components = document.setdefault("components", {})
        _declare_errors(document, components.setdefault("schemas", {}))
        _declare_downloads(document)
        components["securitySchemes"] = SECURITY_SCHEMES
        for route in _api_routes(app.routes):
            operations = document["paths"].get(route.path_format, {})
            for method in route.methods or ():
                operation = operations.get(method.lower())
                if operation is None:
                    continue
                operation["operationId"] = operation_id(route.name)
                if ROUTE_RULES.get(route.name) != Permission.PUBLIC:
                    operation["security"] = security_for(method)
        app.openapi_schema = document
    return app.openapi_schema


SECURITY_SCHEMES: dict[str, Any] = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token (``cat_...``), made with "
        "POST /api/v1/auth/tokens while signed in, or with ``audit-tools``: for scripts "
        "and other systems. Never needs a CSRF token.",
    },
    SESSION: {
        "type": "apiKey",
        "in": "cookie",
        "name": SECURE_SESSION_COOKIE,
        "description": "A browser's session, set by signing in (POST /api/v1/auth/sign-in "
        f"then /api/v1/auth/second-factor). Over https the cookie is ``{SECURE_SESSION_COOKIE}``;"
        f" over plain http (development only) ``{SESSION_COOKIE}``. Enough to read (GET); "
        "a change (POST, PUT, PATCH, DELETE) needs the session's CSRF token as well, "
        "and must not come from another site.",
    },
    CSRF: {
        "type": "apiKey",
        "in": "header",
        "name": CSRF_HEADER_NAME,
        "description": "The session's CSRF token, as signing in and GET /api/v1/auth/me "
        "give it (``csrf_token``): sent with every change made with the session cookie.",
    },
}


def security_for(method: str) -> list[dict[str, list[str]]]:
    """Either a bearer token or the session cookie: with the cookie, a change needs the
    CSRF token too (a read does not: CSRF is checked on changes only)."""
    if method.upper() in SAFE_METHODS:
        return [{BEARER: []}, {SESSION: []}]
    return [{BEARER: []}, {SESSION: [], CSRF: []}]


def operation_id(route_name: str) -> str:
    """An operation's id: its route's name (``api.audits.create``: ``audits_create``),
    which clients generated from the document use as the function's name, and which
    stays the same when a path changes (FastAPI's own is the name, path and method)."""
    return route_name.removeprefix("api.").replace(".", "_")


def _declare_errors(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Every operation answers its errors with the Error body (FastAPI's own document
    says a 422 has a list of pydantic errors, which this API never sends)."""
    schemas["Error"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in document.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue  # /api/health answers with its own body
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERRORS.items():
                responses[status] = {"description": description, "content": error}
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def _declare_downloads(document: dict[str, Any]) -> None:
    """A download's body, by its media type (FastAPI declares none, and a generated
    client then reads nothing): text (CSV) a string, a spreadsheet bytes, a template
    file (YAML) any document."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                for media_type, content in response.get("content", {}).items():
                    if "schema" in content or media_type == "application/json":
                        continue
                    if media_type.startswith("text/"):
                        content["schema"] = {"type": "string"}
                    elif media_type == "application/yaml":
                        content["schema"] = {}
                    else:
                        content["schema"] = {"type": "string", "format": "binary"}


def _api_routes(routes) -> list[APIRoute]:
    """Every APIRoute in the document, however deeply its router was included."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
    return found


class _NamedFiles(StaticFiles):
    """Only the named files of a folder."""

    def __init__(self, *, directory, names: frozenset[str]) -> None:
        super().__init__(directory=directory)
        self.names = names

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if path not in self.names:
            return "", None
        return super().lookup_path(path)


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API documentation</title>
<link rel="icon" type="image/png" href="{favicon}">
<link rel="stylesheet" href="{css}">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{bundle}"></script>
<script type="module" src="{init}"></script>
</body>
</html>
"""


def install(app: FastAPI, settings: Settings) -> None:
    """Declare the bearer token in the OpenAPI document; serve /docs and its files when
    the documentation is on (``docs_on``). FastAPI serves /openapi.json itself. Before
    the /assets mount, which would otherwise take /assets/swagger-ui/ for its own."""
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    app.state.api_docs = docs_on(settings) and SWAGGER_UI_DIST.is_dir()
    if not app.state.api_docs:
        return
    app.mount(
        "/assets/swagger-ui",
        _NamedFiles(directory=SWAGGER_UI_DIST, names=SWAGGER_UI_FILES),
        name="swagger_ui_assets",
    )

    def docs(request: Request) -> Response:
        def asset(name: str) -> str:
            return str(request.url_for("swagger_ui_assets", path=name).path)

        return HTMLResponse(
            PAGE.format(
                title=app.title,
                favicon=asset("favicon-32x32.png"),
                css=asset("swagger-ui.css"),
                bundle=asset("swagger-ui-bundle.js"),
                init=str(request.url_for("static", path="swagger.mjs").path),
                openapi=app.openapi_url,
            )
        )

    app.add_route("/docs", docs, include_in_schema=False, name="swagger_ui_html")
