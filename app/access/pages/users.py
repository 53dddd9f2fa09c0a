"""Admin pages for people's accounts: the list, adding someone, changing their name,
roles and agency, disabling the account and resetting the authenticator."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.access import service
from app.access.models import Role, User
from app.access.policy import Actor
from app.access.schemas import UserCreate, UserUpdate
from app.access.secrets import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app.agencies import service as agencies
from app.deps import FormLists, IdPath, IdQuery, SessionDep, transactional
from app.errors import AppError, NotFound, validation_fields
from app.forms import attempt, summary
from app.pagination import MAX_PER_PAGE, PageParams
from app.templating import render

router = APIRouter(include_in_schema=False)

ROLE_LABELS = {
    Role.ADMIN: "Administrator",
    Role.AUDITOR: "Auditor",
    Role.MODERATOR: "Moderator",
    Role.AGENCY_LEAD: "Agency lead",
    Role.PRACTITIONER: "Practitioner",
    Role.SCRUTINEER: "Scrutineer",
}
ROLE_HINTS = {
    Role.ADMIN: "Partnership business unit: keeps agencies, users and templates, plans audits",
    Role.AUDITOR: "Completes their agency's returns and grades its practice",
    Role.MODERATOR: "QAPP chair or moderator: reviews every return and moderates grades",
    Role.AGENCY_LEAD: "Owns their agency's learning actions",
    Role.PRACTITIONER: "Reads published learning briefings",
    Role.SCRUTINEER: "Read-only view of audits, grades, actions and trends",
}
# What the list's banner says after each change (?done=...&user=id).
DONE = {
    "added": "{name} has been added.",
    "changed": "Changes to {name}'s account have been saved.",
    "disabled": "{name}'s account has been disabled and they have been signed out.",
    "reset": "{name}'s authenticator has been reset. They will set up a new one when they "
    "next sign in.",
}


def _path(request: Request, name: str, **params) -> str:
    return str(request.app.url_path_for(name, **params))


def _done(request: Request, user: User, what: str) -> RedirectResponse:
    query = urlencode({"done": what, "user": user.id})
    return RedirectResponse(f"{_path(request, 'access.users')}?{query}", status_code=303)


def _agency_names(session: Session) -> dict[int, str]:
    """Every agency, deactivated ones too: people may still belong to one."""
    items, _total = agencies.list_agencies(session, params=PageParams(1, MAX_PER_PAGE))
    return {a.id: a.name for a in items}


def _agency_choices(session: Session, current: int | None) -> list[tuple[int, str]]:
    """Active agencies for the select, plus the person's own if it has been
    deactivated, so the form shows where they are now rather than silently nothing."""
    items, _total = agencies.list_agencies(session, params=PageParams(1, MAX_PER_PAGE), active=True)
    choices = [(a.id, a.name) for a in items]
    if current is not None and current not in {id_ for id_, _name in choices}:
        name = _agency_names(session).get(current)
        if name:
            choices.append((current, f"{name} (deactivated)"))
    return choices


# --- reading the forms -------------------------------------------------------------------


def _one(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0]


def _values(form: dict[str, list[str]]) -> dict:
    """The submitted form as the templates show it again."""
    return {
        "email": _one(form, "email"),
        "display_name": _one(form, "display_name"),
        "roles": [r for r in form.get("roles", []) if r],
        "agency_id": _one(form, "agency_id"),
    }


def _message(field: str, kind: str, value, fallback: str) -> str:
    """A GOV.UK-style message for a Pydantic error on one of the form's fields."""
    if field == "email":
        if not str(value or "").strip():
            return "Enter the person's email address"
        if kind == "string_too_long":
            return "Email address must be 320 characters or fewer"
        return "Enter an email address in the correct format, like name@example.org"
    if field == "display_name":
        if not str(value or "").strip():
            return "Enter the person's name"
        if kind == "string_too_long":
            return "Name must be 200 characters or fewer"
        return f"Name {fallback}"
    if field == "roles":
        return "Choose at least one role" if kind == "too_short" else "Choose roles from the list"
    if field == "agency_id":
        return "Choose an agency from the list"
    if field == "password" and kind == "string_too_long":
        return f"The password must be {MAX_PASSWORD_LENGTH} characters or fewer"
    return fallback


def _pydantic_errors(exc: ValidationError, data: dict) -> dict[str, str]:
    errors: dict[str, str] = {}
    raw = exc.errors()
    for err, found in zip(raw, validation_fields(raw), strict=True):
        field = found.field.split("[")[0].split(".")[0]
        errors.setdefault(field, _message(field, err["type"], data.get(field), found.message))
    return errors


def _service_errors(exc: AppError, agency_id: int | None) -> dict[str, str]:
    """The service's refusal, worded for this form (it is written for the API)."""
    errors: dict[str, str] = {}
    for found in exc.fields:
        if found.field == "email":
            message = "Someone with this email address already has an account"
        elif found.field == "agency_id" and agency_id is None:
            message = "Choose the agency an auditor or agency lead works for"
        elif found.field == "agency_id":
            message = "Choose an agency that is still active"
        else:
            message = found.message
        errors.setdefault(found.field, message)
    return errors


def _in_page_order(errors: dict[str, str]) -> dict[str, str]:
    """Errors in the order the fields are on the page, as the summary must list them."""
    order = ["display_name", "email", "roles", "agency_id", "password", "disable"]
    return dict(sorted(errors.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))


# --- the list ----------------------------------------------------------------------------


@router.get("/admin/users", name="access.users")
@transactional
def users(
    session: SessionDep,
    request: Request,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    done: str = "",
    user: IdQuery = None,
) -> Response:
    params = PageParams(page, MAX_PER_PAGE)
    items, total = service.list_users(session, params=params)
    banner = None
    if done in DONE and user is not None:
        changed = next((u for u in items if u.id == user), None)
        if changed is None:
            try:
                changed = service.get_user(session, user_id=user)
            except NotFound:
                changed = None
        if changed is not None:
            banner = DONE[done].format(name=changed.display_name)
    return render(
        request,
        "users/list.html",
        {
            "users": items,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // MAX_PER_PAGE)),
            "role_labels": ROLE_LABELS,
            "agency_names": _agency_names(session),
            "banner": banner,
        },
    )


# --- adding someone ----------------------------------------------------------------------


def _new_page(request, session, *, values, errors, status_code=200):
    chosen = values.get("agency_id")
    return render(
        request,
        "users/new.html",
        {
            "values": values,
            "roles": ROLE_LABELS,
            "role_hints": ROLE_HINTS,
            "agencies": _agency_choices(session, int(chosen) if chosen.isdigit() else None),
            "min_password": MIN_PASSWORD_LENGTH,
            "errors_by_field": errors,
            "errors": summary(errors),
        },
        status_code=status_code,
    )


@router.get("/admin/users/new", name="access.user_new")
@transactional
def new_user(session: SessionDep, request: Request) -> Response:
    return _new_page(request, session, values=_values({}), errors={})


@router.post("/admin/users/new", name="access.user_create")
@transactional
def create_user(session: SessionDep, request: Request, form: FormLists) -> Response:
    values = _values(form)
    data = {
        **values,
        "agency_id": values["agency_id"] or None,
        "password": _one(form, "password") or None,  # blank: no password yet
    }
    try:
        body = UserCreate.model_validate(data)
    except ValidationError as exc:
        errors = _in_page_order(_pydantic_errors(exc, data))
        return _new_page(request, session, values=values, errors=errors, status_code=422)
    try:
        # A refused account must leave nothing behind, though this response commits.
        with attempt(session):
            user = service.create_user(
                session,
                email=body.email,
                display_name=body.display_name,
                roles=set(body.roles),
                agency_id=body.agency_id,
                password=body.password,
            )
    except AppError as exc:
        if not exc.fields:
            raise
        errors = _in_page_order(_service_errors(exc, body.agency_id))
        return _new_page(
            request, session, values=values, errors=errors, status_code=exc.status_code
        )
    return _done(request, user, "added")


# --- one person's account ----------------------------------------------------------------


def _user_page(request, session, *, user, actor, values=None, errors=None, status_code=200):
    errors = errors or {}
    if values is None:
        values = {
            "display_name": user.display_name,
            "roles": [r.value for r in user.roles],
            "agency_id": str(user.agency_id or ""),
        }
    return render(
        request,
        "users/user.html",
        {
            "user": user,
            "own_account": actor.user_id == user.id,
            "values": values,
            "roles": ROLE_LABELS,
            "role_hints": ROLE_HINTS,
            "agency_names": _agency_names(session),
            "agencies": _agency_choices(session, user.agency_id),
            "errors_by_field": errors,
            "errors": summary(errors),
        },
        status_code=status_code,
    )


@router.get("/admin/users/{user_id}", name="access.user")
@transactional
def user_page(session: SessionDep, request: Request, actor: Actor, user_id: IdPath) -> Response:
    user = service.get_user(session, user_id=user_id)
    return _user_page(request, session, user=user, actor=actor)


@router.post("/admin/users/{user_id}", name="access.user_update")
@transactional
def update_user(
    session: SessionDep, request: Request, actor: Actor, user_id: IdPath, form: FormLists
) -> Response:
    user = service.get_user(session, user_id=user_id)
    values = _values(form)
    data = {
        "display_name": values["display_name"],
        "roles": values["roles"],
        "agency_id": values["agency_id"] or None,  # "No agency" removes it
    }

    def refuse(errors: dict[str, str], status_code: int = 422) -> Response:
        return _user_page(
            request,
            session,
            user=user,
            actor=actor,
            values=values,
            errors=_in_page_order(errors),
            status_code=status_code,
        )

    try:
        body = UserUpdate.model_validate(data)
    except ValidationError as exc:
        return refuse(_pydantic_errors(exc, data))
    roles = set(body.roles)
    if actor.user_id == user.id and Role.ADMIN in user.roles and Role.ADMIN not in roles:
        # Nobody else may be left to give it back.
        return refuse({"roles": "You cannot remove your own administrator role"})
    changes = {"display_name": body.display_name, "roles": roles, "agency_id": body.agency_id}
    try:
        with attempt(session):
            service.update_user(session, user=user, changes=changes)
    except AppError as exc:
        if not exc.fields:
            raise
        return refuse(_service_errors(exc, body.agency_id), exc.status_code)
    return _done(request, user, "changed")


@router.post("/admin/users/{user_id}/disable", name="access.user_disable")
@transactional
def disable_user(session: SessionDep, request: Request, actor: Actor, user_id: IdPath) -> Response:
    user = service.get_user(session, user_id=user_id)
    if actor.user_id == user.id:
        # Refused, not merely hidden: a stale page or a second tab could still post it.
        errors = {"disable": "You cannot disable your own account"}
        return _user_page(request, session, user=user, actor=actor, errors=errors, status_code=409)
    if user.active:
        service.update_user(session, user=user, changes={"active": False})
    return _done(request, user, "disabled")


@router.post("/admin/users/{user_id}/reset-second-factor", name="access.user_reset_second_factor")
@transactional
def reset_second_factor(session: SessionDep, request: Request, user_id: IdPath) -> Response:
    user = service.get_user(session, user_id=user_id)
    service.reset_second_factor(session, user=user)
    return _done(request, user, "reset")
