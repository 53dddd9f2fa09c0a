"""Agencies and subgroups: the partnership's reference data.

Neither is ever deleted: audits and returns refer to them for ever, so leaving the
partnership is recorded by deactivating.
"""

from __future__ import annotations

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from app.access.models import Role, User, UserRole
from app.agencies.models import Agency, AgencyKind, Subgroup
from app.auditlog import service as auditlog
from app.db import get_or_404
from app.errors import Conflict, FieldError, InvalidInput
from app.pagination import PageParams, page_of

# The agencies list's sortable columns (a key, descending with a leading "-"); by name
# unless sorted; active agencies first by status.
AGENCY_SORTS = {
    "name": func.lower(Agency.name),
    "kind": Agency.kind,
    "status": case((Agency.active.is_(True), 0), else_=1),
}


def list_agencies(
    session: Session,
    *,
    params: PageParams,
    active: bool | None = None,
    kind: AgencyKind | None = None,
    q: str | None = None,
    sort: str | None = None,
) -> tuple[list[Agency], int]:
    """A page of agencies, filtered; ``q`` finds words in the name; ``sort`` is a key
    of AGENCY_SORTS (by name when None)."""
    stmt: Select = select(Agency)
    if sort is None:
        stmt = stmt.order_by(Agency.name)
    else:
        column = AGENCY_SORTS[sort.removeprefix("-")]
        first = column.desc() if sort.startswith("-") else column.asc()
        stmt = stmt.order_by(first, func.lower(Agency.name), Agency.id)
    if active is not None:
        stmt = stmt.where(Agency.active == active)
    if kind is not None:
        stmt = stmt.where(Agency.kind == kind)
    if q:
        stmt = stmt.where(func.lower(Agency.name).contains(q.lower(), autoescape=True))
    return page_of(session, stmt, params)


def get_agency(session: Session, *, agency_id: int) -> Agency:
    return get_or_404(session, Agency, agency_id, what="agency")


def _check_unique_name(session: Session, model, name: str, exclude_id: int | None = None) -> None:
    stmt = select(model.id).where(model.name == name)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    if session.scalar(stmt) is not None:
        label = model.__tablename__
        raise Conflict(
            f"A {label} called '{name}' already exists.",
            fields=[FieldError("name", f"A {label} with this name already exists")],
        )


def create_agency(session: Session, *, name: str, kind: AgencyKind) -> Agency:
    _check_unique_name(session, Agency, name)
    agency = Agency(name=name, kind=kind, active=True)
    session.add(agency)
    session.flush()
    auditlog.record(
        session,
        action="agency.create",
        object_type="agency",
        object_id=agency.id,
        after=_view(agency),
    )
    return agency


def _view(obj: Agency | Subgroup) -> dict:
    """What the audit log records of an agency or subgroup."""
    if isinstance(obj, Agency):
        return {"name": obj.name, "kind": obj.kind, "active": obj.active}
    return {
        "name": obj.name,
        "description": obj.description,
        "active": obj.active,
        "chair_user_id": obj.chair_user_id,
    }


def _update(session: Session, obj: Agency | Subgroup, changes: dict):
    """Apply ``changes`` and log what really changed (deactivating is a change of
    ``active``); a request that changes nothing writes no log row."""
    if "name" in changes:
        _check_unique_name(session, type(obj), changes["name"], exclude_id=obj.id)
    with auditlog.changing(
        session,
        obj,
        action=f"{obj.__tablename__}.update",
        object_type=obj.__tablename__,
        view=_view,
    ):
        for key, value in changes.items():
            setattr(obj, key, value)
    return obj


def update_agency(session: Session, *, agency: Agency, changes: dict) -> Agency:
    """Rename, re-kind or (de)activate an agency; names stay unique."""
    return _update(session, agency, changes)


def list_subgroups(
    session: Session, *, params: PageParams, active: bool | None = None
) -> tuple[list[Subgroup], int]:
    stmt: Select = select(Subgroup).order_by(Subgroup.name)
    if active is not None:
        stmt = stmt.where(Subgroup.active == active)
    return page_of(session, stmt, params)


def get_subgroup(session: Session, *, subgroup_id: int) -> Subgroup:
    return get_or_404(session, Subgroup, subgroup_id, what="subgroup")


def create_subgroup(session: Session, *, name: str, description: str = "") -> Subgroup:
    _check_unique_name(session, Subgroup, name)
    subgroup = Subgroup(name=name, description=description, active=True)
    session.add(subgroup)
    session.flush()
    auditlog.record(
        session,
        action="subgroup.create",
        object_type="subgroup",
        object_id=subgroup.id,
        after=_view(subgroup),
    )
    return subgroup


def update_subgroup(session: Session, *, subgroup: Subgroup, changes: dict) -> Subgroup:
    """Rename, describe, (de)activate or choose the chair of a subgroup (``None``: no
    chair). The chair must be an active person holding the subgroup chair role."""
    chair_id = changes.get("chair_user_id")
    if chair_id is not None and chair_id not in chairs(session):
        raise InvalidInput(
            "The chair must be someone with the subgroup chair role.",
            fields=[
                FieldError(
                    "chair_user_id",
                    f"There is no active person with the subgroup chair role with id "
                    f"{chair_id}: give them the role first",
                )
            ],
        )
    return _update(session, subgroup, changes)


def chairs(session: Session) -> dict[int, str]:
    """Who may chair a subgroup: active people with the subgroup chair role, by id,
    with their names, in name order."""
    return dict(
        session.execute(
            select(User.id, User.display_name)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.SUBGROUP_CHAIR, User.active)
            .order_by(func.lower(User.display_name), User.id)
        ).all()
    )


def chair_names(session: Session, subgroups: list[Subgroup]) -> dict[int, str]:
    """The chairs of ``subgroups`` by subgroup id (those with one), by name."""
    ids = {s.chair_user_id for s in subgroups if s.chair_user_id}
    names = (
        dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
        if ids
        else {}
    )
    return {s.id: names[s.chair_user_id] for s in subgroups if s.chair_user_id in names}
