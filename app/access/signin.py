"""Signing in: password, second factor (an authenticator app or a recovery code),
signing out, and each person's own list of sessions.

Every refusal looks the same whatever the reason (unknown account, wrong password,
disabled account, no password set), so a response never reveals whether an account
exists; only the audit log, which the caller never sees, records why. Failures are
counted per (account, client address) in the database, so the limit holds across
server processes and an attacker at one address cannot lock a person out at another.

A refusal is recorded (the failure count, the log row) before it is raised: the
caller must commit the session even when these functions raise ``SignInRefused``,
``CodeRefused`` or ``TooManyAttempts`` (app.access.api returns the error instead of
raising it, so the request's transaction commits).
"""

from __future__ import annotations

import hmac
import secrets as random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import StrEnum

import pyotp
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.access import kept
from app.access.auth import actor_for, end_session
from app.access.models import RecoveryCode, SignInThrottle, User, WebSession
from app.access.policy import Via
from app.access.secrets import digest, hash_password, needs_rehash, new_token, verify_password
from app.auditlog import service as auditlog
from app.clock import utcnow
from app.config import Settings
from app.context import RequestContext, bound, current
from app.errors import AppError, NotFound, StateError

SIGN_IN_REFUSED = "The e-mail address or password is not right."
CODE_REFUSED = "The code is not right. Check the time on your device, or use a recovery code."
RECOVERY_CODES = 10
# No 0/o, 1/l/i: a recovery code is read off paper and typed by hand.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class SignInStatus(StrEnum):
    SECOND_FACTOR_REQUIRED = "second_factor_required"
    ENROL = "enrol"  # no authenticator yet: set one up to finish signing in
    SIGNED_IN = "signed_in"


class SignInRefused(AppError):
    status_code = 401
    code = "sign_in_refused"


class SignInFirst(AppError):
    """A second-factor step without a session part-way through signing in. Its own
    code, not the permission gate's "not_signed_in": these steps are public."""

    status_code = 401
    code = "sign_in_first"


class CodeRefused(AppError):
    status_code = 401
    code = "code_refused"


class TooManyAttempts(AppError):
    status_code = 429
    code = "too_many_attempts"

    def __init__(self, *, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"Too many attempts to sign in. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}.",
            retry_after=retry_after,
        )
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


# --- signing in --------------------------------------------------------------------


def sign_in(
    session: Session,
    *,
    email: str,
    password: str,
    client_address: str,
    user_agent: str,
    settings: Settings,
) -> tuple[WebSession, str, SignInStatus]:
    """Check the password and start a web session with a new random token.

    The session is complete at once only when the partnership has turned second
    factors off; otherwise it waits for a code (or, for someone without a confirmed
    authenticator, for enrolment: a new secret is stored on the account, unconfirmed).
    Refused while the (account, address) pair is locked, even with the right password.
    """
    account = email.strip().lower()
    user = session.scalar(select(User).where(User.email == account))
    _refuse_if_locked(session, account=account, client_address=client_address, user=user)
    # verify_password does the same work when there is no hash, so an unknown
    # account takes as long to refuse as a wrong password.
    password_ok = verify_password(user.password_hash if user else None, password)
    reason = _refusal_reason(user, password_ok)
    # No account and no password are reasons too; named again, so past this point
    # the account and its password hash are known to be there.
    if reason or user is None or user.password_hash is None:
        _count_failure(
            session,
            account=account,
            client_address=client_address,
            user=user,
            reason=reason,
            settings=settings,
        )
        raise SignInRefused(SIGN_IN_REFUSED)

    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if not settings.require_second_factor:
        status = SignInStatus.SIGNED_IN
        # Failures are forgiven only when signing in is complete: a right password
        # must not wipe the count of wrong codes at the second step.
        _clear_failures(session, account=account, client_address=client_address)
    elif user.totp_confirmed_at is None:
        status = SignInStatus.ENROL
        # A new secret at each attempt: one shown to an earlier, unfinished sign-in
        # stops working.
        user.totp_secret = pyotp.random_base32()
        user.totp_last_step = None
    else:
        status = SignInStatus.SECOND_FACTOR_REQUIRED
    now = utcnow()
    plain = new_token()
    web = WebSession(
        token_hash=digest(plain),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        client_address=client_address[:64],
        user_agent=user_agent[:300],
    )
    session.add(web)
    session.flush()
    with _acting_as(user, web):
        auditlog.record(
            session,
            action="auth.sign_in",
            object_type="user",
            object_id=user.id,
            after={"session_id": web.id, "status": status.value},
        )
    return web, plain, status


def _refusal_reason(user: User | None, password_ok: bool) -> str:
    """Why the sign-in is refused, or "" if it is not."""
    if user is None:
        return "unknown account"
    if user.password_hash is None:
        return "no password set"
    if not password_ok:
        return "wrong password"
    if not user.active:
        return "account disabled"
    return ""


# --- the second factor -------------------------------------------------------------


def enrolment_secret(user: User) -> str:
    """The new secret of someone setting up an authenticator app (signing in stored it)."""
    if not user.totp_secret:
        raise StateError("No authenticator app is being set up for this account.")
    return user.totp_secret


def provisioning_uri(user: User, settings: Settings) -> str:
    """The otpauth:// address an authenticator app reads (usually from a QR code)."""
    return pyotp.TOTP(enrolment_secret(user)).provisioning_uri(
        name=user.email, issuer_name=settings.partnership_name
    )


def confirm_enrolment(
    session: Session, *, web_session: WebSession, code: str, client_address: str, settings: Settings
) -> tuple[WebSession, str, list[str]]:
    """Confirm the new authenticator with a code from it: the account's second factor
    is then set, ten new recovery codes replace any old ones (returned once, stored as
    digests), and the session is complete under a new token."""
    user = _pending_user(session, web_session)
    if user.totp_confirmed_at is not None or not user.totp_secret:
        raise StateError("An authenticator app is already set up for this account.")
    _refuse_if_locked(session, account=user.email, client_address=client_address, user=user)
    step = _totp_step(user, code)
    if step is None:
        _count_failure(
            session,
            account=user.email,
            client_address=client_address,
            user=user,
            reason="wrong enrolment code",
            settings=settings,
        )
        raise CodeRefused(CODE_REFUSED)
    _clear_failures(session, account=user.email, client_address=client_address)
    user.totp_last_step = step
    user.totp_confirmed_at = utcnow()
    codes = _new_recovery_codes(session, user, settings)
    plain = _complete(web_session)
    with _acting_as(user, web_session):
        auditlog.record(
            session,
            action="auth.enrol_second_factor",
            object_type="user",
            object_id=user.id,
            after={"session_id": web_session.id, "recovery_codes": len(codes)},
        )
    return web_session, plain, codes


def second_factor(
    session: Session, *, web_session: WebSession, code: str, client_address: str, settings: Settings
) -> tuple[WebSession, str]:
    """Finish signing in with a code from the authenticator app (each code works
    once: its time step must be later than the last one accepted) or an unused
    recovery code (then used up). The session continues under a new token."""
    user = _pending_user(session, web_session)
    if user.totp_confirmed_at is None:
        raise StateError("Set up an authenticator app first.")
    _refuse_if_locked(session, account=user.email, client_address=client_address, user=user)
    method = "authenticator"
    step = _totp_step(user, code)
    if step is not None:
        user.totp_last_step = step
    else:
        recovery = _unused_recovery_code(session, user, code, settings)
        if recovery is None:
            _count_failure(
                session,
                account=user.email,
                client_address=client_address,
                user=user,
                reason="wrong code",
                settings=settings,
            )
            raise CodeRefused(CODE_REFUSED)
        recovery.used_at = utcnow()
        method = "recovery code"
    _clear_failures(session, account=user.email, client_address=client_address)
    plain = _complete(web_session)
    with _acting_as(user, web_session):
        auditlog.record(
            session,
            action="auth.second_factor",
            object_type="user",
            object_id=user.id,
            after={"session_id": web_session.id, "method": method},
        )
    return web_session, plain


def _pending_user(session: Session, web_session: WebSession) -> User:
    if web_session.second_factor_at is not None:
        raise StateError("This session has already finished signing in.")
    # Locked, so two requests with the same code cannot both be accepted.
    return session.scalars(
        select(User)
        .where(User.id == web_session.user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _totp_step(user: User, code: str, now: datetime | None = None) -> int | None:
    """The time step of ``code`` if it is right now (or one step either side, for
    clock drift) and later than the last step accepted; otherwise None."""
    code = "".join(code.split())
    if not user.totp_secret or len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(user.totp_secret)
    this_step = totp.timecode(now or utcnow())
    last = user.totp_last_step if user.totp_last_step is not None else -1
    for step in (this_step + 1, this_step, this_step - 1):
        if step > last and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _recovery_digest(raw: str, user: User, settings: Settings) -> str:
    # Keyed with the service's secret: about 50 bits of code would not survive an
    # offline guess against a plain hash taken from a stolen database.
    message = f"recovery:{user.id}:{raw}".encode()
    return hmac.new(settings.secret_key.encode(), message, "sha256").hexdigest()


def _new_recovery_codes(session: Session, user: User, settings: Settings) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(random.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_digest(raw, user, settings)))
    session.flush()
    return codes


def _unused_recovery_code(
    session: Session, user: User, code: str, settings: Settings
) -> RecoveryCode | None:
    return session.scalar(
        select(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash
            == _recovery_digest(_normalise_recovery_code(code), user, settings),
            RecoveryCode.used_at.is_(None),
        )
        .with_for_update()
    )


def _complete(web_session: WebSession) -> str:
    """Mark the second factor given and rotate the token: whatever was seen of the
    pending session's token (before the second factor) is no use afterwards."""
    now = utcnow()
    plain = new_token()
    web_session.token_hash = digest(plain)
    web_session.second_factor_at = now
    web_session.last_seen_at = now
    return plain


# --- throttling --------------------------------------------------------------------


def _throttle_row(session: Session, *, account: str, client_address: str) -> SignInThrottle | None:
    return session.scalar(
        select(SignInThrottle)
        .where(
            SignInThrottle.account == account[:320],
            SignInThrottle.client_address == client_address[:64],
        )
        .with_for_update()
    )


def _throttle_row_to_count(
    session: Session, *, account: str, client_address: str
) -> SignInThrottle:
    """The pair's row, created at its first failure."""
    row = _throttle_row(session, account=account, client_address=client_address)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = SignInThrottle(
                account=account[:320],
                client_address=client_address[:64],
                failures=0,
                window_started_at=utcnow(),
            )
            session.add(row)
    except IntegrityError:
        # Another process's first failure for this pair got in first: count on its row.
        found = _throttle_row(session, account=account, client_address=client_address)
        if found is None:
            raise
        return found
    return row


def _refuse_if_locked(
    session: Session, *, account: str, client_address: str, user: User | None
) -> None:
    row = _throttle_row(session, account=account, client_address=client_address)
    now = utcnow()
    if row is None or row.locked_until is None or row.locked_until <= now:
        return
    auditlog.record(
        session,
        action="auth.sign_in_failed",
        object_type="user",
        object_id=user.id if user else None,
        after={"account": account, "reason": "locked", "locked_until": row.locked_until},
    )
    raise TooManyAttempts(retry_after=max(1, int((row.locked_until - now).total_seconds()) + 1))


def _count_failure(
    session: Session,
    *,
    account: str,
    client_address: str,
    user: User | None,
    reason: str,
    settings: Settings,
) -> None:
    """One more failure in the window; the one that reaches the limit locks the pair."""
    row = _throttle_row_to_count(session, account=account, client_address=client_address)
    now = utcnow()
    window = timedelta(minutes=settings.sign_in_lockout_minutes)
    if row.window_started_at + window <= now or (row.locked_until and row.locked_until <= now):
        row.failures, row.window_started_at, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= settings.sign_in_max_failures:
        row.locked_until = now + window
    session.flush()
    auditlog.record(
        session,
        action="auth.sign_in_failed",
        object_type="user",
        object_id=user.id if user else None,
        after={"account": account, "reason": reason, "failures": row.failures},
    )


def _clear_failures(session: Session, *, account: str, client_address: str) -> None:
    session.execute(
        delete(SignInThrottle).where(
            SignInThrottle.account == account[:320],
            SignInThrottle.client_address == client_address[:64],
        )
    )


# --- signing out and one's own sessions ----------------------------------------------


def stay_signed_in(session: Session, *, web_session: WebSession) -> None:
    """Start the idle time again now (the session's absolute lifetime still holds)."""
    web_session.last_seen_at = utcnow()
    session.flush()


def sign_out(session: Session, *, web_session: WebSession) -> None:
    """End the session now; its token no longer works (and nothing kept from an
    earlier timeout is posted later: app/access/kept.py)."""
    end_session(web_session, "signed out")
    kept.forget(session, user_id=web_session.user_id)
    auditlog.record(
        session,
        action="auth.sign_out",
        object_type="user",
        object_id=web_session.user_id,
        after={"session_id": web_session.id},
    )


def _live(settings: Settings, now: datetime):
    return (
        WebSession.ended_at.is_(None),
        WebSession.expires_at > now,
        WebSession.last_seen_at > now - timedelta(minutes=settings.session_idle_minutes),
    )


def list_sessions(session: Session, *, user: User, settings: Settings) -> list[WebSession]:
    """The person's sessions that still work (or are part-way through signing in)."""
    return list(
        session.scalars(
            select(WebSession)
            .where(WebSession.user_id == user.id, *_live(settings, utcnow()))
            .order_by(WebSession.created_at.desc(), WebSession.id.desc())
        )
    )


def end_own_session(
    session: Session, *, user: User, session_id: int, settings: Settings
) -> WebSession:
    """End one of the person's own sessions; anyone else's is 404, as if it did not exist."""
    web = session.scalar(
        select(WebSession).where(
            WebSession.id == session_id, WebSession.user_id == user.id, *_live(settings, utcnow())
        )
    )
    if web is None:
        raise NotFound(f"There is no session with id {session_id}.")
    end_session(web, "ended by user")
    auditlog.record(
        session,
        action="auth.end_session",
        object_type="user",
        object_id=user.id,
        after={"session_id": web.id},
    )
    return web


# --- helpers -------------------------------------------------------------------------


@contextmanager
def _acting_as(user: User, web_session: WebSession) -> Iterator[None]:
    """Log a successful step as the person who took it, not as "anonymous"."""
    context = current()
    actor = actor_for(user, via=Via.SESSION, credential_id=web_session.id)
    with bound(
        RequestContext(
            actor=actor, request_id=context.request_id, client_address=context.client_address
        )
    ):
        yield
