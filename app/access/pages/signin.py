"""Signing in and out in the browser: email and password, then the authenticator
code (or, the first time, setting up the authenticator app)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.access import signin
from app.access.auth import live_session, session_token_from
from app.access.browser import (
    clear_session_cookie,
    client_address,
    set_session_cookie,
    settings_of,
)
from app.access.models import User, WebSession
from app.access.policy import Actor, Permission, Role
from app.deps import FormData, SessionDep, transactional
from app.templating import render

router = APIRouter(include_in_schema=False)

REFUSALS = (signin.SignInRefused, signin.CodeRefused, signin.TooManyAttempts)


def safe_next(value: str | None) -> str:
    """Where to go after signing in: only a path on this service, never another site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _page(request, template, *, next_, errors=None, status_code=200, **context):
    errors = errors or {}
    return render(
        request,
        template,
        {
            "next": next_,
            "errors": [{"text": text, "href": f"#{field}"} for field, text in errors.items()],
            "errors_by_field": errors,
            **context,
        },
        status_code=status_code,
    )


def _pending(session: Session, request: Request) -> WebSession | None:
    token = session_token_from(request)
    return live_session(session, token, settings_of(request)) if token else None


@router.get("/", name="access.home")
@transactional
def home(session: SessionDep, request: Request, actor: Actor) -> Response:
    """The start page: sign in, or go to the work that is yours."""
    if actor.user_id is None:
        return RedirectResponse("/sign-in", status_code=303)
    if Role.AUDITOR in actor.roles:
        return RedirectResponse("/my-work", status_code=303)
    if actor.may(Permission.AUDIT_READ):
        return RedirectResponse("/audits", status_code=303)
    return RedirectResponse("/library", status_code=303)


@router.get("/sign-in", name="access.sign_in")
@transactional
def sign_in_form(session: SessionDep, request: Request, next: str = "") -> Response:
    return _page(request, "access/sign_in.html", next_=safe_next(next), email="")


@router.post("/sign-in", name="access.sign_in_submit")
@transactional(keep_refusals=True)  # a refused attempt still counts
def sign_in_submit(session: SessionDep, request: Request, form: FormData) -> Response:
    email = form.get("email", "").strip()
    password = form.get("password", "")
    next_ = safe_next(form.get("next"))
    errors = {}
    if not email:
        errors["email"] = "Enter your email address"
    if not password:
        errors["password"] = "Enter your password"
    if errors:
        return _page(
            request, "access/sign_in.html", next_=next_, email=email, errors=errors, status_code=422
        )
    try:
        web, plain, status = signin.sign_in(
            session,
            email=email,
            password=password,
            client_address=client_address(request),
            user_agent=request.headers.get("user-agent", "")[:300],
            settings=settings_of(request),
        )
    except REFUSALS as exc:
        # Refused attempts still count: the throttle's row is committed with the page.
        return _page(
            request,
            "access/sign_in.html",
            next_=next_,
            email=email,
            errors={"email": exc.message},
            status_code=exc.status_code,
        )
    target = {
        signin.SignInStatus.SIGNED_IN: next_,
        signin.SignInStatus.SECOND_FACTOR_REQUIRED: f"/sign-in/code?next={next_}",
        signin.SignInStatus.ENROL: f"/sign-in/set-up?next={next_}",
    }[status]
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, plain, web)
    return response


@router.get("/sign-in/code", name="access.code")
@transactional
def code_form(session: SessionDep, request: Request, next: str = "") -> Response:
    if _pending(session, request) is None:
        return RedirectResponse("/sign-in", status_code=303)
    return _page(request, "access/code.html", next_=safe_next(next))


@router.post("/sign-in/code", name="access.code_submit")
@transactional(keep_refusals=True)  # a refused attempt still counts
def code_submit(session: SessionDep, request: Request, form: FormData) -> Response:
    next_ = safe_next(form.get("next"))
    web = _pending(session, request)
    if web is None:
        return RedirectResponse("/sign-in", status_code=303)
    code = form.get("code", "").strip()
    if not code:
        return _page(
            request,
            "access/code.html",
            next_=next_,
            errors={"code": "Enter the code"},
            status_code=422,
        )
    try:
        web, plain = signin.second_factor(
            session,
            web_session=web,
            code=code,
            client_address=client_address(request),
            settings=settings_of(request),
        )
    except REFUSALS as exc:
        return _page(
            request,
            "access/code.html",
            next_=next_,
            errors={"code": exc.message},
            status_code=exc.status_code,
        )
    response = RedirectResponse(next_, status_code=303)
    set_session_cookie(response, request, plain, web)
    return response


@router.get("/sign-in/set-up", name="access.set_up")
@transactional
def set_up_form(session: SessionDep, request: Request, next: str = "") -> Response:
    web = _pending(session, request)
    user = session.get(User, web.user_id) if web else None
    if user is None or user.totp_confirmed_at is not None or not user.totp_secret:
        return RedirectResponse("/sign-in", status_code=303)
    return _page(request, "access/set_up.html", next_=safe_next(next), secret=user.totp_secret)


@router.post("/sign-in/set-up", name="access.set_up_submit")
@transactional(keep_refusals=True)  # a refused attempt still counts
def set_up_submit(session: SessionDep, request: Request, form: FormData) -> Response:
    next_ = safe_next(form.get("next"))
    web = _pending(session, request)
    user = session.get(User, web.user_id) if web else None
    if user is None or not user.totp_secret:
        return RedirectResponse("/sign-in", status_code=303)
    code = form.get("code", "").strip()
    try:
        if not code:
            raise signin.CodeRefused("Enter the code the app shows")
        web, plain, codes = signin.confirm_enrolment(
            session,
            web_session=web,
            code=code,
            client_address=client_address(request),
            settings=settings_of(request),
        )
    except REFUSALS as exc:
        return _page(
            request,
            "access/set_up.html",
            next_=next_,
            secret=user.totp_secret,
            errors={"code": exc.message},
            status_code=exc.status_code if code else 422,
        )
    response = _page(request, "access/recovery_codes.html", next_=next_, codes=codes)
    set_session_cookie(response, request, plain, web)
    return response


@router.post("/sign-out", name="access.sign_out")
@transactional
def sign_out(session: SessionDep, request: Request, actor: Actor) -> Response:
    if actor.via == "session":
        signin.sign_out(session, web_session=session.get(WebSession, actor.credential_id))
    response = RedirectResponse("/sign-in", status_code=303)
    clear_session_cookie(response, request)
    return response
