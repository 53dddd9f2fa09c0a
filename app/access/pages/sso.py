"""Pages: signing in with an organisation's identity provider (OpenID Connect,
app/access/sso.py), and the requests for an account it brings, which administrators
and agency leads decide."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.access import signin, sso
from app.access.browser import client_address, is_secure, settings_of
from app.access.models import Role
from app.access.pages.signin import after_sign_in, safe_next
from app.access.pages.users import ROLE_LABELS
from app.access.policy import Actor
from app.access.policy import Permission as P
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.errors import FieldError, InvalidInput
from app.forms import FormState
from app.templating import flash, redirect, render, url

router = APIRouter(include_in_schema=False)


def _callback_url(request: Request, key: str) -> str:
    """The redirect URI registered with the provider: the service's public address."""
    public = settings_of(request).public_url.rstrip("/")
    return public + url(request, "access.sso_callback", provider=key)


@router.get("/sign-in/sso/{provider}", name="access.sso_start")
@transactional(writes=True)  # the attempt is kept until the provider sends them back
def sso_start(session: SessionDep, request: Request, provider: str, next: str = "") -> Response:
    """Leave for the provider, remembering where the person was going."""
    try:
        target, browser = sso.start(
            session,
            settings=settings_of(request),
            key=provider,
            redirect_uri=_callback_url(request, provider),
            next_path=safe_next(request, next),
        )
    except sso.SsoRefused as refused:
        return _refused_page(request, refused)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        sso.BROWSER_COOKIE,
        browser,
        max_age=sso.ATTEMPT_MINUTES * 60,
        path=url(request, "access.sso_start", provider=provider),  # and its callback
        secure=is_secure(request),
        httponly=True,
        samesite="lax",  # the provider sends the browser back with a top-level GET
    )
    return response


@router.get("/sign-in/sso/{provider}/callback", name="access.sso_callback")
@transactional(writes=True, keep_refusals=True)  # a refusal is logged; the attempt stays used
def sso_callback(
    session: SessionDep,
    request: Request,
    provider: str,
    state: str = "",
    code: str = "",
    error: str = "",
) -> Response:
    """Back from the provider: check everything it sent, find the account, sign in."""
    settings = settings_of(request)
    try:
        identity, next_ = sso.finish(
            session,
            settings=settings,
            key=provider,
            state=state[:200],
            code=code[:2000],
            browser=request.cookies.get(sso.BROWSER_COOKIE, ""),
            redirect_uri=_callback_url(request, provider),
            error=error[:200],
        )
        user = sso.account_for(session, settings=settings, identity=identity)
    except sso.SsoRefused as refused:
        return _refused_page(request, refused)
    except sso.RegistrationWaiting as waiting:
        return render(
            request,
            "access/sso_waiting.html",
            {"message": waiting.message},
            status_code=waiting.status_code,
        )
    web, plain, status = signin.sign_in_with_provider(
        session,
        user=user,
        provider=identity.provider,
        mfa=identity.mfa,
        client_address=client_address(request),
        user_agent=request.headers.get("user-agent", "")[:300],
        settings=settings,
    )
    response = after_sign_in(
        session, request, web, plain, status, next_ or url(request, "access.home")
    )
    response.delete_cookie(
        sso.BROWSER_COOKIE, path=url(request, "access.sso_start", provider=provider)
    )
    return response


def _refused_page(request: Request, refused: sso.SsoRefused) -> Response:
    return render(
        request,
        "access/sso_refused.html",
        {"message": refused.message},
        status_code=refused.status_code,
    )


# --- requests for an account -------------------------------------------------------------


def _roles_for(actor: Actor) -> list[tuple[str, str]]:
    allowed = Role if actor.may(P.USER_MANAGE) else sso.LEAD_MAY_GIVE
    return [(r.value, label) for r, label in ROLE_LABELS.items() if r in allowed]


@router.get("/admin/registrations", name="access.registrations")
@transactional
def registrations(session: SessionDep, request: Request, actor: Actor) -> Response:
    """People who signed in with their organisation's account and asked for one."""
    return render(
        request, "access/registrations.html", {"requests": sso.pending(session, actor=actor)}
    )


def _decision_page(session, request, actor, registration_id: int, *, form=None, status_code=200):
    asked = sso.waiting(session, actor=actor, registration_id=registration_id)
    return render(
        request,
        "access/registration.html",
        {
            "r": asked,
            "roles": _roles_for(actor),
            "form": form or FormState(),
            "decisions": [("approve", "Approve: give them an account"), ("refuse", "Refuse")],
        },
        status_code=status_code,
    )


@router.get("/admin/registrations/{registration_id}", name="access.registration")
@transactional
def registration(
    session: SessionDep, request: Request, actor: Actor, registration_id: IdPath
) -> Response:
    return _decision_page(session, request, actor, registration_id)


@router.post("/admin/registrations/{registration_id}", name="access.registration_decide")
@transactional
def registration_decide(
    session: SessionDep,
    request: Request,
    actor: Actor,
    registration_id: IdPath,
    posted: PostedForm,
) -> Response:
    decision = posted.one("decision")
    try:
        if decision == "approve":
            chosen = posted.all("roles")
            known = {value for value, _label in _roles_for(actor)}
            if any(r not in known for r in chosen):
                raise InvalidInput(
                    "Choose roles from the list.",
                    fields=[FieldError("roles", "Choose roles from the list")],
                )
            user = sso.approve(
                session,
                actor=actor,
                registration_id=registration_id,
                roles={Role(r) for r in chosen},
            )
            flash(f"{user.display_name} has an account and can sign in now.")
        elif decision == "refuse":
            sso.refuse(
                session, actor=actor, registration_id=registration_id, reason=posted.one("reason")
            )
            flash("The request has been refused.")
        else:
            raise InvalidInput(
                "Choose whether to approve or refuse the request.",
                fields=[FieldError("decision", "Choose whether to approve or refuse the request")],
            )
    except InvalidInput as exc:
        form = FormState(
            values={
                "decision": decision,
                "roles": posted.all("roles"),
                "reason": posted.one("reason"),
            },
            errors={f.field: f.message for f in exc.fields} or {"decision": exc.message},
        )
        return _decision_page(session, request, actor, registration_id, form=form, status_code=422)
    return redirect(request, "access.registrations")
