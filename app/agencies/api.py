from typing import Annotated

from fastapi import APIRouter, Query, status

from app.agencies import service
from app.agencies.models import AgencyKind
from app.agencies.schemas import (
    AgencyCreate,
    AgencyOut,
    AgencyUpdate,
    SubgroupCreate,
    SubgroupOut,
    SubgroupUpdate,
)
from app.deps import IdPath, SessionDep, transactional
from app.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1", tags=["agencies and subgroups"])


@router.get("/agencies", name="api.agencies.list")
@transactional
def list_agencies(
    session: SessionDep,
    params: PageDep,
    active: Annotated[bool | None, Query()] = None,
    kind: Annotated[AgencyKind | None, Query()] = None,
) -> Page[AgencyOut]:
    items, total = service.list_agencies(session, params=params, active=active, kind=kind)
    return Page[AgencyOut].build(items, total, params)


@router.post("/agencies", name="api.agencies.create", status_code=status.HTTP_201_CREATED)
@transactional
def create_agency(session: SessionDep, body: AgencyCreate) -> AgencyOut:
    return AgencyOut.model_validate(service.create_agency(session, name=body.name, kind=body.kind))


@router.get("/agencies/{agency_id}", name="api.agencies.get")
@transactional
def get_agency(session: SessionDep, agency_id: IdPath) -> AgencyOut:
    return AgencyOut.model_validate(service.get_agency(session, agency_id=agency_id))


@router.patch("/agencies/{agency_id}", name="api.agencies.update")
@transactional
def update_agency(session: SessionDep, agency_id: IdPath, body: AgencyUpdate) -> AgencyOut:
    agency = service.get_agency(session, agency_id=agency_id)
    changes = body.model_dump(exclude_unset=True)
    return AgencyOut.model_validate(service.update_agency(session, agency=agency, changes=changes))


@router.post("/agencies/{agency_id}/deactivate", name="api.agencies.deactivate")
@transactional
def deactivate_agency(session: SessionDep, agency_id: IdPath) -> AgencyOut:
    agency = service.get_agency(session, agency_id=agency_id)
    return AgencyOut.model_validate(
        service.update_agency(session, agency=agency, changes={"active": False})
    )


@router.get("/subgroups", name="api.subgroups.list")
@transactional
def list_subgroups(
    session: SessionDep, params: PageDep, active: Annotated[bool | None, Query()] = None
) -> Page[SubgroupOut]:
    items, total = service.list_subgroups(session, params=params, active=active)
    return Page[SubgroupOut].build(items, total, params)


@router.post("/subgroups", name="api.subgroups.create", status_code=status.HTTP_201_CREATED)
@transactional
def create_subgroup(session: SessionDep, body: SubgroupCreate) -> SubgroupOut:
    subgroup = service.create_subgroup(session, name=body.name, description=body.description)
    return SubgroupOut.model_validate(subgroup)


@router.get("/subgroups/{subgroup_id}", name="api.subgroups.get")
@transactional
def get_subgroup(session: SessionDep, subgroup_id: IdPath) -> SubgroupOut:
    return SubgroupOut.model_validate(service.get_subgroup(session, subgroup_id=subgroup_id))


@router.patch("/subgroups/{subgroup_id}", name="api.subgroups.update")
@transactional
def update_subgroup(session: SessionDep, subgroup_id: IdPath, body: SubgroupUpdate) -> SubgroupOut:
    subgroup = service.get_subgroup(session, subgroup_id=subgroup_id)
    changes = body.model_dump(exclude_unset=True)
    return SubgroupOut.model_validate(
        service.update_subgroup(session, subgroup=subgroup, changes=changes)
    )


@router.post("/subgroups/{subgroup_id}/deactivate", name="api.subgroups.deactivate")
@transactional
def deactivate_subgroup(session: SessionDep, subgroup_id: IdPath) -> SubgroupOut:
    subgroup = service.get_subgroup(session, subgroup_id=subgroup_id)
    return SubgroupOut.model_validate(
        service.update_subgroup(session, subgroup=subgroup, changes={"active": False})
    )
