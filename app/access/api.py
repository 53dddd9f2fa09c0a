"""Signing in and out, one's own sessions and tokens, and managing users (JSON).

A refused sign-in or code is kept: the failure count and the log row it wrote must
commit with the refusal, or the throttle would never count anything; those routes say
so with ``@transactional(keep_refusals=True)``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from app.access import grants, leavers, links, service, signin, sso
from app.access.auth import current_web_session, session_token_from
from app.access.browser import (
    clear_session_cookie as _clear_session_cookie,
)
from app.access.browser import (
    client_address as _address,
)
from app.access.browser import (
    pending_session as _pending_session,
)
from app.access.browser import (
    set_session_cookie as _set_session_cookie,
)
from app.access.browser import (
    settings_of as _settings,
)
from app.access.csrf import csrf_token_for
from app.access.models import Role, User
from app.access.policy import Actor, Forbidden, Via
from app.access.schemas import (
    AccessReviewOut,
    CodeIn,
    EnrolledOut,
    Enrolment,
    GrantDecisionIn,
    ImportOut,
    ImportRowOut,
    InvitationCreate,
    InvitationOut,
    MeAgency,
    MeOut,
    PasswordIn,
    PasswordResetIn,
    PasswordResetOut,
    RegistrationDecide,
    RegistrationOut,
    RoleGrantOut,
    SessionOut,
    SignInIn,
    SignInOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from app.access.signin import SignInStatus
from app.agencies.models import Agency
from app.db import get_or_404
from app.deps import IdPath, IdQuery, RawBody, SessionDep, transactional
from app.errors import AppError, FieldError, InvalidInput, NotFound, StateError
from app.pagination import Page, PageDep


class BrowserSessionRequired(Forbidden):
    code = "browser_session_required"


router = APIRouter(prefix="/api/v1")

_REFUSALS = (signin.SignInRefused, signin.CodeRefused, signin.TooManyAttempts)


def _refused(exc: AppError) -> JSONResponse:
    return JSONResponse(
        exc.to_json(), status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


def _own_user(session: Session, actor: Actor) -> User:
    if actor.user_id is None:
        raise NotFound("This caller has no account.")
    return service.get_user(session, user_id=actor.user_id)


# --- signing in ------------------------------------------------------------------------


@router.post(
    "/auth/sign-in", name="api.auth.sign_in", response_model=SignInOut, tags=["signing in"]
)
@transactional(keep_refusals=True)  # a refused attempt still counts
def sign_in(
    session: SessionDep, request: Request, response: Response, body: SignInIn
) -> SignInOut | JSONResponse:
    """Check the e-mail address and password. A session cookie is set; unless second
    factors are turned off, it works only for the second-factor (or enrolment) step."""
    settings = _settings(request)
    try:
        web, plain, state = signin.sign_in(
            session,
            email=body.email,
            password=body.password,
            client_address=_address(request),
            user_agent=request.headers.get("user-agent", ""),
            settings=settings,
        )
    except _REFUSALS as exc:
        return _refused(exc)
    _set_session_cookie(response, request, plain, web)
    out = SignInOut(status=state, expires_at=web.expires_at)
    if state == SignInStatus.SIGNED_IN:
        out.csrf_token = csrf_token_for(plain, settings.secret_key)
    elif state == SignInStatus.ENROL:
        user = get_or_404(session, User, web.user_id, what="user")
        out.enrolment = Enrolment(
            secret=signin.enrolment_secret(user),
            otpauth_uri=signin.provisioning_uri(user, settings),
        )
    return out


@router.post(
    "/auth/second-factor",
    name="api.auth.second_factor",
    response_model=SignInOut,
    tags=["signing in"],
)
@transactional(keep_refusals=True)  # a refused attempt still counts
def second_factor(
    session: SessionDep, request: Request, response: Response, body: CodeIn
) -> SignInOut | JSONResponse:
    """Finish signing in with an authenticator code or a recovery code. The session
    cookie is replaced: the one set at sign-in stops working."""
    web = _pending_session(session, request)
    try:
        web, plain = signin.second_factor(
            session,
            web_session=web,
            code=body.code,
            client_address=_address(request),
            settings=_settings(request),
        )
    except _REFUSALS as exc:
        return _refused(exc)
    _set_session_cookie(response, request, plain, web)
    return SignInOut(
        status=SignInStatus.SIGNED_IN,
        expires_at=web.expires_at,
        csrf_token=csrf_token_for(plain, _settings(request).secret_key),
    )


@router.post("/auth/enrol", name="api.auth.enrol", response_model=EnrolledOut, tags=["signing in"])
@transactional(keep_refusals=True)  # a refused attempt still counts
def enrol(
    session: SessionDep, request: Request, response: Response, body: CodeIn
) -> EnrolledOut | JSONResponse:
    """Confirm the authenticator app set up at sign-in with a code from it. Returns ten
    recovery codes, shown only now; the session cookie is replaced."""
    web = _pending_session(session, request)
    try:
        web, plain, codes = signin.confirm_enrolment(
            session,
            web_session=web,
            code=body.code,
            client_address=_address(request),
            settings=_settings(request),
        )
    except _REFUSALS as exc:
        return _refused(exc)
    _set_session_cookie(response, request, plain, web)
    return EnrolledOut(
        status=SignInStatus.SIGNED_IN,
        expires_at=web.expires_at,
        csrf_token=csrf_token_for(plain, _settings(request).secret_key),
        recovery_codes=codes,
    )


@router.post(
    "/auth/sign-out",
    name="api.auth.sign_out",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["signing in"],
)
@transactional
def sign_out(session: SessionDep, request: Request, actor: Actor) -> Response:
    """End this browser's session."""
    web = current_web_session(session, actor)
    if web is None:
        raise StateError("This request used an API token: revoke the token to stop it working.")
    signin.sign_out(session, web_session=web)
    result = Response(status_code=status.HTTP_204_NO_CONTENT)
    _clear_session_cookie(result, request)
    return result


@router.get("/auth/me", name="api.auth.me", tags=["signing in"])
@transactional
def me(session: SessionDep, request: Request, actor: Actor) -> MeOut:
    """Who is signed in, with which roles and agency; for a browser session, the CSRF
    token its state-changing requests must carry."""
    user = _own_user(session, actor)
    agency = session.get(Agency, user.agency_id) if user.agency_id else None
    token = session_token_from(request) if actor.via == Via.SESSION else None
    return MeOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        roles=sorted(user.roles),
        agency=MeAgency.model_validate(agency) if agency else None,
        via=actor.via,
        csrf_token=csrf_token_for(token, _settings(request).secret_key) if token else None,
    )


@router.get("/auth/sessions", name="api.auth.sessions", tags=["signing in"])
@transactional
def list_sessions(session: SessionDep, request: Request, actor: Actor) -> list[SessionOut]:
    """Your own sessions that still work, newest first, with the current one marked."""
    user = _own_user(session, actor)
    rows = signin.list_sessions(session, user=user, settings=_settings(request))
    current = actor.credential_id if actor.via == Via.SESSION else None
    return [
        SessionOut.model_validate(r).model_copy(update={"current": r.id == current}) for r in rows
    ]


@router.delete(
    "/auth/sessions/{session_id}",
    name="api.auth.end_session",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["signing in"],
)
@transactional
def end_session(
    session: SessionDep, request: Request, actor: Actor, session_id: IdPath
) -> Response:
    """End one of your own sessions (signing that browser out)."""
    user = _own_user(session, actor)
    signin.end_own_session(session, user=user, session_id=session_id, settings=_settings(request))
    result = Response(status_code=status.HTTP_204_NO_CONTENT)
    if actor.via == Via.SESSION and actor.credential_id == session_id:
        _clear_session_cookie(result, request)
    return result


# --- personal access tokens ----------------------------------------------------------------


@router.get("/auth/tokens", name="api.auth.tokens", tags=["signing in"])
@transactional
def list_tokens(session: SessionDep, actor: Actor) -> list[TokenOut]:
    """Your own API tokens, including revoked and expired ones (never the token itself)."""
    user = _own_user(session, actor)
    return [TokenOut.model_validate(t) for t in service.list_tokens(session, user=user)]


@router.post(
    "/auth/tokens",
    name="api.auth.create_token",
    status_code=status.HTTP_201_CREATED,
    tags=["signing in"],
)
@transactional
def create_token(
    session: SessionDep, request: Request, actor: Actor, body: TokenCreate
) -> TokenCreated:
    """A new API token acting with your rights, sent as ``Authorization: Bearer ...``.
    The token is in this response only: it is stored hashed and cannot be shown again."""
    if actor.via == Via.TOKEN:
        # A leaked token must not be able to mint others that outlive its revocation.
        raise BrowserSessionRequired(
            "API tokens are created by signing in, not with another token."
        )
    limit = _settings(request).api_token_max_days
    if body.days > limit:
        raise InvalidInput(
            f"A token may last at most {limit} days.",
            fields=[FieldError("days", f"Must be from 1 to {limit}")],
        )
    user = _own_user(session, actor)
    row, plain = service.create_token(session, user=user, name=body.name, days=body.days)
    return TokenCreated.model_validate(
        {**TokenOut.model_validate(row).model_dump(), "token": plain}
    )


@router.delete(
    "/auth/tokens/{token_id}",
    name="api.auth.revoke_token",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["signing in"],
)
@transactional
def revoke_token(session: SessionDep, actor: Actor, token_id: IdPath) -> Response:
    """Revoke one of your own tokens: it stops working at once."""
    user = _own_user(session, actor)
    service.revoke_token(
        session, token=service.get_own_token(session, user=user, token_id=token_id)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- managing users (the partnership business unit) -----------------------------------------


def _user_out(session: Session, user: User) -> UserOut:
    pending = grants.pending_for(session, user_ids=[user.id]).get(user.id)
    return UserOut.of(user, pending)


@router.get("/users", name="api.users.list", tags=["users"])
@transactional
def list_users(
    session: SessionDep,
    params: PageDep,
    active: Annotated[bool | None, Query()] = None,
    role: Annotated[Role | None, Query()] = None,
    agency_id: IdQuery = None,
) -> Page[UserOut]:
    items, total = service.list_users(
        session, params=params, active=active, role=role, agency_id=agency_id
    )
    pending = grants.pending_for(session, user_ids=[u.id for u in items])
    return Page[UserOut].build([UserOut.of(u, pending.get(u.id)) for u in items], total, params)


@router.post("/users", name="api.users.create", status_code=status.HTTP_201_CREATED, tags=["users"])
@transactional
def create_user(session: SessionDep, actor: Actor, body: UserCreate) -> UserOut:
    """Add a person. Without a password they cannot sign in until one is set. Admin or
    moderator waits for a second administrator: the account is made with the other
    roles and ``pending_role_grant`` holds the request."""
    user = service.create_user(
        session,
        email=body.email,
        display_name=body.display_name,
        roles=set(body.roles),
        agency_id=body.agency_id,
        password=body.password,
        actor=actor,
    )
    return _user_out(session, user)


@router.get("/users/{user_id}", name="api.users.get", tags=["users"])
@transactional
def get_user(session: SessionDep, user_id: IdPath) -> UserOut:
    return _user_out(session, service.get_user(session, user_id=user_id))


REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "The change would give you a role of your own, or you asked for it."},
    409: {"description": "The last active administrator would be left without the role."},
}


@router.patch(
    "/users/{user_id}",
    name="api.users.update",
    tags=["users"],
    response_model=UserOut,
    responses={202: {"description": "Roles kept pending for a second admin"}, **REFUSALS},
)
@transactional(keep_refusals=True)  # a refusal changes nothing, but its log row is kept
def update_user(
    session: SessionDep, actor: Actor, response: Response, user_id: IdPath, body: UserUpdate
) -> UserOut:
    """Change name, roles, agency or active flag. A change to roles, agency or active
    flag ends the person's sessions at once. Nobody adds roles to their own account
    (403), and the last active administrator keeps the role and stays enabled (409);
    each refusal is logged. Adding admin or moderator answers 202: the other changes
    are made, and the roles wait for a second administrator (``pending_role_grant``)."""
    user = service.get_user(session, user_id=user_id)
    changes = body.model_dump(exclude_unset=True)
    if "roles" in changes:
        changes["roles"] = set(changes["roles"])
    with grants.refusals_logged(session):
        user, request = service.change_user(session, user=user, changes=changes, actor=actor)
    if request is not None:
        response.status_code = status.HTTP_202_ACCEPTED
    return _user_out(session, user)


@router.post(
    "/users/{user_id}/disable",
    name="api.users.disable",
    tags=["users"],
    response_model=UserOut,
    responses=REFUSALS,
)
@transactional(keep_refusals=True)  # a refusal changes nothing, but its log row is kept
def disable_user(session: SessionDep, actor: Actor, user_id: IdPath) -> UserOut:
    """Stop the person signing in; their sessions end and their tokens stop working.
    The last active administrator cannot be disabled (409, logged)."""
    user = service.get_user(session, user_id=user_id)
    with grants.refusals_logged(session):
        service.update_user(session, user=user, changes={"active": False}, actor=actor)
    return _user_out(session, user)


@router.post(
    "/users/{user_id}/password",
    name="api.users.reset_password",
    tags=["users"],
    response_model=UserOut,
    responses=REFUSALS,
)
@transactional(keep_refusals=True)  # a refusal changes nothing, but its log row is kept
def reset_password(session: SessionDep, user_id: IdPath, body: PasswordIn) -> UserOut:
    """Set a new password for the person; their sessions end. Not for another account
    holding admin, moderator or scrutineer (403, logged: on the server only)."""
    user = service.get_user(session, user_id=user_id)
    with grants.refusals_logged(session):
        service.set_password(session, user=user, password=body.password)
    return _user_out(session, user)


@router.post(
    "/users/{user_id}/second-factor/reset",
    name="api.users.reset_second_factor",
    tags=["users"],
    response_model=UserOut,
    responses=REFUSALS,
)
@transactional(keep_refusals=True)  # a refusal changes nothing, but its log row is kept
def reset_second_factor(session: SessionDep, user_id: IdPath) -> UserOut:
    """Forget the person's authenticator app (lost phone): they set up a new one at
    their next sign-in. Their sessions end. Not for another account holding admin,
    moderator or scrutineer (403, logged: on the server only)."""
    user = service.get_user(session, user_id=user_id)
    with grants.refusals_logged(session):
        service.reset_second_factor(session, user=user)
    return _user_out(session, user)


# --- roles waiting for a second administrator ------------------------------------------------


@router.get("/role-grants", name="api.role_grants.list", tags=["users"])
@transactional
def list_role_grants(
    session: SessionDep,
    params: PageDep,
    pending: Annotated[
        bool | None, Query(description="true (the default): waiting; false: decided.")
    ] = True,
) -> Page[RoleGrantOut]:
    """Requests to give someone admin or moderator, newest first."""
    items, total = grants.list_requests(session, params=params, pending=pending)
    return Page[RoleGrantOut].build([RoleGrantOut.of(r) for r in items], total, params)


@router.get("/role-grants/{grant_id}", name="api.role_grants.get", tags=["users"])
@transactional
def get_role_grant(session: SessionDep, grant_id: IdPath) -> RoleGrantOut:
    return RoleGrantOut.of(grants.get_request(session, request_id=grant_id))


@router.post(
    "/role-grants/{grant_id}/decision",
    name="api.role_grants.decide",
    tags=["users"],
    response_model=RoleGrantOut,
    responses={
        403: {"description": "You asked for it, or it is for you: another admin decides."},
        409: {"description": "Decided already, or it would leave no active administrator."},
    },
)
@transactional(keep_refusals=True)  # a refusal changes nothing, but its log row is kept
def decide_role_grant(
    session: SessionDep, actor: Actor, grant_id: IdPath, body: GrantDecisionIn
) -> RoleGrantOut:
    """Approve (the person's roles become those asked, and their sessions end) or
    refuse a request. Only another administrator may: not whoever asked, nor the
    person it is for (403, logged)."""
    request = grants.get_request(session, request_id=grant_id)
    with grants.refusals_logged(session):
        service.decide_grant(
            session,
            request=request,
            approve=body.decision == "approve",
            reason=body.reason,
            actor=actor,
        )
    return RoleGrantOut.of(request)


# --- invitations and password resets (app/access/links.py) ------------------------------
#
# Accepting an invitation and using a reset link are done in the browser, on the page
# the e-mailed link opens (app/access/pages/links.py): a person sets their password
# there and goes on to set up their authenticator app. The API has no route for them.


@router.post(
    "/invitations",
    name="api.invitations.create",
    status_code=status.HTTP_201_CREATED,
    tags=["users"],
    response_model=InvitationOut,
    responses={
        403: {"description": "Not an administrator or agency lead, or not this agency or role."},
        409: {"description": "Someone with this address already has an account they use."},
    },
)
@transactional
def create_invitation(
    session: SessionDep, request: Request, actor: Actor, body: InvitationCreate
) -> InvitationOut:
    """Invite someone by e-mail: their account is made without a password, and they
    are sent a one-time link (it works once, for ``account_link_hours``) to set their
    own password and authenticator app, or to sign in with their organisation's single
    sign-on. Inviting an account that has never been used sends a fresh link, and the
    older ones stop working. An administrator invites to any agency with any roles
    (admin, moderator and scrutineer wait for a second administrator, as when a user is
    added); an agency lead to their own agency only, as auditor, agency lead or
    practitioner (403, ``invite_refused``). Accepting is done in the browser, on the
    page the link opens: the API has no route for it."""
    made = links.invite(
        session,
        email=body.email,
        display_name=body.display_name,
        roles=set(body.roles),
        agency_id=body.agency_id,
        settings=_settings(request),
        actor=actor,
    )
    return InvitationOut(
        user=_user_out(session, made.user), again=made.again, expires_at=made.link.expires_at
    )


@router.post(
    "/invitations/import",
    name="api.invitations.import",
    tags=["users"],
    response_model=ImportOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv; charset=utf-8": {"schema": {"type": "string"}}},
        }
    },
)
@transactional
def import_invitations(
    session: SessionDep,
    request: Request,
    actor: Actor,
    raw: RawBody,
    dry_run: Annotated[bool, Query(description="true: check every row and invite no one.")] = False,
) -> ImportOut:
    """Invite everyone in a CSV file (UTF-8; a header row naming the columns name,
    email, agency and roles; several roles separated by semicolons). With
    ``dry_run=true`` each row comes back with its problems (unknown agency, bad e-mail
    address, the same address twice in the file, an existing account, a role the
    caller may not give) and nothing is written. Otherwise everyone is invited, or, if
    any row has a problem, no one (422 naming each row)."""
    if not links.may_invite(actor):
        raise links.InviteRefused("Only administrators and agency leads invite people.")
    text = links.read_csv(raw)
    made: list[links.Invitation] = []
    if dry_run:
        rows = links.check_import(session, text=text, actor=actor)
    else:
        rows, made = links.import_invitations(
            session, text=text, settings=_settings(request), actor=actor
        )
    return ImportOut(
        dry_run=dry_run,
        invited=len(made),
        rows=[
            ImportRowOut(
                line=r.line,
                name=r.name,
                email=r.email,
                agency=r.agency,
                roles=r.roles_text,
                problems=r.problems,
            )
            for r in rows
        ],
    )


@router.post(
    "/password-reset",
    name="api.auth.password_reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PasswordResetOut,
    tags=["signing in"],
)
@transactional
def ask_for_password_reset(
    session: SessionDep, request: Request, body: PasswordResetIn
) -> PasswordResetOut | JSONResponse:
    """Ask for a link to reset the password of the account with this e-mail address.
    The answer is the same whether or not there is such an account (an unknown or
    disabled address is sent nothing), and an account is sent at most a few links an
    hour. The link works once, for ``account_link_hours``; the new password ends every
    session and revokes every API token of the person, and the authenticator code is
    still asked for at the next sign-in. Requests count against the client address's
    allowance of sign-in attempts a minute (429)."""
    try:
        links.request_reset(
            session,
            email=body.email,
            client_address=_address(request),
            settings=_settings(request),
        )
    except signin.TooManyAttempts as exc:
        return _refused(exc)
    return PasswordResetOut(detail=links.RESET_ASKED)


# --- requests for an account (single sign-on) and access reviews ---------------------------


def _registration_out(found) -> RegistrationOut:
    return RegistrationOut(
        id=found.id,
        provider=found.provider,
        email=found.email,
        display_name=found.display_name,
        agency_id=found.agency_id,
        requested_at=found.requested_at,
        decision=found.decision,
        decided_by=found.decided_by_label or None,
        decided_at=found.decided_at,
        user_id=found.user_id,
        reason=found.reason,
    )


@router.get("/registrations", name="api.registrations.list", tags=["users"])
@transactional
def list_registrations(session: SessionDep, actor: Actor) -> list[RegistrationOut]:
    """Requests for an account waiting for you, oldest first: every one for an
    administrator, your own agency's for an agency lead."""
    return [_registration_out(r) for r in sso.pending(session, actor=actor)]


@router.get("/registrations/{registration_id}", name="api.registrations.get", tags=["users"])
@transactional
def get_registration(session: SessionDep, actor: Actor, registration_id: IdPath) -> RegistrationOut:
    """One request, waiting or decided (an agency lead: their own agency's)."""
    return _registration_out(sso.visible(session, actor=actor, registration_id=registration_id))


@router.post(
    "/registrations/{registration_id}/decision",
    name="api.registrations.decide",
    tags=["users"],
    responses={404: {"description": "No such request waiting for you."}},
)
@transactional
def decide_registration(
    session: SessionDep, actor: Actor, registration_id: IdPath, body: RegistrationDecide
) -> RegistrationOut:
    """Approve a request with the roles to give (an agency lead: auditor, agency lead or
    practitioner; administrator, moderator and scrutineer wait for a second
    administrator), or refuse it with a reason the person is shown."""
    if body.decision == "approve":
        sso.approve(session, actor=actor, registration_id=registration_id, roles=set(body.roles))
    else:
        sso.refuse(session, actor=actor, registration_id=registration_id, reason=body.reason)
    return _registration_out(sso.visible(session, actor=actor, registration_id=registration_id))


@router.get("/access-reviews/{review_id}", name="api.access_reviews.get", tags=["users"])
@transactional
def get_access_review(session: SessionDep, actor: Actor, review_id: IdPath) -> AccessReviewOut:
    """An agency's access review: for administrators, and for that agency's lead."""
    found = leavers.visible_review(session, actor=actor, review_id=review_id)
    return AccessReviewOut(
        id=found.id,
        agency_id=found.agency_id,
        reviewed_by=found.reviewed_by_label,
        reviewed_at=found.reviewed_at,
        kept=list(found.kept),
        removed=list(found.removed),
    )
