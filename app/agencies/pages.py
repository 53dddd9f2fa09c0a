"""Admin pages for the partnership's agencies."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.agencies import service
from app.agencies.models import AgencyKind
from app.agencies.schemas import AgencyCreate
from app.deps import FormData, IdPath, SessionDep, transactional
from app.errors import Conflict, validation_fields
from app.pagination import PageParams
from app.templating import render

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


@router.get("/admin/agencies", name="agencies.list")
@transactional
def agencies(session: SessionDep, request: Request, added: str = "") -> Response:
    items, _total = service.list_agencies(session, params=PageParams(1, 200))
    return render(
        request, "agencies/list.html", {"agencies": items, "kinds": KIND_LABELS, "added": added}
    )


def _form_page(request, *, values, errors, status_code=200):
    return render(
        request,
        "agencies/new.html",
        {
            "values": values,
            "kinds": KIND_LABELS,
            "errors_by_field": errors,
            "errors": [{"text": m, "href": f"#{f}"} for f, m in errors.items()],
        },
        status_code=status_code,
    )


@router.get("/admin/agencies/new", name="agencies.new")
@transactional
def new_agency(session: SessionDep, request: Request) -> Response:
    return _form_page(request, values={}, errors={})


@router.post("/admin/agencies/new", name="agencies.create")
@transactional
def create_agency(session: SessionDep, request: Request, form: FormData) -> Response:
    messages = {"name": "Enter the agency's name", "kind": "Choose what kind of agency it is"}
    try:
        body = AgencyCreate.model_validate(
            {"name": form.get("name", ""), "kind": form.get("kind") or None}
        )
    except ValidationError as exc:
        errors = {
            f.field: messages.get(f.field, f.message) for f in validation_fields(exc.errors())
        }
        return _form_page(request, values=form, errors=errors, status_code=422)
    try:
        service.create_agency(session, name=body.name, kind=body.kind)
    except Conflict:
        return _form_page(
            request,
            values=form,
            errors={"name": "An agency with this name already exists"},
            status_code=409,
        )
    return RedirectResponse(f"/admin/agencies?added={body.name}", status_code=303)


@router.post("/admin/agencies/{agency_id}/deactivate", name="agencies.deactivate")
@transactional
def deactivate(session: SessionDep, agency_id: IdPath) -> Response:
    agency = service.get_agency(session, agency_id=agency_id)
    service.update_agency(session, agency=agency, changes={"active": False})
    return RedirectResponse("/admin/agencies", status_code=303)
