"""Admin pages to plan an audit: its details, the agencies taking part, the cohort of
children and which agencies were involved with each, then opening it for returns.

Each form posts to its own route, which calls one service function and redirects
back to the planning page (303); bad input shows the page again with the GOV.UK
error summary (422, or 409 for a duplicate). A refused service call runs inside a
savepoint, so nothing it wrote before refusing is committed with the page.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.access.policy import Actor
from app.agencies import service as agencies
from app.audit_templates import service as templates
from app.audit_templates.models import TemplateStatus
from app.audits import service
from app.audits.models import AgeBand, Audit, AuditStatus
from app.audits.schemas import AgencyIds, AuditCreate, AuditPatch, ChildCreate, InvolvementCreate
from app.deps import FormData, FormLists, IdPath, SessionDep, transactional
from app.errors import AppError, Conflict, InvalidInput, StateError
from app.forms import attempt, summary
from app.forms import legacy_read_date as read_date
from app.pagination import PageParams
from app.templating import render

router = APIRouter(include_in_schema=False)

EVERYTHING = PageParams(1, 200)
Word = Annotated[str, Query(max_length=40)]

# Fixed texts for the banner after a redirect: the query names one, never carries text.
NOTICES = {
    "created": "Audit created. Now choose the agencies taking part and add the children.",
    "details": "The audit's details have been saved.",
    "agencies": "The agencies taking part have been saved.",
    "child": "The child has been added to the cohort.",
    "child-removed": "The child has been removed from the cohort, with their involvements.",
    "involvement": "The involvement has been added.",
    "involvement-removed": "The involvement has been removed.",
}

DATES = {"returns_due_on": "Returns due date", "moderation_meeting_on": "Moderation meeting date"}
DETAIL_FIELDS = ("title", "template_version_id", "theme", "description", "lead_subgroup_id")
DETAIL_FIELDS += tuple(DATES)
# Pydantic's findings in the page's words: by (field, error type), else by field.
DETAIL_MESSAGES = {
    "title": "Enter a title for the audit",
    ("title", "string_too_long"): "Title must be 200 characters or fewer",
    ("title", "value_error"): "Title must be on one line, without line breaks",
    "template_version_id": "Choose the template the audit will use",
    "theme": "Theme must be on one line, without line breaks",
    ("theme", "string_too_long"): "Theme must be 200 characters or fewer",
    "description": "Description must not contain control characters",
    ("description", "string_too_long"): "Description must be 20,000 characters or fewer",
    "lead_subgroup_id": "Choose a lead subgroup from the list",
}
DETAIL_REFUSALS = {
    "template_version_id": "Choose a published template",
    "lead_subgroup_id": "Choose a lead subgroup that is still active",
    "moderation_meeting_on": "The moderation meeting must be on or after the date returns are due",
}
CHILD_MESSAGES = {
    ("pseudonym", "string_too_short"): "Enter the child's pseudonym, such as Child A",
    "pseudonym": "Pseudonym must be Child, Young person, Baby, Unborn baby or Sibling, then "
    "up to 3 letters or numbers, such as Child A",
    "age_band": "Choose an age band from the list",
    "context_tags": "Context tags must each be on one line",
    ("context_tags", "too_long"): "Enter no more than 10 context tags",
    ("context_tags", "string_too_long"): "Each context tag must be 30 characters or fewer",
    "child_agency_ids": "Choose agencies from the list",
}
# The page's name for each service field: the child's agencies have their own boxes.
CHILD_FIELDS = {"agency_ids": "child_agency_ids"}
CHILD_REFUSALS = {"child_agency_ids": "Choose only agencies taking part in this audit"}
INVOLVEMENT_MESSAGES = {"child_id": "Choose a child", "agency_id": "Choose an agency"}
INVOLVEMENT_REFUSALS = {
    "child_id": "Choose a child in this audit's cohort",
    "agency_id": "Choose an agency taking part in this audit",
}


# --- reading forms ------------------------------------------------------------------


def _messages(
    exc: ValidationError, messages: dict, rename: dict[str, str] | None = None
) -> dict[str, str]:
    """Field -> the page's message for what the schema refused (the first per field)."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = err.get("loc") or ("form",)
        name = (rename or {}).get(str(loc[0]), str(loc[0]))
        text = messages.get((name, err["type"])) or messages.get(name)
        errors.setdefault(name, text or err["msg"].removeprefix("Value error, "))
    return errors


def _refusal(
    exc: AppError, messages: dict[str, str], rename: dict[str, str] | None = None
) -> dict[str, str]:
    """Field -> message for a service's refusal. One without field errors (the audit
    was opened meanwhile, say) is shown as the error page it is."""
    if not exc.fields:
        raise exc
    errors: dict[str, str] = {}
    for problem in exc.fields:
        name = problem.field.split("[")[0]
        name = (rename or {}).get(name, name)
        errors.setdefault(name, messages.get(name, problem.message))
    return errors


def _read_date(form: dict[str, str], name: str) -> tuple[date | None, str | None]:
    return read_date(form, name, DATES[name])


def _read_details(form: dict[str, str], *, creating: bool) -> tuple[dict | None, dict[str, str]]:
    """The details form as the service's keyword arguments, or None and the errors in
    the order the fields appear."""
    data: dict = {
        "title": form.get("title", ""),
        "theme": form.get("theme", ""),
        "description": form.get("description", ""),
        "lead_subgroup_id": form.get("lead_subgroup_id") or None,
    }
    if creating:
        data["template_version_id"] = form.get("template_version_id") or None
    errors: dict[str, str] = {}
    for name in DATES:
        data[name], problem = _read_date(form, name)
        if problem:
            errors[name] = problem
    try:
        body = (AuditCreate if creating else AuditPatch).model_validate(data)
    except ValidationError as exc:
        errors.update(_messages(exc, DETAIL_MESSAGES))
    if errors:
        return None, {f: errors[f] for f in DETAIL_FIELDS if f in errors}
    return body.model_dump(), {}


def _summary(errors: dict[str, str]) -> list[dict]:
    # A date input's link goes to its first box.
    return summary(errors, {f: f"{f}-day" for f in DATES})


def _planned(session: Session, actor: Actor, audit_id: int) -> Audit:
    """The audit, if it is still being planned; its plan is read-only once it opens."""
    audit = service.get_audit(session, audit_id=audit_id, actor=actor)
    if audit.status != AuditStatus.PLANNED:
        raise StateError(
            f"This audit is {audit.status.value}, so its plan can no longer be changed here."
        )
    return audit


def _to_plan(audit_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/audits/{audit_id}?done={done}", status_code=303)


# --- pages --------------------------------------------------------------------------


def _details_page(
    session: Session,
    request: Request,
    actor: Actor,
    *,
    audit_id: int | None,
    values: dict,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    """The details form: a new audit (with its template to choose), or a planned one's."""
    audit = service.get_audit(session, audit_id=audit_id, actor=actor) if audit_id else None
    versions = []
    if audit is None:
        families, _ = templates.list_families(
            session, params=EVERYTHING, status=TemplateStatus.PUBLISHED
        )
        versions = [
            (family, version)
            for family in families
            for version in family.versions
            if version.status == TemplateStatus.PUBLISHED
        ]
    subgroups, _ = agencies.list_subgroups(session, params=EVERYTHING, active=True)
    if audit and audit.lead_subgroup and audit.lead_subgroup not in subgroups:
        subgroups.append(audit.lead_subgroup)
    return render(
        request,
        "audits/new.html",
        {
            "audit": audit,
            "versions": versions,
            "subgroups": subgroups,
            "values": values,
            "errors_by_field": errors,
            "errors": _summary(errors),
        },
        status_code=status_code,
    )


def _current_details(audit: Audit) -> dict[str, str]:
    values = {
        "title": audit.title,
        "theme": audit.theme,
        "description": audit.description,
        "lead_subgroup_id": str(audit.lead_subgroup_id or ""),
    }
    for name in DATES:
        if day := getattr(audit, name):
            values |= {f"{name}-{p}": str(getattr(day, p)) for p in ("day", "month", "year")}
    return values


def _plan_page(
    session: Session,
    request: Request,
    actor: Actor,
    audit_id: int,
    *,
    values: dict | None = None,
    errors: dict[str, str] | None = None,
    summary: list[dict] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    """The planning page: details, agencies, cohort and opening; read-only once open."""
    audit = service.get_audit(session, audit_id=audit_id, actor=actor)
    children = service.list_children(session, audit=audit)
    active, _ = agencies.list_agencies(session, params=EVERYTHING, active=True)
    choices = {a.id: a for a in [*active, *audit.agencies]}
    involved = Counter(i.agency_id for c in children for i in c.involvements)
    values = values or {}
    errors = errors or {}
    return render(
        request,
        "audits/plan.html",
        {
            "audit": audit,
            "editable": audit.status == AuditStatus.PLANNED,
            "children": children,
            "agency_choices": sorted(choices.values(), key=lambda a: a.name),
            "agencies_checked": values.get("agency_ids", [str(a.id) for a in audit.agencies]),
            "involved": involved,
            "returns_count": sum(involved.values()),
            "age_bands": [band.value for band in AgeBand],
            "values": values,
            "errors_by_field": errors,
            "errors": summary if summary is not None else _summary(errors),
            "notice": NOTICES.get(notice, ""),
        },
        status_code=status_code,
    )


@router.get("/admin/audits/new", name="audits.new")
@transactional
def new_audit(session: SessionDep, request: Request, actor: Actor) -> Response:
    return _details_page(session, request, actor, audit_id=None, values={}, errors={})


@router.post("/admin/audits/new", name="audits.create")
@transactional
def create_audit(session: SessionDep, request: Request, actor: Actor, form: FormData) -> Response:
    """Create a planned audit on a published template; then plan it."""
    again = partial(_details_page, session, request, actor, audit_id=None, values=form)
    body, errors = _read_details(form, creating=True)
    if body is None:
        return again(errors=errors, status_code=422)
    try:
        with attempt(session):
            audit = service.create_audit(session, **body)
    except InvalidInput as exc:
        return again(errors=_refusal(exc, DETAIL_REFUSALS), status_code=422)
    return _to_plan(audit.id, "created")


@router.get("/admin/audits/{audit_id}", name="audits.plan")
@transactional
def plan(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    change: Word = "",
    done: Word = "",
) -> Response:
    """The planning page, or (``?change=details``) the form to change the details."""
    if change == "details":
        audit = service.get_audit(session, audit_id=audit_id, actor=actor)
        if audit.status == AuditStatus.PLANNED:
            values = _current_details(audit)
            return _details_page(
                session, request, actor, audit_id=audit_id, values=values, errors={}
            )
    return _plan_page(session, request, actor, audit_id, notice=done)


@router.post("/admin/audits/{audit_id}", name="audits.details_save")
@transactional
def update_details(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, form: FormData
) -> Response:
    audit = _planned(session, actor, audit_id)
    changes, errors = _read_details(form, creating=False)
    if changes is not None:
        # Left blank, the theme is the template's, as when the audit was created.
        changes["theme"] = changes["theme"] or audit.template_version.theme
        try:
            with attempt(session):
                service.update_audit(session, audit=audit, changes=changes)
            return _to_plan(audit_id, "details")
        except InvalidInput as exc:
            errors = _refusal(exc, DETAIL_REFUSALS)
    return _details_page(
        session, request, actor, audit_id=audit_id, values=form, errors=errors, status_code=422
    )


@router.post("/admin/audits/{audit_id}/agencies", name="audits.agencies_save")
@transactional
def set_agencies(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, form: FormLists
) -> Response:
    """Replace the agencies taking part; one still involved with a child stays."""
    audit = _planned(session, actor, audit_id)
    chosen = form.get("agency_ids", [])
    again = partial(_plan_page, session, request, actor, audit_id, values={"agency_ids": chosen})
    try:
        body = AgencyIds.model_validate({"agency_ids": chosen})
    except ValidationError:
        return again(errors={"agency_ids": "Choose agencies from the list"}, status_code=422)
    try:
        with attempt(session):
            service.set_agencies(session, audit=audit, agency_ids=body.agency_ids)
    except (InvalidInput, Conflict) as exc:
        refusals = {}
        if isinstance(exc, Conflict) and exc.fields:
            # "Police is still involved with children"
            refusals["agency_ids"] = f"{exc.fields[0].message}: remove those involvements first"
        return again(errors=_refusal(exc, refusals), status_code=422)
    return _to_plan(audit_id, "agencies")


@router.post("/admin/audits/{audit_id}/children", name="audits.child_add")
@transactional
def add_child(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, form: FormLists
) -> Response:
    """Add a child to the cohort, with the agencies involved with them if chosen."""
    audit = _planned(session, actor, audit_id)
    values: dict = {key: items[0] for key, items in form.items()}
    values["child_agency_ids"] = form.get("child_agency_ids", [])
    again = partial(_plan_page, session, request, actor, audit_id, values=values)
    tags = [t.strip() for t in values.get("context_tags", "").split(",") if t.strip()]
    try:
        body = ChildCreate.model_validate(
            {
                "pseudonym": values.get("pseudonym", ""),
                "age_band": values.get("age_band") or None,
                "context_tags": tags,
                "agency_ids": values["child_agency_ids"],
            }
        )
    except ValidationError as exc:
        return again(errors=_messages(exc, CHILD_MESSAGES, CHILD_FIELDS), status_code=422)
    try:
        with attempt(session):
            service.add_child(session, audit=audit, **body.model_dump())
    except (InvalidInput, Conflict) as exc:
        taken = f"This audit already has a child called {body.pseudonym}: use another pseudonym"
        errors = _refusal(exc, CHILD_REFUSALS | {"pseudonym": taken}, CHILD_FIELDS)
        return again(errors=errors, status_code=exc.status_code)
    return _to_plan(audit_id, "child")


@router.post("/admin/children/{child_id}/remove", name="audits.child_remove")
@transactional
def remove_child(session: SessionDep, actor: Actor, child_id: IdPath) -> Response:
    """Remove a child, their involvements and their (unstarted) returns."""
    child = service.get_child(session, child_id=child_id, actor=actor)
    audit = _planned(session, actor, child.audit_id)
    service.remove_child(session, audit=audit, child=child)
    return _to_plan(audit.id, "child-removed")


@router.post("/admin/audits/{audit_id}/involvements", name="audits.involvement_add")
@transactional
def add_involvement(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, form: FormData
) -> Response:
    """Record that an agency was involved with a child: that agency owes a return."""
    audit = _planned(session, actor, audit_id)
    again = partial(_plan_page, session, request, actor, audit_id, values=form)
    try:
        body = InvolvementCreate.model_validate(
            {"child_id": form.get("child_id") or None, "agency_id": form.get("agency_id") or None}
        )
    except ValidationError as exc:
        return again(errors=_messages(exc, INVOLVEMENT_MESSAGES), status_code=422)
    try:
        with attempt(session):
            child = service.child_in_audit(session, audit=audit, child_id=body.child_id)
            service.add_involvement(session, audit=audit, child=child, agency_id=body.agency_id)
    except (InvalidInput, Conflict) as exc:
        refusals = dict(INVOLVEMENT_REFUSALS)
        if isinstance(exc, Conflict):
            refusals["agency_id"] = "This agency is already involved with this child"
        return again(errors=_refusal(exc, refusals), status_code=exc.status_code)
    return _to_plan(audit_id, "involvement")


@router.post("/admin/involvements/{involvement_id}/remove", name="audits.involvement_remove")
@transactional
def remove_involvement(session: SessionDep, actor: Actor, involvement_id: IdPath) -> Response:
    """Remove an involvement and its (unstarted) return."""
    involvement = service.get_involvement(session, involvement_id=involvement_id)
    audit = _planned(session, actor, involvement.audit_id)
    service.remove_involvement(session, audit=audit, involvement=involvement)
    return _to_plan(audit.id, "involvement-removed")


@router.post("/admin/audits/{audit_id}/open", name="audits.open")
@transactional
def open_audit(session: SessionDep, request: Request, actor: Actor, audit_id: IdPath) -> Response:
    """Open the audit for returns; if it is not ready, say what is missing."""
    audit = _planned(session, actor, audit_id)
    try:
        with attempt(session):
            service.open_audit(session, audit=audit)
    except InvalidInput as exc:
        errors, summary = _not_ready(session, actor, audit_id, exc)
        return _plan_page(
            session, request, actor, audit_id, errors=errors, summary=summary, status_code=422
        )
    return RedirectResponse(f"/audits/{audit_id}", status_code=303)


def _not_ready(
    session: Session, actor: Actor, audit_id: int, exc: InvalidInput
) -> tuple[dict[str, str], list[dict]]:
    """What opening found missing: each item links to the form that fixes it."""
    audit = service.get_audit(session, audit_id=audit_id, actor=actor)
    names = {c.id: c.pseudonym for c in service.list_children(session, audit=audit)}
    errors: dict[str, str] = {}
    summary: list[dict] = []
    for problem in exc.fields:
        if problem.field == "returns_due_on":
            summary.append(
                {
                    "text": "Set the date returns are due",
                    "href": f"/admin/audits/{audit_id}?change=details#returns_due_on-day",
                }
            )
        elif problem.field == "agency_ids":
            errors["agency_ids"] = "Choose the agencies taking part"
            summary.append({"text": errors["agency_ids"], "href": "#agency_ids"})
        elif problem.field == "children":
            errors["pseudonym"] = "Add the children in the cohort"
            summary.append({"text": errors["pseudonym"], "href": "#pseudonym"})
        else:  # children.<id>: a child no agency is involved with
            child_id = int(problem.field.removeprefix("children."))
            text = f"Add the agencies involved with {names.get(child_id, 'each child')}"
            errors.setdefault("child_id", text)
            summary.append({"text": text, "href": "#child_id"})
    if sum(1 for s in summary if s["href"] == "#child_id") > 1:
        errors["child_id"] = "Add the agencies involved with each child"
    return errors, summary
