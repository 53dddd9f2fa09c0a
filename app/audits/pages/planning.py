"""Admin pages to plan an audit: its details, the agencies taking part, the cohort of
children and which agencies were involved with each, then opening it for returns.

Each form posts to its own route, which calls one service function and redirects
back to the planning page (303) with a flash message; bad input shows the page again
with the GOV.UK error summary (422, or 409 for a duplicate) and writes nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.access.policy import Actor
from app.agencies import service as agencies
from app.audit_templates import service as templates
from app.audit_templates.models import AuditSubject, TemplateStatus, TemplateVersion
from app.audits import cohort, lifecycle, service
from app.audits.models import AgeBand, Audit, AuditStatus
from app.audits.schemas import (
    AgencyIds,
    AuditCreate,
    AuditPatch,
    ChildCreate,
    CohortDraw,
    InvolvementCreate,
)
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.errors import InvalidInput, StateError
from app.forms import Form, FormInvalid, FormState, Messages, date_values, undone_if_refused
from app.pagination import PageParams
from app.programme import service as programme
from app.templating import flash, redirect, render, url

router = APIRouter(include_in_schema=False)

EVERYTHING = PageParams(1, 200)
Word = Annotated[str, Query(max_length=40)]

DATES = {
    "returns_due_on": "Returns due date",
    "moderation_meeting_on": "Moderation meeting date",
    "period_from": "Start of the period",
    "period_to": "End of the period",
}
DETAIL_MESSAGES: Messages = {
    "title": "Enter a title for the audit",
    ("title", "string_too_long"): "Title must be 200 characters or fewer",
    ("title", "invalid"): "Title must be on one line, without line breaks",
    "template_version_id": "Choose the template the audit will use",
    ("theme", "string_too_long"): "Theme must be 200 characters or fewer",
    ("theme", "invalid"): "Theme must be on one line, without line breaks",
    ("description", "string_too_long"): "Description must be 20,000 characters or fewer",
    ("description", "invalid"): "Description must not contain control characters",
    "lead_subgroup_id": "Choose a lead subgroup from the list",
}
DETAIL_REFUSALS: Messages = {
    "template_version_id": "Choose a published template",
    "lead_subgroup_id": "Choose a lead subgroup that is still active",
    "moderation_meeting_on": "The moderation meeting must be on or after the date returns are due",
    "period_to": "End of the period must be on or after the start of the period",
}
NEW_AUDIT = Form(
    AuditCreate,
    fields=(
        "title",
        "template_version_id",
        "theme",
        "description",
        "lead_subgroup_id",
        *DATES,
        "lead_sign_off",
    ),
    dates=DATES,
    messages=DETAIL_MESSAGES,
    refusals=DETAIL_REFUSALS,
)
DETAILS = Form(
    AuditPatch,
    fields=("title", "theme", "description", "lead_subgroup_id", *DATES, "lead_sign_off"),
    dates=DATES,
    messages=DETAIL_MESSAGES,
    refusals=DETAIL_REFUSALS,
)
AGENCIES = Form(
    AgencyIds,
    fields=("agency_ids",),
    lists=frozenset({"agency_ids"}),
    messages={"agency_ids": "Choose agencies from the list"},
)
DRAW = Form(
    CohortDraw,
    fields=("eligible", "count", "seed", "draw_age_band", "draw_agency_ids"),
    lists=frozenset({"draw_agency_ids"}),
    rename={"agency_ids": "draw_agency_ids", "age_band": "draw_age_band"},
    blank_is_none=frozenset({"seed", "draw_age_band"}),
    messages={
        "eligible": "Enter how many children are eligible, as a whole number",
        ("eligible", "greater_than_equal"): "Enter how many children are eligible: at least 1",
        ("eligible", "less_than_equal"): "There can be at most 100,000 eligible children",
        ("eligible", "invalid"): "Enter how many children are eligible, as a whole number",
        "count": "Enter how many children to draw, as a whole number",
        ("count", "greater_than_equal"): "Enter how many children to draw: at least 1",
        ("count", "less_than_equal"): "You can draw at most 200 children",
        ("count", "invalid"): "Enter how many children to draw, as a whole number",
        ("seed", "invalid"): "A seed is letters, digits, hyphens, dots or underscores",
        "draw_agency_ids": "Choose agencies from the list",
        "draw_age_band": "Choose an age band from the list",
    },
)
CHILD = Form(
    ChildCreate,
    fields=("pseudonym", "age_band", "context_tags", "child_agency_ids"),
    lists=frozenset({"child_agency_ids"}),
    rename={"agency_ids": "child_agency_ids"},
    messages={
        "pseudonym": "Enter the child's pseudonym, such as Child A",
        ("pseudonym", "invalid"): "Pseudonym must be Child, Young person, Baby, Unborn baby or "
        "Sibling, then up to 3 letters or numbers, such as Child A",
        "age_band": "Choose an age band from the list",
        "context_tags": "Context tags must each be on one line",
        ("context_tags", "too_long"): "Enter no more than 10 context tags",
        ("context_tags", "string_too_long"): "Each context tag must be 30 characters or fewer",
        "child_agency_ids": "Choose agencies from the list",
    },
    refusals={"child_agency_ids": "Choose only agencies taking part in this audit"},
)
INVOLVEMENT = Form(
    InvolvementCreate,
    fields=("child_id", "agency_id"),
    messages={"child_id": "Choose a child", "agency_id": "Choose an agency"},
    refusals={
        "child_id": "Choose a child in this audit's cohort",
        "agency_id": "Choose an agency taking part in this audit",
        ("agency_id", "conflict"): "This agency is already involved with this child",
    },
)


def _planned(session: Session, actor: Actor, audit_id: int) -> Audit:
    """The audit, if it is still being planned; its plan is read-only once it opens."""
    audit = service.get_audit(session, audit_id=audit_id, actor=actor)
    if audit.status != AuditStatus.PLANNED:
        raise StateError(
            f"This audit is {audit.status.value}, so its plan can no longer be changed here."
        )
    return audit


def _to_plan(request: Request, audit_id: int, done: str) -> Response:
    flash(done)
    return redirect(request, "audits.plan", audit_id=audit_id)


# --- pages --------------------------------------------------------------------------


def _template_hint(version: TemplateVersion) -> str | None:
    if version.subject == AuditSubject.AGENCY:
        about = "An audit of agencies: each agency taking part assesses itself."
        return f"{version.theme}. {about}" if version.theme else about
    return version.theme or None


def _details_page(
    session: Session,
    request: Request,
    actor: Actor,
    *,
    audit_id: int | None,
    form: FormState,
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
            {
                "value": version.id,
                "text": f"{family.name} (version {version.number})",
                "hint": _template_hint(version),
            }
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
            "subgroups": [(s.id, s.name) for s in subgroups],
            "form": form,
        },
        status_code=status_code,
    )


def _current_details(audit: Audit) -> dict[str, str]:
    values = {
        "title": audit.title,
        "theme": audit.theme,
        "description": audit.description,
        "lead_subgroup_id": str(audit.lead_subgroup_id or ""),
        "lead_sign_off": "yes" if audit.lead_sign_off else "no",
    }
    for name in DATES:
        values |= date_values(name, getattr(audit, name))
    return values


def _plan_page(
    session: Session,
    request: Request,
    actor: Actor,
    audit_id: int,
    *,
    form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    """The planning page: details, agencies, cohort and opening; read-only once open."""
    audit = service.get_audit(session, audit_id=audit_id, actor=actor)
    children = cohort.list_children(session, audit=audit)
    active, _ = agencies.list_agencies(session, params=EVERYTHING, active=True)
    choices = {a.id: a for a in [*active, *audit.agencies]}
    involved = Counter(i.agency_id for c in children for i in c.involvements)
    if form is None:
        # A month of the year's programme: how many to draw, as the programme plans.
        planned = programme.planned_cohort_size(session, audit_id=audit.id)
        form = FormState(
            values={
                "agency_ids": [str(a.id) for a in audit.agencies],
                **({"count": str(planned)} if planned and not children else {}),
            }
        )
    if "agency_ids" not in form.values:
        # Another form on the page was refused: the agencies shown are the saved ones.
        shown = {**form.values, "agency_ids": [str(a.id) for a in audit.agencies]}
        form = FormState(values=shown, errors=form.errors, listed=form.listed)
    agency_items = []
    for agency in sorted(choices.values(), key=lambda a: a.name):
        n = involved.get(agency.id, 0)
        agency_items.append(
            {
                "value": agency.id,
                "text": agency.name + ("" if agency.active else " (no longer active)"),
                "hint": f"Involved with {n} {'child' if n == 1 else 'children'}"
                if n and not audit.about_agencies
                else None,
            }
        )
    return render(
        request,
        "audits/plan.html",
        {
            "audit": audit,
            "editable": audit.status == AuditStatus.PLANNED,
            "children": children,
            "agency_items": agency_items,
            "involved": involved,
            "returns_count": sum(involved.values()),
            "age_bands": [(band.value, band.value) for band in AgeBand],
            "form": form,
        },
        status_code=status_code,
    )


@router.get("/admin/audits/new", name="audits.new")
@transactional
def new_audit(session: SessionDep, request: Request, actor: Actor) -> Response:
    return _details_page(session, request, actor, audit_id=None, form=NEW_AUDIT.state())


@router.post("/admin/audits/new", name="audits.create")
@transactional
def create_audit(
    session: SessionDep, request: Request, actor: Actor, posted: PostedForm
) -> Response:
    """Create a planned audit on a published template; then plan it."""
    try:
        body = NEW_AUDIT.read(posted)
        with NEW_AUDIT.submitting(session, posted):
            audit = service.create_audit(session, **body.model_dump())
    except FormInvalid as invalid:
        return _details_page(
            session,
            request,
            actor,
            audit_id=None,
            form=invalid.state(),
            status_code=invalid.status_code,
        )
    next_step = (
        "choose the agencies taking part: each will assess itself"
        if audit.about_agencies
        else "choose the agencies taking part and add the children"
    )
    return _to_plan(request, audit.id, f"Audit created. Now {next_step}.")


@router.get("/admin/audits/{audit_id}", name="audits.plan")
@transactional
def plan(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, change: Word = ""
) -> Response:
    """The planning page, or (``?change=details``) the form to change the details."""
    if change == "details":
        audit = service.get_audit(session, audit_id=audit_id, actor=actor)
        if audit.status == AuditStatus.PLANNED:
            form = DETAILS.state(_current_details(audit))
            return _details_page(session, request, actor, audit_id=audit_id, form=form)
    return _plan_page(session, request, actor, audit_id)


@router.post("/admin/audits/{audit_id}", name="audits.details_save")
@transactional
def update_details(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
) -> Response:
    audit = _planned(session, actor, audit_id)
    try:
        changes = DETAILS.read(posted).model_dump()
        if changes["lead_sign_off"] is None:  # not asked: unchanged
            del changes["lead_sign_off"]
        # Left blank, the theme is the template's, as when the audit was created.
        changes["theme"] = changes["theme"] or audit.template_version.theme
        with DETAILS.submitting(session, posted):
            service.update_audit(session, audit=audit, changes=changes)
    except FormInvalid as invalid:
        return _details_page(
            session,
            request,
            actor,
            audit_id=audit_id,
            form=invalid.state(),
            status_code=invalid.status_code,
        )
    return _to_plan(request, audit_id, "The audit's details have been saved.")


@router.post("/admin/audits/{audit_id}/agencies", name="audits.agencies_save")
@transactional
def set_agencies(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
) -> Response:
    """Replace the agencies taking part; one still involved with a child stays."""
    audit = _planned(session, actor, audit_id)
    try:
        body = AGENCIES.read(posted)
        with AGENCIES.submitting(session, posted):
            service.set_agencies(session, audit=audit, agency_ids=body.agency_ids)
    except FormInvalid as invalid:
        return _plan_page(session, request, actor, audit_id, form=invalid.state(), status_code=422)
    return _to_plan(request, audit_id, "The agencies taking part have been saved.")


@router.post("/admin/audits/{audit_id}/children", name="audits.child_add")
@transactional
def add_child(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
) -> Response:
    """Add a child to the cohort, with the agencies involved with them if chosen."""
    audit = _planned(session, actor, audit_id)
    tags = [t.strip() for t in posted.one("context_tags").split(",") if t.strip()]
    try:
        body = CHILD.read(posted, context_tags=tags)
        with CHILD.submitting(session, posted):
            cohort.add_child(session, audit=audit, **body.model_dump())
    except FormInvalid as invalid:
        return _plan_page(
            session,
            request,
            actor,
            audit_id,
            form=invalid.state(),
            status_code=invalid.status_code,
        )
    return _to_plan(request, audit_id, "The child has been added to the cohort.")


@router.post("/admin/audits/{audit_id}/cohort/draw", name="audits.cohort_draw")
@transactional
def draw_cohort(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
) -> Response:
    """Draw the cohort at random from the partnership's list of eligible children
    (app/audits/sampling.py): the seed and the positions drawn are shown, and logged."""
    audit = _planned(session, actor, audit_id)
    try:
        body = DRAW.read(posted)
        with DRAW.submitting(session, posted):
            drawn, children = cohort.draw_cohort(session, audit=audit, **body.model_dump())
    except FormInvalid as invalid:
        return _plan_page(
            session, request, actor, audit_id, form=invalid.state(), status_code=invalid.status_code
        )
    pairs = ", ".join(
        f"{c.pseudonym} is number {p}" for p, c in zip(drawn.positions, children, strict=True)
    )
    band = f" aged {drawn.stratum}" if drawn.stratum else ""
    return _to_plan(
        request,
        audit_id,
        f"{len(children)} of {drawn.eligible} eligible children{band} drawn with the seed "
        f"{drawn.seed}: {pairs} in your list. The seed and the positions are in the audit log.",
    )


@router.post("/admin/children/{child_id}/remove", name="audits.child_remove")
@transactional
def remove_child(session: SessionDep, request: Request, actor: Actor, child_id: IdPath) -> Response:
    """Remove a child, their involvements and their (unstarted) returns."""
    child = cohort.get_child(session, child_id=child_id, actor=actor)
    audit = _planned(session, actor, child.audit_id)
    cohort.remove_child(session, audit=audit, child=child)
    return _to_plan(
        request, audit.id, "The child has been removed from the cohort, with their involvements."
    )


@router.post("/admin/audits/{audit_id}/involvements", name="audits.involvement_add")
@transactional
def add_involvement(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
) -> Response:
    """Record that an agency was involved with a child: that agency owes a return."""
    audit = _planned(session, actor, audit_id)
    try:
        body = INVOLVEMENT.read(posted)
        with INVOLVEMENT.submitting(session, posted):
            child = cohort.child_in_audit(session, audit=audit, child_id=body.child_id)
            cohort.add_involvement(session, audit=audit, child=child, agency_id=body.agency_id)
    except FormInvalid as invalid:
        return _plan_page(
            session,
            request,
            actor,
            audit_id,
            form=invalid.state(),
            status_code=invalid.status_code,
        )
    return _to_plan(request, audit_id, "The involvement has been added.")


@router.post("/admin/involvements/{involvement_id}/remove", name="audits.involvement_remove")
@transactional
def remove_involvement(
    session: SessionDep, request: Request, actor: Actor, involvement_id: IdPath
) -> Response:
    """Remove an involvement and its (unstarted) return."""
    involvement = cohort.get_involvement(session, involvement_id=involvement_id)
    audit = _planned(session, actor, involvement.audit_id)
    cohort.remove_involvement(session, audit=audit, involvement=involvement)
    return _to_plan(request, audit.id, "The involvement has been removed.")


def _open_page(
    session: Session,
    request: Request,
    actor: Actor,
    audit_id: int,
    *,
    form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    """Open this audit? What is missing first, else what opening asks of each agency,
    who there will be told, and any warning to confirm."""
    audit = _planned(session, actor, audit_id)
    check = lifecycle.opening_check(session, audit=audit)
    missing: tuple[dict[str, str], ...] = ()
    if check.problems:
        plan = url(request, "audits.plan", audit_id=audit_id)
        state = _not_ready(
            session, request, actor, audit_id, InvalidInput("", fields=check.problems)
        )
        missing = tuple(
            {**item, "href": plan + item["href"] if item["href"].startswith("#") else item["href"]}
            for item in state.listed or ()
        )
    return render(
        request,
        "audits/open.html",
        {"audit": audit, "check": check, "missing": missing, "form": form or FormState()},
        status_code=status_code,
    )


@router.get("/admin/audits/{audit_id}/open", name="audits.open_check")
@transactional
def open_check(session: SessionDep, request: Request, actor: Actor, audit_id: IdPath) -> Response:
    """The check before opening, and the confirmation."""
    return _open_page(session, request, actor, audit_id)


@router.post("/admin/audits/{audit_id}/open", name="audits.open")
@transactional
def open_audit(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
) -> Response:
    """Open the audit for returns; if it is not ready, say what is missing; a warning
    needs the box ticked that says the opener understands it, and the box confirms
    only the warnings the page showed (their keys come back with it): a warning that
    appeared since shows the page again with it, and nothing opens (409)."""
    audit = _planned(session, actor, audit_id)
    try:
        with undone_if_refused(session):
            lifecycle.open_audit(
                session,
                audit=audit,
                confirm=posted.one("confirm") == "yes",
                warnings=posted.all("warnings"),
            )
    except lifecycle.NeedsConfirmation:
        form = FormState(
            errors={"confirm": "Confirm that you understand the warnings, or fix them first"}
        )
        return _open_page(session, request, actor, audit_id, form=form, status_code=422)
    except lifecycle.WarningsChanged as changed:
        return _open_page(
            session, request, actor, audit_id, form=_warnings_changed(changed), status_code=409
        )
    except InvalidInput as exc:
        form = _not_ready(session, request, actor, audit_id, exc)
        return _plan_page(session, request, actor, audit_id, form=form, status_code=422)
    flash("The audit is open: its auditors can now start their returns.")
    return redirect(request, "audits.overview", audit_id=audit_id)


def _warnings_changed(changed: lifecycle.WarningsChanged) -> FormState:
    """The confirmation page again, unticked: each warning that appeared since it was
    shown leads the error summary (or, if one only went away, that they changed)."""
    again = "The warnings changed after this page was shown: check them and confirm again"
    listed = tuple(
        {"text": f"New warning: {warning.message}", "href": "#confirm"} for warning in changed.new
    ) or ({"text": again, "href": "#confirm"},)
    return FormState(errors={"confirm": again}, listed=listed)


def _not_ready(
    session: Session, request: Request, actor: Actor, audit_id: int, exc: InvalidInput
) -> FormState:
    """What opening found missing: each item links to the form that fixes it."""
    audit = service.get_audit(session, audit_id=audit_id, actor=actor)
    names = {c.id: c.pseudonym for c in cohort.list_children(session, audit=audit)}
    errors: dict[str, str] = {}
    listed: list[dict[str, str]] = []
    for problem in exc.fields:
        if problem.field == "returns_due_on":
            href = url(
                request,
                "audits.plan",
                audit_id=audit_id,
                query={"change": "details"},
                anchor="returns_due_on-day",
            )
            listed.append({"text": "Set the date returns are due", "href": href})
        elif problem.field == "period_from":
            href = url(
                request,
                "audits.plan",
                audit_id=audit_id,
                query={"change": "details"},
                anchor="period_from-day",
            )
            listed.append({"text": problem.message, "href": href})
        elif problem.field == "agency_ids":
            errors["agency_ids"] = "Choose the agencies taking part"
            listed.append({"text": errors["agency_ids"], "href": "#agency_ids"})
        elif problem.field == "children":
            errors["pseudonym"] = "Add the children in the cohort"
            listed.append({"text": errors["pseudonym"], "href": "#pseudonym"})
        else:  # children.<id>: a child no agency is involved with
            child_id = int(problem.field.removeprefix("children."))
            text = f"Add the agencies involved with {names.get(child_id, 'each child')}"
            errors.setdefault("child_id", text)
            listed.append({"text": text, "href": "#child_id"})
    if sum(1 for item in listed if item["href"] == "#child_id") > 1:
        errors["child_id"] = "Add the agencies involved with each child"
    return FormState(errors=errors, listed=tuple(listed))
