"""What moderation shows: an audit's analytics and the pooled analytics across audits,
with their filters (kept in the address) and the tables as XLSX and CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.access.policy import Actor
from app.audits import service as audits
from app.deps import ClockDep, FilterId, IdPath, SessionDep, transactional
from app.errors import FieldError, InvalidInput
from app.forms import FormState, Posted, read_date
from app.moderation import analytics, export, late, stats
from app.templating import render, url

router = APIRouter(include_in_schema=False)

ANALYTICS_DATES = {"moderated_from": "The start date", "moderated_to": "The end date"}


WEIGHTS_PROBLEM = "Choose quadratic or linear weights"


def _analytics_query(request: Request, *, dates: bool) -> tuple[dict, FormState]:
    """The page's own query parameters, read as its form: the weights (quadratic unless
    chosen; anything else is an error, never ignored) and, pooled, the GOV.UK dates."""
    query = Posted(request.query_params.multi_items())
    errors: dict[str, str] = {}
    chosen: dict = {"weights": query.one("weights") or stats.WEIGHTS[0]}
    if chosen["weights"] not in stats.WEIGHTS:
        errors["weights"] = WEIGHTS_PROBLEM
        chosen["weights"] = stats.WEIGHTS[0]
    for name, label in ANALYTICS_DATES.items() if dates else ():
        chosen[name], problem = read_date(query, name, label)
        if problem:
            errors[name] = problem
    start, end = chosen.get("moderated_from"), chosen.get("moderated_to")
    if start and end and end < start:
        errors["moderated_to"] = "The end date must be on or after the start date"
    shown = {**query.shown(), "weights": "" if "weights" in errors else chosen["weights"]}
    anchors = {name: f"#{name}-day" for name in ANALYTICS_DATES}
    return chosen, FormState(values=shown, errors=errors, anchors=anchors)


def _report(request: Request, session, actor: Actor, filters: analytics.Filters) -> dict:
    threshold = request.app.state.settings.small_count_threshold
    return analytics.report(session, actor=actor, filters=filters, threshold=threshold)


def _analytics_page(request, session, actor, *, filters, form, audit=None):
    report = _report(request, session, actor, filters)
    for group in report["groups"]:
        overall = group["overall"]
        group["by_agency_table"] = analytics.breakdown_table(
            group["by_agency"], "By agency", "Agency", filters.weights
        )
        group["by_key_area_table"] = analytics.breakdown_table(
            group["by_key_area"], "By key area", "Key area", filters.weights
        )
        if overall["suppressed"]:
            continue
        group["agreement_table"] = analytics.agreement_table(
            overall, "Agreement between agencies' own grades and moderated grades", readings=True
        )
        group["levels_table"] = analytics.levels_table(
            group["levels"],
            overall["self_distribution"]["counts"],
            overall["moderated_distribution"]["counts"],
            "Grades by level",
        )
    # The downloads carry the page's own query: the same filters, the same weights.
    route = "moderation.audit_analytics" if audit else "moderation.analytics"
    ids = {"audit_id": audit.id} if audit else {}
    query = dict(request.query_params)
    downloads = {
        kind: url(request, f"{route}_download", query=query, kind=kind, **ids)
        for kind in ("xlsx", "csv")
    }
    return render(
        request,
        "moderation/analytics.html",
        {
            "audit": audit,
            "filters": filters,
            "report": report,
            "choices": None if audit else analytics.choices(session, actor=actor),
            "weights": [(w, f"{w.capitalize()} weights") for w in stats.WEIGHTS],
            "downloads": downloads,
            # Returns left out of moderation: not in these figures, and said so.
            "not_received": [
                r for r in late.not_in(session, audit=audit) if r.excluded_reason is not None
            ]
            if audit
            else [],
            "form": form,
        },
        status_code=422 if form.errors else 200,
    )


def _audit_filters(request, session, actor, audit_id: int):
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    chosen, form = _analytics_query(request, dates=False)
    return audit, analytics.Filters(audit_id=audit.id, weights=chosen["weights"]), form


def _pooled_filters(request, agency_id, template_id, key_area):
    chosen, form = _analytics_query(request, dates=True)
    filters = analytics.Filters(
        None,
        agency_id,
        template_id,
        key_area or None,
        chosen["moderated_from"],
        chosen["moderated_to"],
        chosen["weights"],
    )
    return filters, form


def _download(request, session, actor, filters, form, kind: str, clock) -> Response:
    """The page's tables as a file; filters the page would refuse are refused here."""
    if form.errors:
        problems = [FieldError(name, message) for name, message in form.errors.items()]
        raise InvalidInput(
            "These analytics cannot be downloaded: " + problems[0].message, fields=problems
        )
    report = _report(request, session, actor, filters)
    return export.download(report, kind, today=clock.today, audit_id=filters.audit_id)


@router.get("/audits/{audit_id}/moderation/analytics", name="moderation.audit_analytics")
@transactional
def audit_analytics(session: SessionDep, request: Request, actor: Actor, audit_id: IdPath):
    """One audit's figures; the weights are a GET form, kept in the URL."""
    audit, filters, form = _audit_filters(request, session, actor, audit_id)
    return _analytics_page(request, session, actor, filters=filters, form=form, audit=audit)


@router.get(
    "/audits/{audit_id}/moderation/analytics.{kind}", name="moderation.audit_analytics_download"
)
@transactional
def audit_analytics_download(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    kind: export.FileKind,
    clock: ClockDep,
):
    """One audit's tables as XLSX or CSV, under the page's own filters."""
    _audit, filters, form = _audit_filters(request, session, actor, audit_id)
    return _download(request, session, actor, filters, form, kind, clock)


AnalyticsKeyArea = Annotated[str, Query(max_length=200)]


@router.get("/analytics", name="moderation.analytics")
@transactional
def pooled_analytics(
    session: SessionDep,
    request: Request,
    actor: Actor,
    agency_id: FilterId = None,
    template_id: FilterId = None,
    key_area: AnalyticsKeyArea = "",
):
    """Moderation across audits, with filters (a GET form, so a view can be bookmarked);
    the dates are GOV.UK date inputs, the weights radios."""
    filters, form = _pooled_filters(request, agency_id, template_id, key_area)
    return _analytics_page(request, session, actor, filters=filters, form=form)


@router.get("/analytics.{kind}", name="moderation.analytics_download")
@transactional
def pooled_analytics_download(
    session: SessionDep,
    request: Request,
    actor: Actor,
    kind: export.FileKind,
    clock: ClockDep,
    agency_id: FilterId = None,
    template_id: FilterId = None,
    key_area: AnalyticsKeyArea = "",
):
    """The pooled tables as XLSX or CSV, under the page's own filters."""
    filters, form = _pooled_filters(request, agency_id, template_id, key_area)
    return _download(request, session, actor, filters, form, kind, clock)
