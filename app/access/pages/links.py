"""Pages for one-time links (app/access/links.py): inviting people, one at a time or
many from a CSV file; accepting an invitation; "Forgot your password?" and resetting
it.

An administrator invites from the users pages (any agency, any roles); an agency lead
from their agency's page (their own agency, as auditor, agency lead or practitioner;
an administrator who opens it is sent to the users pages).
A CSV file is checked first, every row shown with its problems and nothing written;
"Send" then invites everyone in it or, if any row has a problem, no one.

The public pages (accepting, asking for a reset, resetting) are bound to the browser
that showed them, as the sign-in form is (app.access.csrf): another site cannot post
them for someone. Accepting an invitation sets the password and then signs in with
it, so a new person goes on to set up their authenticator app as anyone without one
does (app/access/pages/signin.py); a reset signs no one in: the authenticator code is
asked for at the next sign-in as usual.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.routing import NoMatchFound

from app.access import grants, links, signin
from app.access.browser import (
    clear_session_cookie,
    client_address,
    set_sign_in_cookie,
    settings_of,
    sign_in_key,
    sign_in_key_from,
)
from app.access.csrf import CSRF_FIELD, sent_from_elsewhere, sign_in_token_for, sign_in_token_valid
from app.access.models import LinkPurpose, Role, User
from app.access.pages.signin import after_sign_in
from app.access.pages.users import ACCOUNT_MESSAGES, ROLE_HINTS, ROLE_LABELS
from app.access.policy import Actor
from app.access.schemas import InvitationCreate, PasswordIn, PasswordResetIn
from app.access.secrets import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app.agencies import service as agencies
from app.agencies.models import Agency
from app.deps import PostedForm, SessionDep, transactional
from app.errors import AppError, InvalidInput
from app.forms import Form, FormInvalid, FormState, Posted, undone_if_refused
from app.pagination import MAX_PER_PAGE, PageParams
from app.templating import flash, redirect, render, url

router = APIRouter(include_in_schema=False)

INVITE = Form(
    InvitationCreate,
    fields=("display_name", "email", "roles", "agency_id"),
    lists=frozenset({"roles"}),
    messages=ACCOUNT_MESSAGES,
    refusals={"email": "Someone with this email address already has an account"},
)
PASSWORD = Form(
    PasswordIn,
    fields=("password",),
    messages={
        ("password", "string_too_long"): (
            f"The password must be {MAX_PASSWORD_LENGTH} characters or fewer"
        ),
    },
)
FORGOT = Form(
    PasswordResetIn,
    fields=("email",),
    messages={
        "email": "Enter your email address",
        ("email", "string_too_long"): "Email address must be 320 characters or fewer",
        ("email", "invalid"): "Enter an email address in the correct format, like name@example.org",
    },
)
EXPIRED = "The page had expired. Enter your details again"


# --- inviting one person -------------------------------------------------------------------


def _role_items(as_lead: bool) -> list[dict]:
    return [
        {"value": role.value, "text": label, "hint": ROLE_HINTS[role]}
        for role, label in ROLE_LABELS.items()
        if not as_lead or role in links.LEAD_MAY_GIVE
    ]


def _agency_items(session: Session) -> list[tuple[int, str]]:
    items, _total = agencies.list_agencies(session, params=PageParams(1, MAX_PER_PAGE), active=True)
    return [(a.id, a.name) for a in items]


def _own_agency(session: Session, actor: Actor) -> Agency | None:
    return session.get(Agency, actor.agency_id) if actor.agency_id else None


def _invite_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    as_lead: bool,
    form: FormState,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "access/invite.html",
        {
            "form": form,
            "as_lead": as_lead,
            "roles": _role_items(as_lead),
            "agencies": [] if as_lead else _agency_items(session),
            "agency": _own_agency(session, actor) if as_lead else None,
            "hours": settings_of(request).account_link_hours,
        },
        status_code=status_code,
    )


def _invite(
    session: Session, request: Request, actor: Actor, posted: Posted, *, as_lead: bool
) -> Response:
    try:
        # A lead's page has no agency to choose: theirs.
        body = INVITE.read(posted, **({"agency_id": actor.agency_id} if as_lead else {}))
        with INVITE.submitting(session, posted):
            made = links.invite(
                session,
                email=body.email,
                display_name=body.display_name,
                roles=set(body.roles),
                agency_id=body.agency_id,
                settings=settings_of(request),
                actor=actor,
            )
    except FormInvalid as invalid:
        shown = invalid.state(posted.shown(INVITE.lists))
        return _invite_page(
            request, session, actor, as_lead=as_lead, form=shown, status_code=invalid.status_code
        )
    flash(f"An invitation has been sent to {made.user.email}.{_waiting(session, made.user)}")
    return redirect(request, "access.agency_invite" if as_lead else "access.users")


def _waiting(session: Session, user: User) -> str:
    grant = grants.pending_for(session, user_ids=[user.id]).get(user.id)
    if grant is None:
        return ""
    asked = [
        ROLE_LABELS[Role(r)].lower() for r in grant.roles if Role(r) in grants.NEEDS_SECOND_ADMIN
    ]
    return (
        f" Giving them the {' and '.join(asked)} role needs another administrator's "
        "approval: the request is waiting."
    )


@router.get("/admin/users/invite", name="access.invite")
@transactional
def invite_form(session: SessionDep, request: Request, actor: Actor) -> Response:
    return _invite_page(request, session, actor, as_lead=False, form=INVITE.state())


@router.post("/admin/users/invite", name="access.invite_submit")
@transactional
def invite_submit(
    session: SessionDep, request: Request, actor: Actor, posted: PostedForm
) -> Response:
    return _invite(session, request, actor, posted, as_lead=False)


@router.get("/agency/people/invite", name="access.agency_invite")
@transactional
def agency_invite_form(session: SessionDep, request: Request, actor: Actor) -> Response:
    """An agency lead invites people to their own agency (an administrator, from the
    users pages)."""
    if not links.lead_only(actor):
        return redirect(request, "access.invite")
    return _invite_page(request, session, actor, as_lead=True, form=INVITE.state())


@router.post("/agency/people/invite", name="access.agency_invite_submit")
@transactional
def agency_invite_submit(
    session: SessionDep, request: Request, actor: Actor, posted: PostedForm
) -> Response:
    return _invite(session, request, actor, posted, as_lead=links.lead_only(actor))


# --- inviting many, from a CSV file ----------------------------------------------------------


async def _uploaded(request: Request) -> bytes | None:
    """The CSV file chosen on the upload page, read on the event loop; None if none was."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return None
    chosen = (await request.form()).get("file")
    if not isinstance(chosen, UploadFile) or not chosen.filename:
        return None
    return await chosen.read(links.IMPORT_MAX_BYTES + 1)


Uploaded = Annotated[bytes | None, Depends(_uploaded)]


def _upload_page(request: Request, *, as_lead: bool, form: FormState, status_code: int = 200):
    return render(
        request,
        "access/invite_import.html",
        {
            "form": form,
            "as_lead": as_lead,
            "roles": [
                (r.value, ROLE_LABELS[r])
                for r in ROLE_LABELS
                if not as_lead or r in links.LEAD_MAY_GIVE
            ],
            "max_rows": links.IMPORT_MAX_ROWS,
        },
        status_code=status_code,
    )


def _check_page(
    request: Request, session: Session, actor: Actor, *, as_lead: bool, text: str
) -> Response:
    """Every row of the file with its problems; "Send" only when there are none."""
    try:
        rows = links.check_import(session, text=text, actor=actor)
    except InvalidInput as exc:
        return _upload_page(
            request, as_lead=as_lead, form=FormState(errors={"file": exc.message}), status_code=422
        )
    bad = [r for r in rows if r.problems]
    errors = {f"row-{r.line}": f"Row {r.line}: {'; '.join(r.problems)}" for r in bad}
    return render(
        request,
        "access/invite_check.html",
        {
            "form": FormState(errors=errors),
            "as_lead": as_lead,
            "rows": rows,
            "bad": len(bad),
            "file": base64.urlsafe_b64encode(text.encode()).decode(),
            "role_labels": {r.value: label for r, label in ROLE_LABELS.items()},
        },
        status_code=422 if bad else 200,
    )


def _check(session, request, actor, raw: bytes | None, *, as_lead: bool) -> Response:
    if raw is None:
        chosen = FormState(errors={"file": "Choose a CSV file"})
        return _upload_page(request, as_lead=as_lead, form=chosen, status_code=422)
    try:
        text = links.read_csv(raw)
    except InvalidInput as exc:
        failed = FormState(errors={"file": exc.message})
        return _upload_page(request, as_lead=as_lead, form=failed, status_code=422)
    return _check_page(request, session, actor, as_lead=as_lead, text=text)


def _send(session, request, actor, posted: Posted, *, as_lead: bool) -> Response:
    """Invite everyone in the file checked, or no one: it is checked again as it is sent
    (an account made meanwhile is a problem now)."""
    try:
        text = base64.urlsafe_b64decode(posted.one("file").encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text:
        lost = FormState(errors={"file": "Choose a CSV file"})
        return _upload_page(request, as_lead=as_lead, form=lost, status_code=422)
    try:
        with undone_if_refused(session):
            _rows, made = links.import_invitations(
                session, text=text, settings=settings_of(request), actor=actor
            )
    except AppError:
        return _check_page(request, session, actor, as_lead=as_lead, text=text)
    flash(f"{len(made)} invitation{'s' if len(made) != 1 else ''} sent.")
    return redirect(request, "access.agency_invite" if as_lead else "access.users")


@router.get("/admin/users/import", name="access.invite_import")
@transactional
def invite_import(session: SessionDep, request: Request) -> Response:
    return _upload_page(request, as_lead=False, form=FormState())


@router.post("/admin/users/import", name="access.invite_import_check")
@transactional
def invite_import_check(
    session: SessionDep, request: Request, actor: Actor, raw: Uploaded
) -> Response:
    """The dry run: every row of the file and its problems; nothing is written."""
    return _check(session, request, actor, raw, as_lead=False)


@router.post("/admin/users/import/send", name="access.invite_import_send")
@transactional
def invite_import_send(
    session: SessionDep, request: Request, actor: Actor, posted: PostedForm
) -> Response:
    return _send(session, request, actor, posted, as_lead=False)


@router.get("/agency/people/import", name="access.agency_invite_import")
@transactional
def agency_invite_import(session: SessionDep, request: Request, actor: Actor) -> Response:
    if not links.lead_only(actor):
        return redirect(request, "access.invite_import")
    return _upload_page(request, as_lead=True, form=FormState())


@router.post("/agency/people/import", name="access.agency_invite_import_check")
@transactional
def agency_invite_import_check(
    session: SessionDep, request: Request, actor: Actor, raw: Uploaded
) -> Response:
    return _check(session, request, actor, raw, as_lead=links.lead_only(actor))


@router.post("/agency/people/import/send", name="access.agency_invite_import_send")
@transactional
def agency_invite_import_send(
    session: SessionDep, request: Request, actor: Actor, posted: PostedForm
) -> Response:
    return _send(session, request, actor, posted, as_lead=links.lead_only(actor))


# --- the public pages: bound to the browser that showed them ----------------------------------


# A page whose address holds a link's token links nowhere with that address: the
# footer's support links would otherwise hand it on (base.html's ``from``).
TOKEN_NOT_HANDED_ON = {"footer_from": None, "here": ""}


def _public(request: Request, template: str, context: dict, *, status_code: int = 200):
    """A public page whose form carries this browser's sign-in token (login CSRF)."""
    key = sign_in_key(request)
    token = sign_in_token_for(key, settings_of(request).secret_key)
    response = render(
        request,
        template,
        {**context, **TOKEN_NOT_HANDED_ON, "browser_token": token},
        status_code=status_code,
    )
    set_sign_in_cookie(response, request, key)
    return response


def _from_this_browser(request: Request, posted: Posted) -> bool:
    settings = settings_of(request)
    if sent_from_elsewhere(request, [settings.public_url]):
        return False
    return sign_in_token_valid(
        sign_in_key_from(request), settings.secret_key, posted.one(CSRF_FIELD)
    )


def _link_refused(request: Request) -> Response:
    """One page for every link that does not work, whoever it was for."""
    return render(
        request,
        "access/accept_refused.html",
        {"message": links.LINK_REFUSED, **TOKEN_NOT_HANDED_ON},
        status_code=404,
    )


def _password(posted: Posted) -> str:
    """The new password, or FormInvalid: blank, too long (the service checks the rest)."""
    if not posted.one("password"):
        raise PASSWORD.invalid({"password": "Enter a password"})
    return PASSWORD.read(posted).password


def _sso(request: Request, email: str) -> dict | None:
    """The "Sign in with <organisation>" button, where the person's domain signs in with single
    sign-on and the service has its sign-in route."""
    provider = links.sso_provider_for(email, settings_of(request))
    if provider is None:
        return None
    try:
        href = url(request, "access.sso_start", provider=provider.key)
    except NoMatchFound:
        return None
    return {"name": provider.name, "href": href}


def _accept_page(request: Request, user: User, token: str, form: FormState, status_code=200):
    return _public(
        request,
        "access/accept.html",
        {
            "form": form,
            "user": user,
            "token": token,
            "sso": _sso(request, user.email),
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status_code=status_code,
    )


@router.get(links.INVITATION_PATH, name="access.invitation")
@transactional
def invitation(session: SessionDep, request: Request, token: str) -> Response:
    """The page an invitation's link opens: choose a password (or use single sign-on).
    Only showing it uses nothing up: mail scanners open links too."""
    try:
        _link, user = links.find_link(session, token=token, purpose=LinkPurpose.INVITATION)
    except links.LinkRefused:
        return _link_refused(request)
    return _accept_page(request, user, token, PASSWORD.state())


@router.post(links.INVITATION_PATH, name="access.invitation_submit")
@transactional
def invitation_submit(
    session: SessionDep, request: Request, posted: PostedForm, token: str
) -> Response:
    """Set the password, use the link up, and sign in with the password: next, setting
    up the authenticator app (or the code, or nothing, as signing in decides)."""
    try:
        _link, user = links.find_link(session, token=token, purpose=LinkPurpose.INVITATION)
    except links.LinkRefused:
        return _link_refused(request)
    if not _from_this_browser(request, posted):
        expired = FormState(errors={"password": EXPIRED})
        return _accept_page(request, user, token, expired, status_code=400)
    try:
        password = _password(posted)
        with PASSWORD.submitting(session, posted):
            links.accept_invitation(session, token=token, password=password)
    except links.LinkRefused:
        return _link_refused(request)
    except FormInvalid as invalid:
        return _accept_page(request, user, token, invalid.state({}), invalid.status_code)
    settings = settings_of(request)
    try:
        web, plain, status = signin.sign_in(
            session,
            email=user.email,
            password=password,
            client_address=client_address(request),
            user_agent=request.headers.get("user-agent", "")[:300],
            settings=settings,
        )
    except (signin.SignInRefused, signin.TooManyAttempts):
        # The password is set all the same: they sign in on the sign-in page.
        return render(request, "access/accept_done.html", {})
    return after_sign_in(session, request, web, plain, status, url(request, "access.home"))


@router.get("/forgot-password", name="access.forgot")
@transactional
def forgot(session: SessionDep, request: Request) -> Response:
    """Forgot your password? Ask for a link to reset it (the sign-in page links here)."""
    return _public(request, "access/reset_request.html", {"form": FORGOT.state()})


@router.post("/forgot-password", name="access.forgot_submit")
@transactional
def forgot_submit(session: SessionDep, request: Request, posted: PostedForm) -> Response:
    """The same answer for every address, with an account or without (app/access/links.py)."""
    shown = {"email": posted.one("email")}
    try:
        if not _from_this_browser(request, posted):
            raise FORGOT.invalid({"email": EXPIRED}, status_code=400, posted=posted)
        body = FORGOT.read(posted)
        links.request_reset(
            session,
            email=body.email,
            client_address=client_address(request),
            settings=settings_of(request),
        )
    except FormInvalid as invalid:
        page = {"form": invalid.state(shown)}
        return _public(request, "access/reset_request.html", page, status_code=invalid.status_code)
    except signin.TooManyAttempts as exc:
        page = {"form": FormState(values=shown, errors={"email": exc.message})}
        refused = _public(request, "access/reset_request.html", page, status_code=429)
        refused.headers.update(exc.headers)
        return refused
    return redirect(request, "access.reset_sent")


@router.get("/forgot-password/sent", name="access.reset_sent")
@transactional
def reset_sent(session: SessionDep, request: Request) -> Response:
    return render(
        request,
        "access/reset_sent.html",
        {"message": links.RESET_ASKED, "hours": settings_of(request).account_link_hours},
    )


def _reset_page(request: Request, token: str, form: FormState, status_code: int = 200):
    page = {"form": form, "token": token, "min_password": MIN_PASSWORD_LENGTH}
    return _public(request, "access/reset.html", page, status_code=status_code)


@router.get(links.RESET_PATH, name="access.reset")
@transactional
def reset(session: SessionDep, request: Request, token: str) -> Response:
    """The page a reset link opens: choose a new password (showing it uses nothing up)."""
    try:
        links.find_link(session, token=token, purpose=LinkPurpose.RESET)
    except links.LinkRefused:
        return _link_refused(request)
    return _reset_page(request, token, PASSWORD.state())


@router.post(links.RESET_PATH, name="access.reset_submit")
@transactional
def reset_submit(session: SessionDep, request: Request, posted: PostedForm, token: str) -> Response:
    """Set the new password and use the link up: every session of the person ends (this
    browser's too) and every token of theirs is revoked."""
    try:
        links.find_link(session, token=token, purpose=LinkPurpose.RESET)
    except links.LinkRefused:
        return _link_refused(request)
    if not _from_this_browser(request, posted):
        return _reset_page(request, token, FormState(errors={"password": EXPIRED}), 400)
    try:
        password = _password(posted)
        with PASSWORD.submitting(session, posted):
            links.reset_password(session, token=token, password=password)
    except links.LinkRefused:
        return _link_refused(request)
    except FormInvalid as invalid:
        return _reset_page(request, token, invalid.state({}), invalid.status_code)
    response = redirect(request, "access.reset_done")
    clear_session_cookie(response, request)
    return response


@router.get("/password-changed", name="access.reset_done")
@transactional
def reset_done(session: SessionDep, request: Request) -> Response:
    return render(request, "access/reset_done.html", {})
