"""The moderation workspace: the child x agency x key-area grid (by child, as the
meeting runs, or by agency), each cell's evidence and decision, sending a return back,
and opening and finishing moderation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from app.access.policy import Actor, Permission
from app.audits import service as audits
from app.audits.models import AuditStatus
from app.deps import ClockDep, FilterId, IdPath, IdQuery, PostedForm, SessionDep, transactional
from app.errors import FieldError, InvalidInput, NotFound, StateError
from app.forms import Form, FormInvalid, FormState, Posted, read_date, undone_if_refused
from app.moderation import analytics, export, late, service, stats
from app.moderation.schemas import DecisionIn
from app.returns import reading
from app.returns import service as returns
from app.returns.key_area_fields import saved_values as area_values
from app.returns.key_area_fields import shown_answers as area_answers
from app.returns.schemas import Reopen
from app.schemas_base import MAX_ID
from app.templating import flash, redirect, render, url

router = APIRouter(include_in_schema=False)

CellPath = Annotated[int, Path(ge=0, le=MAX_ID)]  # a key area's id, or 0: the overall grade

DECISION = Form(
    DecisionIn,
    fields=("level", "rationale"),
    messages={
        "level": "Choose the moderated grade",
        ("rationale", "string_too_long"): "The rationale must be 20,000 characters or fewer",
        ("rationale", "invalid"): "The rationale must not contain control characters",
    },
)
SEND_BACK = Form(
    Reopen,
    fields=("note", "version"),
    messages={
        "note": "Say what the agency needs to amend",
        ("note", "string_too_long"): "The note must be 5,000 characters or fewer",
        ("note", "invalid"): "The note must not contain control characters",
    },
)
ANALYTICS_DATES = {"moderated_from": "The start date", "moderated_to": "The end date"}


def _to_workspace(request: Request, audit_id: int, done: str, *, anchor: str | None = None):
    flash(done)
    return redirect(request, "moderation.workspace", audit_id=audit_id, anchor=anchor)


def _workspace(
    request,
    session,
    actor: Actor,
    audit,
    *,
    child: int | None = None,
    agency: int | None = None,
    form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    found = service.grid(session, actor=actor, audit=audit)
    if child is not None and not any(c.id == child for c in found.children):
        raise NotFound("There is no such child in this audit.")
    if agency is not None and not any(a.id == agency for a in found.agencies):
        raise NotFound("That agency is not taking part in this audit.")
    return render(
        request,
        "moderation/workspace.html",
        {
            "audit": audit,
            "grid": found,
            "child_id": child,
            "agency_id": agency,
            "levels": {lv.id: lv for lv in found.version.scale.levels}
            if found.version.scale
            else {},
            "may_moderate": actor.may(Permission.MODERATE),
            "not_in": late.not_in(session, audit=audit)
            if audit.status == AuditStatus.MODERATION
            else [],
            "form": form,
        },
        status_code=status_code,
    )


@router.get("/audits/{audit_id}/moderation", name="moderation.workspace")
@transactional
def workspace(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    child: IdQuery = None,
    agency: IdQuery = None,
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return _workspace(request, session, actor, audit, child=child, agency=agency)


@router.post("/audits/{audit_id}/moderation/finish", name="moderation.finish")
@transactional
def finish(session: SessionDep, request: Request, actor: Actor, audit_id: IdPath):
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    try:
        with undone_if_refused(session):
            service.finish(session, actor=actor, audit=audit)
    except InvalidInput as exc:
        audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
        errors: dict[str, str] = {}
        for problem in exc.fields:  # a line per child, saying what each is waiting for
            errors[problem.field] = (
                f"{errors[problem.field]}; {problem.message.split(': ', 1)[-1]}"
                if problem.field in errors
                else problem.message
            )
        form = FormState(errors=errors)
        return _workspace(request, session, actor, audit, form=form, status_code=422)
    return _to_workspace(
        request, audit_id, "Moderation is finished. The audit has moved to learning."
    )


# --- one cell ------------------------------------------------------------------------


def _cell_page(
    request,
    session,
    actor: Actor,
    audit,
    return_id: int,
    cell: int,
    *,
    form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    found = service.grid(session, actor=actor, audit=audit)
    the_return = found.returns.get(return_id)
    if the_return is None:
        raise NotFound(f"There is no return {return_id} in this audit.")
    the_cell = found.cell(the_return.child_id, the_return.agency_id, cell)
    if the_cell is None:
        raise NotFound("There is no such grade to moderate in this return.")
    # The evidence: the return as the actor may read it (the read is logged).
    detail = reading.read(session, return_id=return_id, actor=actor)
    version = found.version
    key_area = next((k for k in version.key_areas if k.id == cell), None)
    grade_codes = {g["key_area_id"]: g["level"] for g in detail["grades"]}
    may_decide = (
        actor.may(Permission.MODERATE)
        and audit.status == AuditStatus.MODERATION
        and the_return.status in service.MODERATABLE
    )
    if form is None:
        # Nothing is chosen for the moderator: not the agency's own grade (agreeing is
        # an explicit choice), only a decision of their own still standing.
        values = {"level": "", "rationale": ""}
        if the_cell.decision is not None and the_cell.state != service.CellState.REGRADED:
            chosen = the_cell.moderated_level
            values = {
                "level": chosen.code if chosen else "",
                "rationale": the_cell.decision.rationale,
            }
        form = FormState(values=values)
    return render(
        request,
        "moderation/cell.html",
        {
            "audit": audit,
            "grid": found,
            "r": the_return,
            "cell": the_cell,
            "key_area": key_area,
            "version": version,
            "area_form": FormState(values=area_values(detail, key_area)) if key_area else None,
            "shown_answers": area_answers(detail, key_area) if key_area else {},
            "grade_codes": grade_codes,
            "overall_code": detail.get("overall_grade"),
            "child": next(c for c in found.children if c.id == the_return.child_id),
            "agency": next(a for a in found.agencies if a.id == the_return.agency_id),
            "history": service.history(session, return_id=return_id, cell=cell),
            "may_decide": may_decide,
            "may_send_back": may_decide and actor.may(Permission.RETURN_REOPEN),
            "return_version": detail["version"],
            "form": form,
        },
        status_code=status_code,
    )


@router.get(
    "/audits/{audit_id}/moderation/returns/{return_id}/cells/{cell}",
    name="moderation.cell",
)
@transactional
def cell_page(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    return_id: IdPath,
    cell: CellPath,
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return _cell_page(request, session, actor, audit, return_id, cell)


@router.post(
    "/audits/{audit_id}/moderation/returns/{return_id}/cells/{cell}",
    name="moderation.decide",
)
@transactional
def decide(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    return_id: IdPath,
    cell: CellPath,
    posted: PostedForm,
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return_ = service.get_return(session, audit=audit, return_id=return_id)
    try:
        body = DECISION.read(posted, return_id=return_id, key_area_id=cell or None)
        with DECISION.submitting(session, posted):
            service.decide(
                session,
                audit=audit,
                return_=return_,
                cell=cell,
                level_code=body.level,
                rationale=body.rationale,
                actor=actor,
            )
    except FormInvalid as invalid:
        audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
        return _cell_page(
            request,
            session,
            actor,
            audit,
            return_id,
            cell,
            form=invalid.state(),
            status_code=invalid.status_code,
        )
    return _to_workspace(
        request, audit_id, "The decision has been saved.", anchor=f"child-{return_.child_id}"
    )


@router.post(
    "/audits/{audit_id}/moderation/returns/{return_id}/send-back",
    name="moderation.send_back",
)
@transactional
def send_back(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    return_id: IdPath,
    posted: PostedForm,
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return_ = returns.get_return(session, return_id=return_id, actor=actor)
    if return_.audit_id != audit.id:
        raise NotFound(f"There is no return {return_id} in this audit.")
    cell = int(posted.one("cell")) if posted.one("cell").isdigit() else service.OVERALL
    try:
        body = SEND_BACK.read(posted)
    except FormInvalid as invalid:
        if "version" in invalid.errors:
            raise StateError("This page is out of date: reload it and try again.") from None
        return _cell_page(
            request,
            session,
            actor,
            audit,
            return_id,
            cell,
            form=invalid.state(),
            status_code=422,
        )
    returns.reopen(session, return_=return_, read_version=body.version, note=body.note)
    return _to_workspace(
        request, audit_id, "The return has been sent back to the agency for amendment."
    )


# --- what moderation shows -------------------------------------------------------------

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
        kind: url(request, f"{route}_{kind}", query=query, **ids) for kind in ("xlsx", "csv")
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


@router.get("/audits/{audit_id}/moderation/analytics.xlsx", name="moderation.audit_analytics_xlsx")
@transactional
def audit_analytics_xlsx(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, clock: ClockDep
):
    _audit, filters, form = _audit_filters(request, session, actor, audit_id)
    return _download(request, session, actor, filters, form, "xlsx", clock)


@router.get("/audits/{audit_id}/moderation/analytics.csv", name="moderation.audit_analytics_csv")
@transactional
def audit_analytics_csv(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, clock: ClockDep
):
    _audit, filters, form = _audit_filters(request, session, actor, audit_id)
    return _download(request, session, actor, filters, form, "csv", clock)


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


@router.get("/analytics.xlsx", name="moderation.analytics_xlsx")
@transactional
def pooled_analytics_xlsx(
    session: SessionDep,
    request: Request,
    actor: Actor,
    clock: ClockDep,
    agency_id: FilterId = None,
    template_id: FilterId = None,
    key_area: AnalyticsKeyArea = "",
):
    filters, form = _pooled_filters(request, agency_id, template_id, key_area)
    return _download(request, session, actor, filters, form, "xlsx", clock)


@router.get("/analytics.csv", name="moderation.analytics_csv")
@transactional
def pooled_analytics_csv(
    session: SessionDep,
    request: Request,
    actor: Actor,
    clock: ClockDep,
    agency_id: FilterId = None,
    template_id: FilterId = None,
    key_area: AnalyticsKeyArea = "",
):
    filters, form = _pooled_filters(request, agency_id, template_id, key_area)
    return _download(request, session, actor, filters, form, "csv", clock)
