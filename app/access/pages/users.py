"""Admin pages for people's accounts: the list, adding someone, changing their name,
roles and agency, disabling the account and resetting the authenticator.

Nobody gives themselves a role; admin or moderator waits for a second administrator
(the requests are app/access/pages/grants.py); the last active administrator keeps
the role and stays enabled. A refusal is shown with the error summary and logged
(``grants.refusals_logged``): those routes keep their refusals, having written
nothing else."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.access import grants, service
from app.access.models import Role, RoleGrantRequest
from app.access.policy import Actor
from app.access.schemas import UserCreate, UserUpdate
from app.access.secrets import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app.agencies import service as agencies
from app.deps import FilterId, IdPath, PostedForm, SessionDep, transactional
from app.forms import Form, FormInvalid, FormState, Messages, whole_number
from app.pagination import MAX_PER_PAGE, PageParams
from app.templating import flash, redirect, render, sort_heads

router = APIRouter(include_in_schema=False)

ROLE_LABELS = {
    Role.ADMIN: "Administrator",
    Role.AUDITOR: "Auditor",
    Role.MODERATOR: "Moderator",
    Role.AGENCY_LEAD: "Agency lead",
    Role.PRACTITIONER: "Practitioner",
    Role.SCRUTINEER: "Scrutineer",
    Role.SUBGROUP_CHAIR: "Subgroup chair",
    Role.EXECUTIVE: "Executive member",
}
ROLE_HINTS = {
    Role.ADMIN: "Partnership business unit: keeps agencies, users and templates, plans audits",
    Role.AUDITOR: "Completes their agency's returns and grades its practice",
    Role.MODERATOR: "QAPP chair or moderator: reviews every return and moderates grades",
    Role.AGENCY_LEAD: "Owns their agency's learning actions",
    Role.PRACTITIONER: "Reads published learning briefings",
    Role.SCRUTINEER: "Read-only view of audits, grades, actions and trends",
    Role.SUBGROUP_CHAIR: "Chairs a subgroup (chosen on the subgroup's page): told when "
    "actions of the audits it leads are overdue",
    Role.EXECUTIVE: "Sits on the partnership's Executive: told when overdue actions are "
    "escalated to it",
}
ACCOUNT_MESSAGES: Messages = {
    "display_name": "Enter the person's name",
    ("display_name", "string_too_long"): "Name must be 200 characters or fewer",
    ("display_name", "invalid"): "Name must be one line of text, without line breaks",
    "email": "Enter the person's email address",
    ("email", "string_too_long"): "Email address must be 320 characters or fewer",
    ("email", "invalid"): "Enter an email address in the correct format, like name@example.org",
    "roles": "Choose at least one role",
    ("roles", "invalid"): "Choose roles from the list",
    "agency_id": "Choose an agency from the list",
    ("password", "string_too_long"): (
        f"The password must be {MAX_PASSWORD_LENGTH} characters or fewer"
    ),
}
NEW_ACCOUNT = Form(
    UserCreate,
    fields=("display_name", "email", "roles", "agency_id", "password"),
    lists=frozenset({"roles"}),
    blank_is_none=frozenset({"password"}),
    messages=ACCOUNT_MESSAGES,
    refusals={"email": "Someone with this email address already has an account"},
)
ACCOUNT = Form(
    UserUpdate,
    fields=("display_name", "roles", "agency_id"),
    lists=frozenset({"roles"}),
    messages=ACCOUNT_MESSAGES,
)


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


# --- the list ----------------------------------------------------------------------------


USER_COLUMNS = (
    ("Name", "name"),
    ("Email address", "email"),
    ("Roles", None),
    ("Agency", "agency"),
    ("Status", "status"),
    ("Last used", None),
    ("Authenticator", None),
)
ACTIVE = {"yes": True, "no": False}


@router.get("/admin/users", name="access.users")
@transactional
def users(
    session: SessionDep,
    request: Request,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    q: Annotated[str, Query(max_length=200)] = "",
    role: Annotated[str, Query(max_length=40)] = "",
    agency_id: FilterId = None,
    active: Annotated[str, Query(max_length=10)] = "",
    sort: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The accounts, searched by name or email address, filtered by role, agency and
    status and sorted by a column (a GET form and links: the address keeps the
    choices, the page links too); a choice not offered is a 422 with the error
    summary."""
    names = _agency_names(session)
    roles = {r.value: r for r in Role}
    errors: dict[str, str] = {}
    if role and role not in roles:
        errors["role"] = "Choose a role from the list"
    if agency_id is not None and agency_id not in names:
        errors["agency_id"] = "Choose an agency from the list"
    if active and active not in ACTIVE:
        errors["active"] = "Choose a status from the list"
    if sort and sort.removeprefix("-") not in service.USER_SORTS:
        errors["sort"] = "Sort by one of the table's columns"
    params = PageParams(page, MAX_PER_PAGE)
    items: list = []
    total = 0
    if not errors:
        items, total = service.list_users(
            session,
            params=params,
            active=ACTIVE.get(active),
            role=roles.get(role),
            agency_id=agency_id,
            q=q.strip() or None,
            sort=sort or None,
        )
    filters = {"q": q, "role": role, "agency_id": agency_id, "active": active}
    _waiting, waiting = grants.list_requests(session, params=PageParams(1, 1))
    return render(
        request,
        "access/users/list.html",
        {
            "waiting": waiting,
            "pending": grants.pending_for(session, user_ids=[u.id for u in items]),
            "users": items,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // MAX_PER_PAGE)),
            "role_labels": ROLE_LABELS,
            "agency_names": names,
            "filtered": any(v not in (None, "") for v in filters.values()),
            "sort": "" if "sort" in errors else sort,
            "query": {**filters, "sort": "" if "sort" in errors else sort},
            "head": sort_heads(
                request, "access.users", columns=USER_COLUMNS, sort=sort, query=filters
            ),
            "roles": [(r.value, label) for r, label in ROLE_LABELS.items()],
            "agencies": sorted(names.items(), key=lambda item: item[1].lower()),
            "statuses": [("yes", "Active"), ("no", "Disabled")],
            "form": FormState(
                values={k: "" if v is None else str(v) for k, v in filters.items()},
                errors=errors,
                anchors={"sort": "#users"},
            ),
        },
        status_code=422 if errors else 200,
    )


# --- adding someone ----------------------------------------------------------------------


def _new_page(request: Request, session: Session, form: FormState, status_code: int = 200):
    chosen = form.value("agency_id")
    return render(
        request,
        "access/users/new.html",
        {
            "form": form,
            "roles": _role_items(),
            "agencies": _agency_choices(session, whole_number(chosen)),
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status_code=status_code,
    )


def _role_items() -> list[dict]:
    return [
        {"value": role.value, "text": label, "hint": ROLE_HINTS[role]}
        for role, label in ROLE_LABELS.items()
    ]


@router.get("/admin/users/new", name="access.user_new")
@transactional
def new_user(session: SessionDep, request: Request) -> Response:
    return _new_page(request, session, NEW_ACCOUNT.state())


@router.post("/admin/users/new", name="access.user_create")
@transactional
def create_user(
    session: SessionDep, request: Request, actor: Actor, posted: PostedForm
) -> Response:
    try:
        body = NEW_ACCOUNT.read(posted)  # a blank password: none yet, set later
        with NEW_ACCOUNT.submitting(session, posted):
            user = service.create_user(
                session,
                email=body.email,
                display_name=body.display_name,
                roles=set(body.roles),
                agency_id=body.agency_id,
                password=body.password,
                actor=actor,
            )
    except FormInvalid as invalid:
        shown = {k: v for k, v in posted.shown(NEW_ACCOUNT.lists).items() if k != "password"}
        return _new_page(request, session, invalid.state(shown), invalid.status_code)
    grant = grants.pending_for(session, user_ids=[user.id]).get(user.id)
    flash(f"{user.display_name} has been added.{_waiting_words(grant)}")
    return redirect(request, "access.users")


def _waiting_words(grant: RoleGrantRequest | None) -> str:
    if grant is None:
        return ""
    asked = [
        ROLE_LABELS[Role(r)].lower() for r in grant.roles if Role(r) in grants.NEEDS_SECOND_ADMIN
    ]
    return (
        f" Giving them the {' and '.join(asked)} role needs another administrator's "
        "approval: the request is waiting."
    )


# --- one person's account ----------------------------------------------------------------


def _user_page(request, session, *, user, actor, form=None, status_code=200):
    if form is None:
        form = ACCOUNT.state(
            {
                "display_name": user.display_name,
                "roles": [r.value for r in user.roles],
                "agency_id": str(user.agency_id or ""),
            }
        )
    return render(
        request,
        "access/users/user.html",
        {
            "user": user,
            "grant": grants.pending_for(session, user_ids=[user.id]).get(user.id),
            "own_account": actor.user_id == user.id,
            "form": form,
            "role_labels": ROLE_LABELS,
            "roles": _role_items(),
            "agency_names": _agency_names(session),
            "agencies": _agency_choices(session, user.agency_id),
        },
        status_code=status_code,
    )


@router.get("/admin/users/{user_id}", name="access.user")
@transactional
def user_page(session: SessionDep, request: Request, actor: Actor, user_id: IdPath) -> Response:
    user = service.get_user(session, user_id=user_id)
    return _user_page(request, session, user=user, actor=actor)


def _log_if_last_admin(session: Session, user, roles: set[Role], active: bool) -> None:
    refusal = grants.last_admin_refusal(session, user=user, roles=roles, active=active)
    if refusal is not None:
        grants.log_refusal(session, refusal)


def _refused(request, session, *, user, actor, refusal, field, values=None) -> Response:
    """The account page again with the refusal in its error summary (already logged)."""
    form = FormState(values=values or {}, errors={field: refusal.message})
    user = service.get_user(session, user_id=user.id)  # as it stands: nothing changed
    return _user_page(
        request, session, user=user, actor=actor, form=form, status_code=refusal.status_code
    )


@router.post("/admin/users/{user_id}", name="access.user_update")
@transactional(keep_refusals=True)  # a refusal's audit-log row is kept; nothing else is
def update_user(
    session: SessionDep, request: Request, actor: Actor, user_id: IdPath, posted: PostedForm
) -> Response:
    user = service.get_user(session, user_id=user_id)
    try:
        body = ACCOUNT.read(posted)  # "No agency" (blank) removes it
        roles = set(body.roles or ())  # the form always posts a list, perhaps empty
        if actor.user_id == user.id and Role.ADMIN in user.roles and Role.ADMIN not in roles:
            # Nobody else may be left to give it back. (Where nobody else is, this is
            # also the last administrator's refusal, and logged as that.)
            _log_if_last_admin(session, user, roles, user.active)
            raise ACCOUNT.invalid(
                {"roles": "You cannot remove your own administrator role"}, posted=posted
            )
        changes: dict = {"display_name": body.display_name, "agency_id": body.agency_id}
        if roles != user.roles:
            # Named only when changed: moving them to another agency then takes away
            # the roles their old agency gave them (service.change_user).
            changes["roles"] = roles
        before = (user.agency_id, set(user.roles))
        with grants.refusals_logged(session), ACCOUNT.submitting(session, posted):
            _user, grant = service.change_user(session, user=user, changes=changes, actor=actor)
    except grants.Refusal as refusal:
        shown = posted.shown(ACCOUNT.lists)
        return _refused(
            request, session, user=user, actor=actor, refusal=refusal, field="roles", values=shown
        )
    except FormInvalid as invalid:
        return _user_page(
            request,
            session,
            user=user,
            actor=actor,
            form=invalid.state(),
            status_code=invalid.status_code,
        )
    flash(
        f"Changes to {user.display_name}'s account have been saved."
        f"{_moved_words(session, user, *before)}{_waiting_words(grant)}"
    )
    return redirect(request, "access.users")


def _moved_words(session: Session, user, agency_id: int | None, roles: set[Role]) -> str:
    """What a move to another agency did, for the flash after saving."""
    if user.agency_id == agency_id:
        return ""
    where = _agency_names(session).get(user.agency_id, "") if user.agency_id else "no agency"
    words = (
        f" They have moved to {where}: they have been signed out, their API tokens have "
        "stopped working"
    )
    lost = [ROLE_LABELS[r].lower() for r in ROLE_LABELS if r in roles - user.roles]
    if lost:
        words += f", and they no longer have the {' and '.join(lost)} role"
        words += "s" if len(lost) > 1 else ""
    return words + "."


@router.post("/admin/users/{user_id}/disable", name="access.user_disable")
@transactional(keep_refusals=True)  # a refusal's audit-log row is kept; nothing else is
def disable_user(session: SessionDep, request: Request, actor: Actor, user_id: IdPath) -> Response:
    user = service.get_user(session, user_id=user_id)
    if actor.user_id == user.id:
        # Refused, not merely hidden: a stale page or a second tab could still post it.
        _log_if_last_admin(session, user, set(user.roles), False)
        refused = FormState(errors={"disable": "You cannot disable your own account"})
        return _user_page(request, session, user=user, actor=actor, form=refused, status_code=409)
    if user.active:
        try:
            with grants.refusals_logged(session):
                reason = f"disabled by {actor.name or actor.label}"[:200]
                changes = {"active": False, "disabled_reason": reason}
                service.update_user(session, user=user, changes=changes, actor=actor)
        except grants.Refusal as refusal:
            return _refused(
                request, session, user=user, actor=actor, refusal=refusal, field="disable"
            )
    flash(f"{user.display_name}'s account has been disabled and they have been signed out.")
    return redirect(request, "access.users")


@router.post("/admin/users/{user_id}/reset-second-factor", name="access.user_reset_second_factor")
@transactional(keep_refusals=True)  # a refusal's audit-log row is kept; nothing else is
def reset_second_factor(
    session: SessionDep, request: Request, actor: Actor, user_id: IdPath
) -> Response:
    user = service.get_user(session, user_id=user_id)
    try:
        with grants.refusals_logged(session):
            service.reset_second_factor(session, user=user)
    except grants.Refusal as refusal:
        return _refused(
            request, session, user=user, actor=actor, refusal=refusal, field="reset_second_factor"
        )
    flash(
        f"{user.display_name}'s authenticator has been reset. They will set up a new one "
        "when they next sign in."
    )
    return redirect(request, "access.users")
