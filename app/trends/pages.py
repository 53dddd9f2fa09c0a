"""The trends page: a GET form of filters (kept in the address, so a view can be
bookmarked) and every figure, each a heading, a headline sentence, a chart and the
table beside it, with the same figures to download as XLSX and CSV."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.access.policy import Actor
from app.deps import SessionDep, transactional
from app.errors import InvalidInput
from app.forms import DATE_PARTS, FormState, Posted, date_values, read_date, whole_number
from app.schemas_base import MAX_ID, check_line
from app.templating import came_from, render, url
from app.trends import periods, service
from app.trends.figures import Filters

router = APIRouter(include_in_schema=False)

DATES = {"date_from": "The start date", "date_to": "The end date"}
CHOSEN = {
    "agency_id": "Choose an agency from the list",
    "subgroup_id": "Choose a lead subgroup from the list",
    "template_id": "Choose a template from the list",
}
WORDS = {"theme": "Choose a theme from the list", "key_area": "Choose a key area from the list"}
BY = [("year", "By year (April to March)"), ("quarter", "By quarter")]


def read_filters(request: Request) -> tuple[Filters, FormState]:
    """The page's query as its form: the filters, and what is wrong with any of them
    (each in the page's words; nothing is ignored)."""
    query = Posted(request.query_params.multi_items())
    errors: dict[str, str] = {}
    chosen: dict = {}
    for name, label in DATES.items():
        chosen[name], problem = read_date(query, name, label)
        if problem:
            errors[name] = problem
    chosen["by"] = query.one("by") or periods.BY[0]
    if chosen["by"] not in periods.BY:
        errors["by"], chosen["by"] = "Choose by year or by quarter", periods.BY[0]
    for name, problem in CHOSEN.items():
        given = query.one(name)
        chosen[name] = whole_number(given) if given else None
        if given and not (chosen[name] and chosen[name] <= MAX_ID):
            errors[name] = problem
    for name, problem in WORDS.items():
        given = query.one(name).strip()
        try:
            check_line(given)
        except ValueError:
            given = ""
            errors[name] = problem
        if len(given) > 200:
            errors[name] = problem
        chosen[name] = given or None
    filters = Filters(**chosen)
    if not errors:
        try:
            filters = service.resolved(filters)
        except InvalidInput as refused:
            errors |= {p.field: p.message for p in refused.fields}
    anchors = {name: f"#{name}-day" for name in DATES} | {"by": "#by"}
    shown = query.shown()
    if not errors:
        # The period as it is read: the dates filled in when left out.
        for name in DATES:
            if not any(shown.get(f"{name}-{part}") for part in DATE_PARTS):
                shown |= date_values(name, getattr(filters, name))
        shown["by"] = filters.by
    return filters, FormState(values=shown, errors=errors, anchors=anchors)


def api_query(filters: Filters) -> dict:
    """The filters as the API's query: the downloads of the page's own figures."""
    return {
        name: value.isoformat() if hasattr(value, "isoformat") else value
        for name, value in vars(filters).items()
        if value not in (None, "")
    }


@router.get("/trends", name="trends.page")
@transactional
def trends_page(session: SessionDep, request: Request, actor: Actor) -> Response:
    """Trends across audits and years, with the filters as a GET form; filters that
    cannot be read are a 400 with the error summary, and no figures."""
    filters, form = read_filters(request)
    threshold = request.app.state.settings.small_count_threshold
    found = (
        None
        if form.errors
        else service.report(session, actor=actor, filters=filters, threshold=threshold)
    )
    query = api_query(found.filters) if found else {}
    return render(
        request,
        "trends/page.html",
        {
            "trends": found,
            "form": form,
            "choices": service.choices(session, actor=actor),
            "by": BY,
            "back": came_from(request, url(request, "moderation.analytics")),
            "downloads": {
                kind: url(request, f"api.trends.{kind}", query=query) for kind in ("xlsx", "csv")
            },
        },
        status_code=400 if form.errors else 200,
    )
