"""Signing in and out in the browser: email and password, then the authenticator
code (or, the first time, setting up the authenticator app)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app import clock
from app.access import kept, signin
from app.access.auth import current_web_session, live_session, session_token_from
from app.access.browser import (
    clear_session_cookie,
    client_address,
    set_session_cookie,
    set_sign_in_cookie,
    settings_of,
    sign_in_key,
    sign_in_key_from,
)
from app.access.csrf import CSRF_FIELD, sent_from_elsewhere, sign_in_token_for, sign_in_token_valid
from app.access.models import User, WebSession
from app.access.policy import Actor
from app.agencies.models import Agency
from app.audit_templates.models import KeyArea
from app.audits.models import Child
from app.deps import PostedForm, SessionDep, transactional
from app.forms import FormState
from app.home import service as attention
from app.returns.models import Return
from app.templating import came_from, flash, local_path, redirect, render, url

router = APIRouter(include_in_schema=False)

REFUSALS = (signin.SignInRefused, signin.CodeRefused, signin.TooManyAttempts)


def safe_next(request: Request, value: str | None) -> str:
    """Where to go after signing in: only a path on this service, never another site."""
    return local_path(value, url(request, "access.home"))


def _page(request, template, *, next_, values=None, errors=None, status_code=200, **context):
    return render(
        request,
        template,
        {"next": next_, "form": FormState(values=values or {}, errors=errors or {}), **context},
        status_code=status_code,
    )


def _sign_in_page(request, *, next_, values=None, errors=None, status_code=200, **context):
    """The sign-in form, with its token for this browser's sign-in key (login CSRF:
    app.access.csrf)."""
    key = sign_in_key(request)
    token = sign_in_token_for(key, settings_of(request).secret_key)
    response = _page(
        request,
        "access/sign_in.html",
        next_=next_,
        values=values,
        errors=errors,
        status_code=status_code,
        sign_in_token=token,
        providers=[(p.key, p.name) for p in settings_of(request).sso_providers],
        **context,
    )
    set_sign_in_cookie(response, request, key)
    return response


def _sign_in_form_is_ours(request: Request, posted) -> bool:
    """The sign-in form was posted from this service's own page in this browser."""
    settings = settings_of(request)
    if sent_from_elsewhere(request, [settings.public_url]):
        return False
    given = posted.one(CSRF_FIELD)
    return sign_in_token_valid(sign_in_key_from(request), settings.secret_key, given)


def _pending(session: Session, request: Request) -> WebSession | None:
    token = session_token_from(request)
    return live_session(session, token, settings_of(request)) if token else None


@router.get("/", name="access.home")
@transactional
def home(session: SessionDep, request: Request, actor: Actor) -> Response:
    """The start page: sign in, or what needs your attention (app/home/service.py)."""
    if actor.user_id is None:
        return redirect(request, "access.sign_in")
    start = attention.start_page(session, actor=actor, today=clock.today())
    return render(request, "home/start.html", {"start": start})


@router.get("/sign-in", name="access.sign_in")
@transactional
def sign_in_form(session: SessionDep, request: Request, next: str = "") -> Response:
    """Sign in; after a timeout, the page says why and whether work was kept."""
    ended = kept.ended_session(session, request)
    return _sign_in_page(
        request,
        next_=safe_next(request, next),
        timed_out=ended.end_reason if ended else None,
        kept_count=len(kept.waiting(session, user_id=ended.user_id)) if ended else 0,
        idle_minutes=settings_of(request).session_idle_minutes,
    )


@router.post("/sign-in", name="access.sign_in_submit")
@transactional(keep_refusals=True)  # a refused attempt still counts
def sign_in_submit(session: SessionDep, request: Request, posted: PostedForm) -> Response:
    email = posted.one("email").strip()
    password = posted.one("password")
    next_ = safe_next(request, posted.one("next"))
    shown = {"email": email}
    if not _sign_in_form_is_ours(request, posted):
        # Nothing is tried: another site must not sign this browser in to an account
        # of its choosing. A page left open since the browser was closed ends here too.
        return _sign_in_page(
            request,
            next_=next_,
            values=shown,
            errors={"email": "The sign-in page had expired. Enter your details again"},
            status_code=400,
        )
    errors = {}
    if not email:
        errors["email"] = "Enter your email address"
    if not password:
        errors["password"] = "Enter your password"
    if errors:
        return _sign_in_page(
            request,
            next_=next_,
            values=shown,
            errors=errors,
            status_code=422,
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
        refused = _sign_in_page(
            request,
            next_=next_,
            values=shown,
            errors={"email": exc.message},
            status_code=exc.status_code,
        )
        refused.headers.update(getattr(exc, "headers", {}))  # Retry-After, with a 429
        return refused
    return after_sign_in(session, request, web, plain, status, next_)


def after_sign_in(
    session: Session,
    request: Request,
    web: WebSession,
    plain: str,
    status: signin.SignInStatus,
    next_: str,
) -> Response:
    """Where a browser goes once who it is is known (by password, or by its identity
    provider): on to ``next_``, or first to the second factor or to setting one up."""
    if status == signin.SignInStatus.SIGNED_IN and kept.waiting(session, user_id=web.user_id):
        next_ = url(request, "access.kept")  # no second factor asked for: kept work next
    target = {
        signin.SignInStatus.SIGNED_IN: next_,
        signin.SignInStatus.SECOND_FACTOR_REQUIRED: url(
            request, "access.code", query={"next": next_}
        ),
        signin.SignInStatus.ENROL: url(request, "access.set_up", query={"next": next_}),
    }[status]
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, plain, web)
    return response


@router.get("/sign-in/code", name="access.code")
@transactional
def code_form(session: SessionDep, request: Request, next: str = "") -> Response:
    if _pending(session, request) is None:
        return redirect(request, "access.sign_in")
    return _page(request, "access/code.html", next_=safe_next(request, next))


@router.post("/sign-in/code", name="access.code_submit")
@transactional(keep_refusals=True)  # a refused attempt still counts
def code_submit(session: SessionDep, request: Request, posted: PostedForm) -> Response:
    next_ = safe_next(request, posted.one("next"))
    web = _pending(session, request)
    if web is None:
        return redirect(request, "access.sign_in")
    code = posted.one("code").strip()
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
    if kept.waiting(session, user_id=web.user_id):
        next_ = url(request, "access.kept")
    response = RedirectResponse(next_, status_code=303)
    set_session_cookie(response, request, plain, web)
    return response


@router.get("/kept", name="access.kept")
@transactional
def kept_work(session: SessionDep, request: Request, actor: Actor) -> Response:
    """What the person typed before their session timed out, ready to be saved: each
    kept form is posted back to where it was going (with JavaScript, at once)."""
    assert actor.user_id is not None  # the rule asks for a signed-in person
    waiting = kept.waiting(session, user_id=actor.user_id)
    if not waiting:
        return redirect(request, "access.home")
    return render(
        request,
        "access/kept.html",
        {
            "kept": waiting,
            "what": {post.id: _what_was_kept(session, post.path) for post in waiting},
            "back_to_kept": kept.BACK_TO_KEPT,
        },
    )


def _what_was_kept(session: Session, path: str) -> str:
    """Which page a kept form was for, in words: "Child A, Westshire Police: Referral"."""
    found = kept.return_page(path)
    return_ = session.get(Return, found[0]) if found else None
    if found is None or return_ is None:
        return "A form"
    child = session.get(Child, return_.child_id)
    agency = session.get(Agency, return_.agency_id)
    area = session.get(KeyArea, found[1]) if found[1] else None
    page = area.title if area is not None else "Overall grade"
    return f"{child.pseudonym if child else 'A child'}, {agency.name if agency else ''}: {page}"


@router.get("/sign-in/set-up", name="access.set_up")
@transactional
def set_up_form(session: SessionDep, request: Request, next: str = "") -> Response:
    web = _pending(session, request)
    user = session.get(User, web.user_id) if web else None
    if user is None or user.totp_confirmed_at is not None or not user.totp_secret:
        return redirect(request, "access.sign_in")
    return _page(
        request, "access/set_up.html", next_=safe_next(request, next), secret=user.totp_secret
    )


@router.post("/sign-in/set-up", name="access.set_up_submit")
@transactional(keep_refusals=True)  # a refused attempt still counts
def set_up_submit(session: SessionDep, request: Request, posted: PostedForm) -> Response:
    next_ = safe_next(request, posted.one("next"))
    web = _pending(session, request)
    user = session.get(User, web.user_id) if web else None
    if web is None or user is None or not user.totp_secret:
        return redirect(request, "access.sign_in")
    code = posted.one("code").strip()
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


@router.get("/signed-in", name="access.stay")
@transactional
def stay_page(session: SessionDep, request: Request, actor: Actor) -> Response:
    """The timeout warning as a plain page, for a browser without JavaScript: when the
    session will end if nothing is done, and a button to stay signed in."""
    web = current_web_session(session, actor)
    idle = settings_of(request).session_idle_minutes
    ends_at = web.last_seen_at + timedelta(minutes=idle) if web is not None else None
    return render(
        request,
        "access/stay.html",
        {
            "ends_at": ends_at,
            "idle_minutes": idle,
            # Back to the page the warning was on (its link says which).
            "back": came_from(request, url(request, "access.home")),
        },
    )


@router.post("/signed-in", name="access.stay_submit")
@transactional
def stay_signed_in(session: SessionDep, request: Request, actor: Actor) -> Response:
    """Stay signed in: the idle time starts again now (the timeout warning's button,
    and what typing in a return does while the person works)."""
    web = current_web_session(session, actor)
    if web is not None:
        signin.stay_signed_in(session, web_session=web)
    if request.headers.get("x-csrf-token"):  # the warning's script
        return JSONResponse({"idle_seconds": settings_of(request).session_idle_minutes * 60})
    flash("You are still signed in.")
    return redirect(request, "access.stay", query={"from": came_from(request, "")})


@router.post("/sign-out", name="access.sign_out")
@transactional
def sign_out(session: SessionDep, request: Request, actor: Actor) -> Response:
    web = current_web_session(session, actor)
    if web is not None:
        signin.sign_out(session, web_session=web)
    response = redirect(request, "access.sign_in")
    clear_session_cookie(response, request)
    return response
