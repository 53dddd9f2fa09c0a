"""Admin pages for the partnership's agencies: the list (searched by name, filtered by
kind and status, sorted; the choices kept in the address), adding one, deactivating;
and its subgroups, each with the chair who is told of its overdue learning actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import BaseModel

from app.agencies import service
from app.agencies.models import AgencyKind
from app.agencies.schemas import AgencyCreate
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.forms import Form, FormInvalid, FormState
from app.pagination import PageParams
from app.templating import flash, redirect, render, sort_heads

router = APIRouter(include_in_schema=False)

KIND_LABELS = {
    AgencyKind.SOCIAL_CARE: "Children's social care",
    AgencyKind.POLICE: "Police",
    AgencyKind.ACUTE_HEALTH: "Acute health (hospital)",
    AgencyKind.COMMUNITY_HEALTH: "Community health",
    AgencyKind.GP: "GP practices",
    AgencyKind.EDUCATION: "Education",
    AgencyKind.PROBATION: "Probation",
    AgencyKind.YOUTH_JUSTICE: "Youth justice",
    AgencyKind.DISTRICT_COUNCIL: "District council",
    AgencyKind.VOLUNTARY: "Voluntary sector",
    AgencyKind.OTHER: "Other",
}

AGENCY = Form(
    AgencyCreate,
    fields=("name", "kind"),
    messages={
        "name": "Enter the agency's name",
        ("name", "string_too_long"): "Name must be 200 characters or fewer",
        ("name", "value_error"): "Name must be on one line, without line breaks",
        "kind": "Choose what kind of agency it is",
    },
    refusals={"name": "An agency with this name already exists"},
)


COLUMNS = (
    ("Agency", "name"),
    ("Kind", "kind"),
    ("Status", "status"),
    (Markup('<span class="govuk-visually-hidden">Action</span>'), None),
)
ACTIVE = {"yes": True, "no": False}
Word = Annotated[str, Query(max_length=40)]


@router.get("/admin/agencies", name="agencies.list")
@transactional
def agencies(
    session: SessionDep,
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    kind: Word = "",
    active: Word = "",
    sort: Word = "",
) -> Response:
    """The partnership's agencies, searched by name, filtered by kind and status and
    sorted by a column (a GET form and links: the address keeps the choices); a
    choice not offered is a 422 with the error summary."""
    kinds = {k.value: k for k in AgencyKind}
    errors: dict[str, str] = {}
    if kind and kind not in kinds:
        errors["kind"] = "Choose a kind of agency from the list"
    if active and active not in ACTIVE:
        errors["active"] = "Choose a status from the list"
    if sort and sort.removeprefix("-") not in service.AGENCY_SORTS:
        errors["sort"] = "Sort by one of the table's columns"
    items: list = []
    if not errors:
        items, _total = service.list_agencies(
            session,
            params=PageParams(1, 200),
            active=ACTIVE.get(active),
            kind=kinds.get(kind),
            q=q.strip() or None,
            sort=sort or None,
        )
    filters = {"q": q, "kind": kind, "active": active}
    return render(
        request,
        "agencies/list.html",
        {
            "agencies": items,
            "kinds": KIND_LABELS,
            "kind_choices": [(k.value, label) for k, label in KIND_LABELS.items()],
            "statuses": [("yes", "Active"), ("no", "Inactive")],
            "filtered": any(filters.values()),
            "sort": "" if "sort" in errors else sort,
            "head": sort_heads(request, "agencies.list", columns=COLUMNS, sort=sort, query=filters),
            "form": FormState(values=filters, errors=errors, anchors={"sort": "#agencies"}),
        },
        status_code=422 if errors else 200,
    )


def _form_page(request: Request, form: FormState, status_code: int = 200) -> Response:
    return render(
        request,
        "agencies/new.html",
        {"form": form, "kinds": list(KIND_LABELS.items())},
        status_code=status_code,
    )


@router.get("/admin/agencies/new", name="agencies.new")
@transactional
def new_agency(session: SessionDep, request: Request) -> Response:
    return _form_page(request, AGENCY.state())


@router.post("/admin/agencies/new", name="agencies.create")
@transactional
def create_agency(session: SessionDep, request: Request, posted: PostedForm) -> Response:
    try:
        body = AGENCY.read(posted)
        with AGENCY.submitting(session, posted):
            service.create_agency(session, name=body.name, kind=body.kind)
    except FormInvalid as invalid:
        return _form_page(request, invalid.state(), invalid.status_code)
    flash(f"{body.name} has been added.")
    return redirect(request, "agencies.list")


@router.post("/admin/agencies/{agency_id}/deactivate", name="agencies.deactivate")
@transactional
def deactivate(session: SessionDep, request: Request, agency_id: IdPath) -> Response:
    agency = service.get_agency(session, agency_id=agency_id)
    service.update_agency(session, agency=agency, changes={"active": False})
    flash(f"{agency.name} has been deactivated.")
    return redirect(request, "agencies.list")


# --- subgroups and their chairs ---------------------------------------------------------


class ChairChoice(BaseModel):
    chair_user_id: int | None = None


CHAIR = Form(
    ChairChoice,
    fields=("chair_user_id",),
    messages={"chair_user_id": "Choose the chair from the list"},
    refusals={"chair_user_id": "Choose someone with the subgroup chair role"},
)


@router.get("/admin/subgroups", name="agencies.subgroups")
@transactional
def subgroups(session: SessionDep, request: Request) -> Response:
    """The partnership's subgroups and who chairs each: the chair is told when learning
    actions of the audits the subgroup leads are overdue."""
    items, _total = service.list_subgroups(session, params=PageParams(1, 200))
    return render(
        request,
        "agencies/subgroups.html",
        {"subgroups": items, "chairs": service.chair_names(session, items)},
    )


def _chair_page(request, session, subgroup, form: FormState, status_code: int = 200):
    return render(
        request,
        "agencies/chair.html",
        {
            "subgroup": subgroup,
            "form": form,
            "chairs": [(str(i), name) for i, name in service.chairs(session).items()],
        },
        status_code=status_code,
    )


@router.get("/admin/subgroups/{subgroup_id}/chair", name="agencies.subgroup_chair")
@transactional
def subgroup_chair(session: SessionDep, request: Request, subgroup_id: IdPath) -> Response:
    subgroup = service.get_subgroup(session, subgroup_id=subgroup_id)
    chosen = str(subgroup.chair_user_id) if subgroup.chair_user_id else ""
    return _chair_page(request, session, subgroup, CHAIR.state({"chair_user_id": chosen}))


@router.post("/admin/subgroups/{subgroup_id}/chair", name="agencies.subgroup_chair_save")
@transactional
def subgroup_chair_save(
    session: SessionDep, request: Request, subgroup_id: IdPath, posted: PostedForm
) -> Response:
    subgroup = service.get_subgroup(session, subgroup_id=subgroup_id)
    try:
        body = CHAIR.read(posted)  # blank: no chair
        with CHAIR.submitting(session, posted):
            service.update_subgroup(
                session, subgroup=subgroup, changes={"chair_user_id": body.chair_user_id}
            )
    except FormInvalid as invalid:
        return _chair_page(request, session, subgroup, invalid.state(), invalid.status_code)
    chair = service.chairs(session).get(body.chair_user_id) if body.chair_user_id else None
    flash(f"{chair} chairs the {subgroup.name}." if chair else f"The {subgroup.name} has no chair.")
    return redirect(request, "agencies.subgroups")
