"""Single sign-on with OpenID Connect: the authorization code flow with PKCE, against
each identity provider the settings name (``AUDIT_SSO_PROVIDERS``). Authlib makes the
authorization request and its PKCE challenge; joserfc (Authlib's JOSE library, which
Authlib now points to for this) checks the ID token; the token request is one POST.

The provider proves who someone is; the service decides what they may do. So:

- only a provider's own ``issuer`` is trusted: its discovery document must name it,
  and an ID token from any other issuer is refused (a multi-tenant endpoint lets in
  only the tenant configured);
- each ID token is checked: its signature against the provider's published keys (RS256
  or ES256 only), its issuer, its audience (this service's client id; with several,
  ``azp`` must be ours), its expiry and issue time, and its nonce, which must be the
  one this sign-in sent;
- each sign-in's ``state`` works once, only in the browser that started it (a cookie
  whose digest it keeps), for ``ATTEMPT_MINUTES``: a replayed callback, or an ID token
  replayed into another sign-in, is refused;
- a person is found by the provider's subject once linked (``ExternalIdentity``); the
  first time, by their e-mail address, only in a domain this provider signs in, and
  only for an account that exists. Someone unknown in a domain that allows it asks
  for an account (``SsoRegistration``), which waits for an administrator or their
  agency's lead; anyone else is refused;
- when the provider says the person gave a second factor (``amr`` names one, RFC 8176,
  or ``acr`` is one the provider's settings call multi-factor), the service asks for
  no code of its own; otherwise its own second factor follows, as after a password.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.access import links
from app.access.models import (
    ExternalIdentity,
    GrantDecision,
    Role,
    SsoAttempt,
    SsoRegistration,
    User,
)
from app.access.policy import Actor
from app.access.policy import Permission as P
from app.access.secrets import digest, new_token
from app.agencies.models import Agency
from app.auditlog import service as auditlog
from app.clock import utcnow
from app.config import Settings, SsoProvider
from app.db import rows_matched
from app.errors import AppError, FieldError, InvalidInput, NotFound

log = logging.getLogger(__name__)

ATTEMPT_MINUTES = 10  # from leaving for the provider to coming back
LEEWAY_SECONDS = 60  # clock drift between the provider and the service
ALGORITHMS = ("RS256", "ES256")  # never "none", never a shared-secret HMAC
# RFC 8176: "mfa" says more than one factor was used. Each other method ("otp", "sms",
# "hwk" ...) is one factor, perhaps the only one: alone it is not a second.
MFA_METHOD = "mfa"
DISCOVERY_SECONDS = 3600  # how long a provider's discovery document and keys are kept
HTTP_TIMEOUT = 10.0
BROWSER_COOKIE = "case_audit_sso"


class SsoRefused(AppError):
    """Signing in with the provider did not work: the message says what to do, the
    audit log (and the server log) why (``why``, never shown). What was written before
    it (the attempt used up, the log row) is kept."""

    status_code = 401
    code = "sso_refused"
    kept = True

    def __init__(self, message: str, *, why: str) -> None:
        super().__init__(message)
        self.why = why


class RegistrationWaiting(AppError):
    """Someone unknown who has asked for an account (kept: the request is the point)."""

    status_code = 403
    code = "registration_waiting"
    kept = True


# --- the providers ----------------------------------------------------------------------


def provider(settings: Settings, key: str) -> SsoProvider:
    for found in settings.sso_providers:
        if found.key == key:
            return found
    raise NotFound(f"There is no way to sign in called '{key}'.")


@dataclass(frozen=True)
class Discovered:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    keys: KeySet
    fetched: float


_discovered: dict[str, Discovered] = {}
_discovering = threading.Lock()


def discover(chosen: SsoProvider, *, refresh: bool = False) -> Discovered:
    """The provider's endpoints and signing keys, from its discovery document (kept an
    hour; ``refresh`` fetches them again, as a token signed by a key not yet seen does).
    The document must name the configured issuer exactly."""
    with _discovering:
        found = _discovered.get(chosen.issuer)
        if (
            found is not None
            and not refresh
            and time.monotonic() - found.fetched < DISCOVERY_SECONDS
        ):
            return found
    try:
        meta = (
            httpx.get(
                chosen.issuer.rstrip("/") + "/.well-known/openid-configuration",
                timeout=HTTP_TIMEOUT,
            )
            .raise_for_status()
            .json()
        )
        if meta.get("issuer") != chosen.issuer:
            raise SsoRefused(
                f"{chosen.name} could not be reached to sign you in. Try again later, or "
                "sign in with your password.",
                why=f"discovery names issuer {meta.get('issuer')!r}, not {chosen.issuer!r}",
            )
        keys = KeySet.import_key_set(
            httpx.get(meta["jwks_uri"], timeout=HTTP_TIMEOUT).raise_for_status().json()
        )
        found = Discovered(
            issuer=meta["issuer"],
            authorization_endpoint=meta["authorization_endpoint"],
            token_endpoint=meta["token_endpoint"],
            jwks_uri=meta["jwks_uri"],
            keys=keys,
            fetched=time.monotonic(),
        )
    except (httpx.HTTPError, KeyError, ValueError, JoseError) as exc:
        raise SsoRefused(
            f"{chosen.name} could not be reached to sign you in. Try again later, or sign "
            "in with your password.",
            why=f"discovery failed: {exc!r}",
        ) from exc
    with _discovering:
        _discovered[chosen.issuer] = found
    return found


# --- leaving for the provider -------------------------------------------------------------


def start(
    session: Session, *, settings: Settings, key: str, redirect_uri: str, next_path: str
) -> tuple[str, str]:
    """Begin signing in at provider ``key``: (the address to send the browser to, the
    token for its cookie that binds the attempt to it)."""
    chosen = provider(settings, key)
    found = discover(chosen)
    # Attempts never finished are no use after ATTEMPT_MINUTES: removed as others start.
    session.execute(
        delete(SsoAttempt).where(
            SsoAttempt.created_at < utcnow() - timedelta(minutes=ATTEMPT_MINUTES)
        )
    )
    state, browser, nonce = new_token(), new_token(), new_token()
    verifier = new_token() + new_token()  # 86 characters: RFC 7636 asks for 43 to 128
    session.add(
        SsoAttempt(
            state_hash=digest(state),
            browser_hash=digest(browser),
            provider=chosen.key,
            nonce=nonce,
            code_verifier=verifier,
            next_path=next_path[:500],
        )
    )
    session.flush()
    target = prepare_grant_uri(
        found.authorization_endpoint,
        chosen.client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=chosen.scopes,
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    return target, browser


# --- coming back ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    provider: str
    issuer: str
    subject: str
    email: str
    name: str
    mfa: bool


def _refused(chosen: SsoProvider, why: str) -> SsoRefused:
    return SsoRefused(
        f"You could not be signed in with {chosen.name}. Try again, or sign in with your password.",
        why=why,
    )


def _claim_attempt(
    session: Session, *, chosen: SsoProvider, state: str, browser: str
) -> SsoAttempt:
    attempt = session.scalar(select(SsoAttempt).where(SsoAttempt.state_hash == digest(state)))
    if attempt is None or attempt.provider != chosen.key:
        raise _refused(chosen, "unknown state")
    if not browser or digest(browser) != attempt.browser_hash:
        raise _refused(chosen, "state from another browser")
    if attempt.created_at < utcnow() - timedelta(minutes=ATTEMPT_MINUTES):
        raise _refused(chosen, "state expired")
    used = session.execute(
        update(SsoAttempt)
        .where(SsoAttempt.id == attempt.id, SsoAttempt.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not rows_matched(used):
        raise _refused(chosen, "state used already")
    return attempt


def _exchange(
    chosen: SsoProvider, found: Discovered, *, code: str, redirect_uri: str, verifier: str
) -> dict:
    """The provider's token response for ``code`` (client_secret_basic when the provider
    has a secret, else a public client sending its id)."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    auth = None
    if chosen.client_secret:
        auth = (chosen.client_id, chosen.client_secret)
    else:
        data["client_id"] = chosen.client_id
    try:
        response = httpx.post(found.token_endpoint, data=data, auth=auth, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise _refused(chosen, f"token exchange failed: {exc!r}") from exc


def verify_id_token(
    chosen: SsoProvider, found: Discovered, id_token: str, *, nonce: str, now: float | None = None
) -> dict[str, Any]:
    """The ID token's claims, once its signature, issuer, audience, times and nonce are
    right (OpenID Connect Core 3.1.3.7); SsoRefused otherwise."""
    now = time.time() if now is None else now
    try:
        try:
            token = jwt.decode(id_token, found.keys, algorithms=list(ALGORITHMS))
        except JoseError:
            # Perhaps signed with a key published since: fetched again, once.
            token = jwt.decode(
                id_token, discover(chosen, refresh=True).keys, algorithms=list(ALGORITHMS)
            )
    except (JoseError, ValueError) as exc:
        raise _refused(chosen, f"ID token signature not valid: {exc!r}") from exc
    claims = token.claims
    registry = jwt.JWTClaimsRegistry(
        now=int(now),
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": chosen.issuer},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise _refused(chosen, f"ID token claims not valid: {exc!r}") from exc
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    if chosen.client_id not in audiences:
        raise _refused(chosen, f"ID token for another audience: {audiences!r}")
    if len(audiences) > 1 and claims.get("azp") != chosen.client_id:
        raise _refused(chosen, "ID token with several audiences and another azp")
    return claims


def _mfa(chosen: SsoProvider, claims: dict[str, Any]) -> bool:
    methods = claims.get("amr") or []
    if isinstance(methods, str):
        methods = [methods]
    acr = claims.get("acr")
    return MFA_METHOD in {str(m).lower() for m in methods} or (
        isinstance(acr, str) and acr in chosen.mfa_acr_values
    )


def finish(
    session: Session,
    *,
    settings: Settings,
    key: str,
    state: str,
    code: str,
    browser: str,
    redirect_uri: str,
    error: str = "",
) -> tuple[Identity, str]:
    """Come back from provider ``key``: (who the provider says this is, where they were
    going). Every refusal is logged with its reason (kept even though the request
    fails: the route keeps refusals)."""
    chosen = provider(settings, key)
    try:
        attempt = _claim_attempt(session, chosen=chosen, state=state, browser=browser)
        if error or not code:
            raise _refused(chosen, f"the provider answered {error or 'without a code'}")
        found = discover(chosen)
        tokens = _exchange(
            chosen, found, code=code, redirect_uri=redirect_uri, verifier=attempt.code_verifier
        )
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise _refused(chosen, "no ID token in the token response")
        claims = verify_id_token(chosen, found, id_token, nonce=attempt.nonce)
        subject = str(claims["sub"])
        if len(subject) > 255:
            raise _refused(chosen, f"subject too long ({len(subject)} characters)")
    except SsoRefused as refused:
        _log_refusal(session, chosen, refused)
        raise
    email = _address(chosen, claims)
    name = " ".join(str(claims.get("name") or email).split())  # one line, for e-mails
    return (
        Identity(
            provider=chosen.key,
            issuer=chosen.issuer,
            subject=subject,
            email=email,
            name=name[:200],
            mfa=_mfa(chosen, claims),
        ),
        attempt.next_path,
    )


def _address(chosen: SsoProvider, claims: dict[str, Any]) -> str:
    """The e-mail address the provider vouches for, or "": its ``email`` claim, unless it
    says the address is not verified; ``preferred_username`` only for a provider whose
    settings say its usernames are addresses (Entra ID's UPN)."""
    if claims.get("email_verified") is False:
        return ""
    found = claims.get("email") or (
        claims.get("preferred_username") if chosen.username_is_email else None
    )
    email = str(found or "").strip().lower()
    return email if 3 <= len(email) <= 320 and "@" in email and email.isprintable() else ""


def _log_refusal(session: Session, chosen: SsoProvider, refused: SsoRefused) -> None:
    log.warning("single sign-on with %s refused: %r", chosen.key, refused.why)
    auditlog.record(
        session,
        action="auth.sso_refused",
        object_type="sso_provider",
        object_id=None,
        after={"provider": chosen.key, "reason": refused.why[:500]},
    )


# --- who it is -------------------------------------------------------------------------------


def _domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def account_for(session: Session, *, settings: Settings, identity: Identity) -> User:
    """The account ``identity`` signs in to: linked by the provider's subject, or the
    first time by e-mail address in one of the provider's domains. Someone unknown is
    refused, or (in a self-registering domain) asks for an account and waits."""
    chosen = provider(settings, identity.provider)
    linked = session.scalar(
        select(ExternalIdentity).where(
            ExternalIdentity.issuer == identity.issuer,
            ExternalIdentity.subject == identity.subject,
        )
    )
    if linked is not None:
        user = session.get(User, linked.user_id)
        linked.last_used_at = utcnow()
    else:
        user = _first_time(session, chosen, identity)
    if user is None or not user.active:
        refused = SsoRefused(
            f"You are signed in to {chosen.name}, but you cannot use this service with "
            "that account. Ask your agency's lead or the partnership's business unit.",
            why="account disabled" if user is not None else "no account",
        )
        _log_refusal(session, chosen, refused)
        raise refused
    return user


def _first_time(session: Session, chosen: SsoProvider, identity: Identity) -> User | None:
    domain = _domain(identity.email)
    if not identity.email or domain not in {d.lower() for d in chosen.domains}:
        # A provider vouches only for its own domains: never for an address elsewhere.
        return None
    user = session.scalar(select(User).where(User.email == identity.email))
    if user is None:
        _ask_for_account(session, chosen, identity)
        return None
    if not user.active:
        return user  # refused by the caller, and not linked: enabling it again links nothing
    if session.scalar(
        select(ExternalIdentity.id).where(
            ExternalIdentity.user_id == user.id, ExternalIdentity.issuer == identity.issuer
        )
    ):
        return None  # linked to another subject of this provider already: not this one
    session.add(
        ExternalIdentity(
            user_id=user.id,
            issuer=identity.issuer,
            subject=identity.subject,
            email=identity.email,
            last_used_at=utcnow(),
        )
    )
    session.flush()
    # Signing in with the provider is their way in now: an invitation not yet accepted
    # (or a reset not yet used) stops working.
    links.void_links(session, user=user)
    auditlog.record(
        session,
        action="auth.sso_linked",
        object_type="user",
        object_id=user.id,
        after={"provider": chosen.key, "issuer": identity.issuer, "subject": identity.subject},
    )
    return user


def _ask_for_account(session: Session, chosen: SsoProvider, identity: Identity) -> None:
    """Someone unknown: in a self-registering domain they ask for an account (once),
    told they are waiting; anywhere else they are refused as unknown (the caller)."""
    domain = _domain(identity.email)
    if domain not in {d.lower() for d in chosen.self_registration}:
        return
    agency_name = {d.lower(): a for d, a in chosen.domains.items()}[domain]
    agency = session.scalar(select(Agency).where(Agency.name == agency_name, Agency.active))
    if agency is None:
        log.warning("single sign-on %s: no active agency named %r", chosen.key, agency_name)
        return
    asked = session.scalar(
        select(SsoRegistration).where(
            SsoRegistration.issuer == identity.issuer,
            SsoRegistration.subject == identity.subject,
        )
    )
    if asked is None:
        asked = SsoRegistration(
            provider=chosen.key,
            issuer=identity.issuer,
            subject=identity.subject,
            email=identity.email,
            display_name=identity.name,
            agency_id=agency.id,
            decision=GrantDecision.PENDING,
        )
        session.add(asked)
        session.flush()
        auditlog.record(
            session,
            action="auth.sso_registration",
            object_type="sso_registration",
            object_id=asked.id,
            after={"provider": chosen.key, "email": identity.email, "agency_id": agency.id},
        )
        from app.notifications import notices

        notices.registration_waiting(session, registration=asked, agency=agency)
    if asked.decision == GrantDecision.REFUSED:
        raise RegistrationWaiting(
            f"Your request for an account was refused{': ' + asked.reason if asked.reason else ''}. "
            "Ask your agency's lead if you think this is wrong."
        )
    raise RegistrationWaiting(
        f"You have asked for an account for {agency.name}. An administrator or your agency's "
        "lead will approve it; you can sign in once they have."
    )


# --- deciding registrations ------------------------------------------------------------------

# An agency lead gives a new account only the roles of their agency's staff, as when
# inviting someone.
LEAD_MAY_GIVE = links.LEAD_MAY_GIVE


def pending(session: Session, *, actor: Actor) -> list[SsoRegistration]:
    """Requests for an account waiting for ``actor``: every one for an administrator,
    their own agency's for an agency lead; oldest first."""
    stmt = (
        select(SsoRegistration)
        .where(SsoRegistration.decision == GrantDecision.PENDING)
        .order_by(SsoRegistration.requested_at, SsoRegistration.id)
    )
    if not actor.may(P.USER_MANAGE):
        if not actor.may(P.ACCOUNT_APPROVE) or actor.agency_id is None:
            return []
        stmt = stmt.where(SsoRegistration.agency_id == actor.agency_id)
    return list(session.scalars(stmt))


def waiting(session: Session, *, actor: Actor, registration_id: int) -> SsoRegistration:
    """A request still waiting that ``actor`` may decide; 404 otherwise."""
    found = session.get(SsoRegistration, registration_id)
    if found is None or found not in pending(session, actor=actor):
        raise NotFound(f"There is no request for an account with id {registration_id} for you.")
    return found


def _decidable(session: Session, *, actor: Actor, registration_id: int) -> SsoRegistration:
    found = waiting(session, actor=actor, registration_id=registration_id)
    session.refresh(found, with_for_update=True)  # one decision, as committed now
    if found.decision != GrantDecision.PENDING:
        raise NotFound(f"There is no request for an account with id {registration_id} for you.")
    return found


def approve(session: Session, *, actor: Actor, registration_id: int, roles: set[Role]) -> User:
    """Give the person an account (signing in only through their provider, until they
    set a password) with ``roles``, linked to their identity there. An agency lead gives
    only the roles of their agency's staff; administrator, moderator and scrutineer
    wait for a second administrator, as for any account."""
    from app.access import service as accounts

    asked = _decidable(session, actor=actor, registration_id=registration_id)
    if not roles:
        raise InvalidInput(
            "Choose at least one role.", fields=[FieldError("roles", "Choose at least one role")]
        )
    if not actor.may(P.USER_MANAGE) and not roles <= LEAD_MAY_GIVE:
        raise InvalidInput(
            "An agency lead gives only the auditor, agency lead and practitioner roles.",
            fields=[FieldError("roles", "Choose auditor, agency lead or practitioner")],
        )
    user = accounts.create_user(
        session,
        email=asked.email,
        display_name=asked.display_name,
        roles=roles,
        agency_id=asked.agency_id,
        actor=actor,
    )
    session.add(
        ExternalIdentity(
            user_id=user.id, issuer=asked.issuer, subject=asked.subject, email=asked.email
        )
    )
    _decided(asked, actor, GrantDecision.APPROVED)
    asked.user_id = user.id
    session.flush()
    auditlog.record(
        session,
        action="auth.sso_registration_approved",
        object_type="sso_registration",
        object_id=asked.id,
        after={"user_id": user.id, "roles": sorted(r.value for r in roles)},
    )
    return user


def refuse(session: Session, *, actor: Actor, registration_id: int, reason: str) -> None:
    """Refuse the request, saying why (the person is told when they next try)."""
    asked = _decidable(session, actor=actor, registration_id=registration_id)
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            "Say why the request is refused.",
            fields=[FieldError("reason", "Say why the request is refused")],
        )
    _decided(asked, actor, GrantDecision.REFUSED)
    asked.reason = reason[:1000]
    session.flush()
    auditlog.record(
        session,
        action="auth.sso_registration_refused",
        object_type="sso_registration",
        object_id=asked.id,
        after={"reason": asked.reason},
    )


def _decided(asked: SsoRegistration, actor: Actor, decision: GrantDecision) -> None:
    asked.decision = decision
    asked.decided_by_id = actor.user_id
    asked.decided_by_label = actor.label
    asked.decided_at = utcnow()


def visible(session: Session, *, actor: Actor, registration_id: int) -> SsoRegistration:
    """Any request (waiting or decided) ``actor`` may read: an administrator every one,
    an agency lead their own agency's; 404 otherwise."""
    found = session.get(SsoRegistration, registration_id)
    if found is None or not (
        actor.may(P.USER_MANAGE)
        or (actor.may(P.ACCOUNT_APPROVE) and actor.agency_id == found.agency_id)
    ):
        raise NotFound(f"There is no request for an account with id {registration_id}.")
    return found
