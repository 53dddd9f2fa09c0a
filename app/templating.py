"""The one Jinja2 environment for pages: our templates, then GOV.UK Frontend's
macros (govuk-frontend-jinja), with the globals every page needs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    select_autoescape,
)
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.access.auth import session_token_from
from app.access.csrf import CSRF_FIELD, csrf_token_for
from app.access.policy import ANONYMOUS
from app.config import PROJECT_ROOT
from app.context import bound_actor
from app.errors import SERVER_ERROR

TEMPLATES = PROJECT_ROOT / "templates"
# GOV.UK Frontend's compiled CSS, JS, fonts and images, installed by `npm ci`.
GOVUK_DIST = PROJECT_ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk"
STATIC = Path(__file__).parent / "static"

environment = Environment(
    loader=ChoiceLoader(
        [
            FileSystemLoader(TEMPLATES),
            PrefixLoader(
                {"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates")}
            ),
        ]
    ),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=environment)


def csrf_token(request: Request) -> str:
    token = session_token_from(request)
    return csrf_token_for(token, request.app.state.settings.secret_key) if token else ""


def render(
    request: Request, name: str, context: dict | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """A page: the template with the request, the signed-in person and the CSRF field."""
    values = {
        "request": request,
        # Outside a request's work (an error page, say) nobody is shown as signed in.
        "actor": bound_actor() or ANONYMOUS,
        "service_name": request.app.state.settings.partnership_name,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request),
        **(context or {}),
    }
    return templates.TemplateResponse(request, name, values, status_code=status_code)


PAGE_HEADINGS = {
    400: "There is a problem with the request",
    403: "You do not have access to this page",
    404: "Page not found",
    409: "This has changed since you opened it",
    413: "The file or form is too large",
    422: "There is a problem",
    429: "Too many attempts",
    503: "Sorry, the service is unavailable",
}


def error_page(request: Request, status: int, body: dict, headers: dict | None) -> Response:
    """An error as a browser sees it: sign in first if that is what is missing, else
    a page in the service's design saying what went wrong (never the exception)."""
    if body.get("code") == "not_signed_in":
        target = "/sign-in?next=" + quote(request.url.path, safe="/")
        return RedirectResponse(target, status_code=303)
    heading = PAGE_HEADINGS.get(status, "Sorry, there is a problem with the service")
    paragraphs = [body.get("detail") or SERVER_ERROR]
    if status == 404:
        paragraphs = [
            "If you typed the web address, check it is correct.",
            "If you followed a link, the page may have moved, or you may not have access to it.",
        ]
    page = render(
        request,
        "errors/error.html",
        {"heading": heading, "paragraphs": paragraphs},
        status_code=status,
    )
    for name, value in (headers or {}).items():
        page.headers[name] = value
    return page
