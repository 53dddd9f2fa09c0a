"""Admin pages for the partnership's agencies: the list, adding one, deactivating."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.agencies import service
from app.agencies.models import AgencyKind
from app.agencies.schemas import AgencyCreate
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.forms import Form, FormInvalid, FormState
from app.pagination import PageParams
from app.templating import flash, redirect, render

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


@router.get("/admin/agencies", name="agencies.list")
@transactional
def agencies(session: SessionDep, request: Request) -> Response:
    items, _total = service.list_agencies(session, params=PageParams(1, 200))
    return render(request, "agencies/list.html", {"agencies": items, "kinds": KIND_LABELS})


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
