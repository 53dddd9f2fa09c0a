"""The one Jinja2 environment for pages: our templates, then GOV.UK Frontend's
macros (govuk-frontend-jinja), with the filters and globals every page uses; how a
page is rendered, linked to (by route name) and redirected to, and its flash message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    pass_context,
    select_autoescape,
)
from markupsafe import Markup
from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from starlette.applications import Starlette
from starlette.datastructures import URLPath
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, NoMatchFound

from app import govuk
from app.access.auth import current_web_session, session_token_from
from app.access.csrf import CSRF_FIELD, csrf_token_for
from app.access.models import WebSession
from app.access.policy import ANONYMOUS, Actor, Permission
from app.audits import stage
from app.clock import utcnow
from app.config import PROJECT_ROOT
from app.context import bound_actor, current
from app.db import after_read
from app.errors import SERVER_ERROR
from app.formatting import (
    format_date,
    format_datetime,
    format_time,
    interval,
    number,
    percentage,
    plural,
    signed,
)
from app.returns.wording import answer_text
from app.tables import Cell

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


# --- links and redirects, by route name ---------------------------------------------


def url(
    request: Request,
    name: str,
    /,
    *,
    query: Mapping[str, Any] | None = None,
    anchor: str | None = None,
    **params: Any,
) -> str:
    """The path of the route called ``name`` (``"actions.view"``), with its path
    parameters, an optional query and an optional #anchor. Pages and templates link
    only through this, so a route can move without a link breaking."""
    path = str(_path_for(request.app, name, params))
    if query:
        chosen = {k: v for k, v in query.items() if v not in (None, "", False)}
        if chosen:
            path += "?" + urlencode(chosen, doseq=True, safe="/")
    return path + (f"#{anchor}" if anchor else "")


def _path_for(app: Starlette, name: str, params: dict[str, Any]) -> URLPath:
    """``app.url_path_for``, remembering which of the app's routes holds each name.
    Starlette asks every route in turn, and each included router every route of its
    own, each refusal an exception: about half a millisecond a link, against a few
    microseconds when the route holding the name is asked first. Route names are
    unique (tests/test_permissions.py), so the route remembered is the one Starlette
    would find."""
    owners: dict[str, Any] | None = getattr(app.state, "route_owners", None)
    if owners is None:
        owners = app.state.route_owners = {}
    owner = owners.get(name)
    if owner is not None:
        try:
            return owner.url_path_for(name, **params)
        except NoMatchFound:
            pass  # other parameters: ask every route, as Starlette would
    for route in app.router.routes:
        try:
            path = route.url_path_for(name, **params)
        except NoMatchFound:
            continue
        owners[name] = _holder(route, name, params)
        return path
    raise NoMatchFound(name, params)


def _holder(route: BaseRoute, name: str, params: dict[str, Any]) -> Any:
    """The route itself, or the one inside it that holds ``name``. FastAPI keeps an
    included router as one route of the app (``_IncludedRouter``), which asks each of
    its routes in turn, a refusal an exception each: about 7 microseconds a link
    against under 3 for the route itself, which a list of 200 rows pays 200 times. Its
    ``effective_route_contexts`` are its routes as the app serves them; without that
    method (another FastAPI), the included router is remembered, as before."""
    contexts = getattr(route, "effective_route_contexts", None)
    if contexts is None:
        return route
    for context in contexts():
        try:
            context.url_path_for(name, **params)
        except NoMatchFound:
            continue
        return context
    return route


def redirect(request: Request, name: str, /, **kwargs: Any) -> RedirectResponse:
    """See Other: after a change, the browser fetches the named page (POST, redirect,
    GET), so reloading it never repeats the change."""
    return RedirectResponse(url(request, name, **kwargs), status_code=303)


# The request whose page is being drawn: macros imported without the page's context
# (so that Jinja can cache them) still link and sign their forms for it.
_rendering: ContextVar[Request] = ContextVar("rendering")


def _url(name: str, /, **kwargs: Any) -> str:
    return url(_rendering.get(), name, **kwargs)


# --- flash messages ------------------------------------------------------------------


def _web_session() -> WebSession | None:
    context = current()
    if context.session is None:
        return None
    # None for an API token or a script: there is no next page to show it on.
    return current_web_session(context.session, context.actor)


def flash(message: str) -> None:
    """Show ``message`` in a success banner on the next page this person sees. It is
    kept with their web session on the server, never carried in the address, where
    anyone could craft a link whose banner says anything."""
    web = _web_session()
    if web is not None:
        web.flash = message[:1000]


def _take_flash(request: Request) -> str | None:
    session = current().session
    actor = current().actor
    if (
        session is not None
        and actor.credential_id is not None
        and getattr(request.state, "flash_waiting", None) is False
        and session.identity_map.get(identity_key(WebSession, actor.credential_id)) is None
    ):
        # Signing in saw no message waiting and this request has not set one (flash()
        # loads the session): nothing to read.
        return None
    web = _web_session()
    if web is None or not web.flash or session is None:
        return None
    message, web_id = web.flash, web.id
    set_committed_value(web, "flash", None)
    # Cleared once shown, after the page's read in a read request (app.db.after_read).
    after_read(
        session,
        lambda s: s.execute(
            update(WebSession)
            .where(WebSession.id == web_id, WebSession.flash == message)
            .values(flash=None)
        ),
    )
    return message


def gov_cell(cell: Cell) -> dict:
    """A table cell (app.tables) as GOV.UK's table macro takes it."""
    return {"text": cell.text, "format": "numeric" if cell.numeric else None}


# How dates, times and numbers read: app/formatting.py, shared with the PDFs' tables.
environment.filters.update(
    gov_cell=gov_cell,
    date=format_date,
    time=format_time,
    datetime=format_datetime,
    percentage=percentage,
    number=number,
    signed=signed,
    interval=interval,
    plural=plural,
)


# --- rendering -----------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    token = session_token_from(request)
    return csrf_token_for(token, request.app.state.settings.secret_key) if token else ""


def _csrf_input() -> Markup:
    """The hidden field every form that changes something carries."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        CSRF_FIELD, csrf_token(_rendering.get())
    )


def gov_items(items: list, chosen: list[str], key: str, disabled: bool = False) -> list[dict]:
    """(value, text) pairs, dicts, or plain strings (the value is the text) as GOV.UK
    select, radio or checkbox items, the chosen ones marked ``key`` ("selected" or
    "checked"); a hint may be plain text."""
    out = []
    for item in items:
        if isinstance(item, Mapping) and "divider" in item:  # GOV.UK's "or" between items
            out.append(dict(item))
            continue
        if isinstance(item, Mapping):
            entry = dict(item)
        elif isinstance(item, str):
            entry = {"value": item, "text": item}
        else:
            entry = {"value": item[0], "text": item[1]}
        if isinstance(entry.get("hint"), str):
            entry["hint"] = {"text": entry["hint"]}
        entry[key] = str(entry["value"]) in chosen
        if disabled:
            entry["disabled"] = True
        out.append(entry)
    return out


def options(objects: Iterable[Any], text: str = "name", value: str = "id") -> list[tuple]:
    """Records as (value, text) choices for a select, radios or checkboxes."""
    return [(getattr(o, value), getattr(o, text)) for o in objects]


def positions(count: int) -> list[tuple[int, str]]:
    """The choices of a "Position" select: 1 of 3, 2 of 3, 3 of 3."""
    return [(n, f"{n} of {count}") for n in range(1, count + 1)]


def _route_name(request: Request) -> str:
    return getattr(request.scope.get("route"), "name", "") or ""


@pass_context
def _audit_navigation(context, audit) -> dict:
    """An audit's stages and the tabs of its pages this person may use, the page's own
    current (templates/audits/_audit_nav.html draws them)."""
    request, actor = context["request"], context["actor"]
    return {
        "stages": stage.stages(audit),
        "tabs": [
            {
                "text": tab.label,
                "href": url(request, tab.route, query=tab.query, **tab.params),
                "current": tab.current,
            }
            for tab in stage.tabs(actor, audit, _route_name(request))
        ],
    }


def sort_heads(
    request: Request,
    name: str,
    /,
    *,
    columns: Iterable[tuple[str, str | None] | tuple[str, str | None, str]],
    sort: str,
    query: Mapping[str, Any],
    **params: Any,
) -> list[dict]:
    """A table's head for GOV.UK's table macro, each sortable column (label, key) a link
    that sorts by it (ascending first, then the other way), keeping the page's filters
    (``query``); ``aria-sort`` says how the table is sorted now. ``sort`` is a key,
    with a leading "-" for descending; a column whose key is None is not sortable. A
    third item is the column's GOV.UK format ("numeric")."""
    heads: list[dict[str, Any]] = []
    for label, key, *rest in columns:
        if key is None:
            heads.append({"text": label, "format": rest[0] if rest else None})
            continue
        now = "ascending" if sort == key else "descending" if sort == f"-{key}" else "none"
        target = f"-{key}" if now == "ascending" else key
        href = url(request, name, query={**query, "sort": target}, **params)
        heads.append(
            {
                "html": Markup('<a class="govuk-link" href="{}">{}</a>').format(href, label),
                "attributes": {"aria-sort": now},
                "format": rest[0] if rest else None,
            }
        )
    return heads


def whose_return(audit, agency: str, case: str) -> str:
    """ "Police's return for Child A"; in an audit about agencies, "Police's own return"."""
    if audit.about_agencies:
        return f"{agency}'s own return"
    return f"{agency}'s return for {case}"


def case_caption(r: dict, version) -> str:
    """A return's case as its pages caption it: "Child A, Police"; in an audit about
    agencies (its template's subject), the agency alone."""
    if version.subject == "agency":
        return r["agency"]["name"]
    return f"{r['child']['pseudonym']}, {r['agency']['name']}"


def return_heading(r: dict, version) -> str:
    """ "Child A: return for Police"; in an audit about agencies, "Police's own return"."""
    if version.subject == "agency":
        return f"{r['agency']['name']}'s own return"
    return f"{r['child']['pseudonym']}: return for {r['agency']['name']}"


environment.globals.update(
    url=_url,
    whose_return=whose_return,
    case_caption=case_caption,
    return_heading=return_heading,
    # GOV.UK's table and tag for long lists: the macros' markup, without their cost a row.
    gov_table=govuk.table,
    gov_tag=govuk.tag,
    audit_navigation=_audit_navigation,
    csrf_input=_csrf_input,
    gov_items=gov_items,
    options=options,
    positions=positions,
    answer_text=answer_text,
)


# The service navigation: (permission needed, label, route, the routes it is "current"
# for, by name or by "<domain>." prefix). The library is for everyone signed in.
NAVIGATION = (
    ("return.edit", "My work", "returns.my_work", ("returns.",)),
    ("reference.manage", "Agencies", "agencies.list", ("agencies.", "identify.")),
    ("user.manage", "Users", "access.users", ("access.user",)),
    ("template.manage", "Templates", "audit_templates.list", ("audit_templates.",)),
    ("audit.read", "Audits", "audits.list", ("audits.", "moderation.", "findings.")),
    ("programme.read", "Programme", "programme.timeline", ("programme.",)),
    ("action.read", "Actions", "actions.tracker", ("actions.",)),
    ("audit.read", "Analytics", "moderation.analytics", ("moderation.analytics",)),
    ("audit.read", "Trends", "trends.page", ("trends.",)),
    ("briefing.edit", "Briefings", "briefings.list", ("briefings.",)),
    ("signed_in", "Library", "briefings.library", ("briefings.library", "briefings.download")),
)


def navigation(request: Request, actor: Actor) -> list[dict]:
    """The service navigation's links for this person; the current one is the one whose
    route names match the page's most closely (the library is under "briefings." too)."""
    if actor.user_id is None:
        return []
    route = _route_name(request)
    shown = [entry for entry in NAVIGATION if actor.may(Permission(entry[0]))]

    def closeness(entry: tuple) -> int:
        return max((len(p) for p in entry[3] if route.startswith(p)), default=0)

    current = max(shown, key=closeness, default=None)
    if current is not None and closeness(current) == 0:
        current = None
    return [
        {"href": url(request, name), "text": label, "active": entry is current}
        for entry in shown
        for _permission, label, name, _prefixes in [entry]
    ]


def _idle_seconds_left(request: Request) -> int:
    """How long until the session ends if nothing more is done: the timeout warning
    (app/static/timeout.mjs) counts down from this. The service notes activity at most
    once a minute, so this can be up to a minute less than the whole idle time."""
    idle = request.app.state.settings.session_idle_minutes * 60
    seen = getattr(request.state, "session_seen_at", None)
    if seen is None:
        return idle
    return max(0, idle - int((utcnow() - seen).total_seconds()))


def here(request: Request) -> str:
    """This page's path and query: what a link hands on as ``from`` (``came_from``)."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def local_path(value: str | None, default: str) -> str:
    """``value`` if it is a path in this service, else ``default``: never another site
    (``//host``, a scheme, a backslash), for anything a request names as where to go."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def came_from(request: Request, default: str) -> str:
    """Where the person came from, for a back link: the ``from`` a link handed on (a
    path in this service), else ``default``. (The service does not rely on a
    Referer, so the link says.)"""
    return local_path(request.query_params.get("from"), default)


def render(
    request: Request, name: str, context: dict | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """A page: the template with the request, the signed-in person, and the flash
    message waiting for them (taken only by a page that is not itself an error)."""
    # Outside a request's work (an error page), whoever its work found, else nobody.
    actor = bound_actor() or getattr(request.state, "actor", None) or ANONYMOUS
    values = {
        "request": request,
        "here": here(request),
        "actor": actor,
        "navigation": navigation(request, actor),
        "service_name": request.app.state.settings.partnership_name,
        "idle_seconds": _idle_seconds_left(request),
        "flashed": _take_flash(request) if status_code < 400 else None,
        "form": None,
        **(context or {}),
    }
    token = _rendering.set(request)
    try:  # the template is drawn here, not when the response is sent
        return templates.TemplateResponse(request, name, values, status_code=status_code)
    finally:
        _rendering.reset(token)


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


def error_page(
    request: Request, status: int, body: dict, headers: Mapping[str, str] | None
) -> Response:
    """An error as a browser sees it: sign in first if that is what is missing, else
    a page in the service's design saying what went wrong (never the exception)."""
    if body.get("code") == "not_signed_in":
        target = url(request, "access.sign_in") + "?next=" + quote(request.url.path, safe="/")
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
