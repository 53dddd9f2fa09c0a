"""The one Jinja2 environment for pages: our templates, then GOV.UK Frontend's
macros (govuk-frontend-jinja), with the globals every page needs."""

from __future__ import annotations

from pathlib import Path

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
from starlette.responses import HTMLResponse

from app.access.auth import session_token_from
from app.access.csrf import CSRF_FIELD, csrf_token_for
from app.access.policy import ANONYMOUS
from app.config import PROJECT_ROOT
from app.context import bound_actor

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
