"""Signing in: password, second factor (an authenticator app or a recovery code),
signing out, and each person's own list of sessions.

Every refusal looks the same whatever the reason (unknown account, wrong password,
disabled account, no password set), so a response never reveals whether an account
exists; only the audit log, which the caller never sees, records why. Two limits, both
in the database so they hold across server processes: passwords evaluated per client
address, whatever the account (password spraying), and failures per (account, client
address), so an attacker at one address cannot lock a person out at another.

A refusal is recorded (the failure count, the log row) before it is raised: the
caller must commit the session even when these functions raise ``SignInRefused``,
``CodeRefused`` or ``TooManyAttempts`` (app.access.api returns the error instead of
raising it, so the request's transaction commits).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets as random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NoReturn

import pyotp
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from app.access import kept, leavers
from app.access.auth import actor_for, end_session
from app.access.models import RecoveryCode, SignInAttempt, SignInThrottle, User, WebSession
from app.access.policy import Via
from app.access.secrets import digest, hash_password, needs_rehash, new_token, verify_password
from app.auditlog import service as auditlog
from app.clock import utcnow
from app.config import Settings
from app.context import RequestContext, bound, current
from app.errors import AppError, NotFound, StateError
from app.formatting import format_time

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
    """Refused before any password or code is checked, until ``until``: which limit
    (``from_address``: the client address's, otherwise the account's at that address),
    and when to try again, in seconds (``retry_after``, also the Retry-After header) and
    in words with the time of day in England, rounded up to the minute."""

    status_code = 429
    code = "too_many_attempts"

    def __init__(self, *, until: datetime, from_address: bool = False) -> None:
        retry_after = max(1, math.ceil((until - utcnow()).total_seconds()))
        minutes = -(-retry_after // 60)
        if until.second or until.microsecond:
            until = until.replace(second=0, microsecond=0) + timedelta(minutes=1)
        where = "from your network" if from_address else "to this account"
        super().__init__(
            f"There have been too many attempts to sign in {where}. Try again in "
            f"{minutes} minute{'s' if minutes != 1 else ''}, at {format_time(until)}.",
            retry_after=retry_after,
        )
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


def counted_as(client_address: str) -> str:
    """The source a sign-in is counted against, for the limits per address: an IPv6
    address's /64 network (one household's or one machine's addresses: anyone given
    one has the whole /64, so counting each address alone would give them 18 quintillion
    allowances), an IPv4 address as it is (also when written as IPv6, ``::ffff:a.b.c.d``),
    anything else (a test client's name) as it is."""
    try:
        address = ipaddress.ip_address(client_address)
    except ValueError:
        return client_address
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return client_address


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
    Refused without checking the password (TooManyAttempts) while the client address
    has had its allowance of passwords checked in the last minute, or while the
    (account, address) pair is locked, even with the right password.
    """
    source = counted_as(client_address)  # the limits' key; the session keeps the address
    account = email.strip().lower()
    # FOR KEY SHARE is what inserting the web session takes anyway; taken before the
    # throttle's locks it keeps one order, account then throttle, as the second factor
    # does (it locks the account FOR UPDATE, then the pair): the other order deadlocks.
    user = session.scalar(
        select(User).where(User.email == account).with_for_update(read=True, key_share=True)
    )
    _admit(session, account=account, client_address=source, user=user, settings=settings)
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
            client_address=source,
            user=user,
            reason=reason,
            settings=settings,
        )
        raise SignInRefused(SIGN_IN_REFUSED)

    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    status = _next_step(user, settings, second_factor_given=False)
    if status == SignInStatus.SIGNED_IN:
        # Failures are forgiven only when signing in is complete: a right password
        # must not wipe the count of wrong codes at the second step.
        _clear_failures(session, account=account, client_address=source)
    return _open(session, user, status, client_address, user_agent, settings, {})


def _next_step(user: User, settings: Settings, *, second_factor_given: bool) -> SignInStatus:
    """What signing in still needs once who it is is known: nothing (the partnership
    asks no second factor, or the identity provider vouched for one), a code, or an
    authenticator set up first."""
    if not settings.require_second_factor or second_factor_given:
        return SignInStatus.SIGNED_IN
    if user.totp_confirmed_at is None:
        # A new secret at each attempt: one shown to an earlier, unfinished sign-in
        # stops working.
        user.totp_secret = pyotp.random_base32()
        user.totp_last_step = None
        return SignInStatus.ENROL
    return SignInStatus.SECOND_FACTOR_REQUIRED


def _open(
    session: Session,
    user: User,
    status: SignInStatus,
    client_address: str,
    user_agent: str,
    settings: Settings,
    logged: dict,
) -> tuple[WebSession, str, SignInStatus]:
    """A new web session for ``user``, complete or waiting for ``status``'s step."""
    now = utcnow()
    plain = new_token()
    web = WebSession(
        token_hash=digest(plain),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        # Given at the identity provider: recorded as given (a password alone never is).
        second_factor_at=now if logged.get("provider_mfa") else None,
        client_address=client_address[:64],
        user_agent=user_agent[:300],
    )
    session.add(web)
    session.flush()
    if status == SignInStatus.SIGNED_IN:
        leavers.mark_active(session, user)
    with _acting_as(user, web):
        auditlog.record(
            session,
            action="auth.sign_in",
            object_type="user",
            object_id=user.id,
            after={"session_id": web.id, "status": status.value, **logged},
        )
    return web, plain, status


def sign_in_with_provider(
    session: Session,
    *,
    user: User,
    provider: str,
    mfa: bool,
    client_address: str,
    user_agent: str,
    settings: Settings,
) -> tuple[WebSession, str, SignInStatus]:
    """Start a web session for someone their identity provider signed in
    (app/access/sso.py found the account): complete at once when the provider says
    they gave a second factor, otherwise waiting for the service's own code."""
    status = _next_step(user, settings, second_factor_given=mfa)
    logged = {"provider": provider, "provider_mfa": mfa}
    return _open(session, user, status, client_address, user_agent, settings, logged)


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
    source = counted_as(client_address)  # the limits' key; the session keeps the address
    user = _pending_user(session, web_session)
    if user.totp_confirmed_at is not None or not user.totp_secret:
        raise StateError("An authenticator app is already set up for this account.")
    _refuse_if_locked(session, account=user.email, client_address=source, user=user)
    step = _totp_step(user, code)
    if step is None:
        _count_failure(
            session,
            account=user.email,
            client_address=source,
            user=user,
            reason="wrong enrolment code",
            settings=settings,
        )
        raise CodeRefused(CODE_REFUSED)
    _clear_failures(session, account=user.email, client_address=source)
    user.totp_last_step = step
    user.totp_confirmed_at = utcnow()
    codes = _new_recovery_codes(session, user, settings)
    plain = _complete(web_session)
    leavers.mark_active(session, user)
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
    source = counted_as(client_address)  # the limits' key; the session keeps the address
    user = _pending_user(session, web_session)
    if user.totp_confirmed_at is None:
        raise StateError("Set up an authenticator app first.")
    _refuse_if_locked(session, account=user.email, client_address=source, user=user)
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
                client_address=source,
                user=user,
                reason="wrong code",
                settings=settings,
            )
            raise CodeRefused(CODE_REFUSED)
        recovery.used_at = utcnow()
        method = "recovery code"
    _clear_failures(session, account=user.email, client_address=source)
    plain = _complete(web_session)
    leavers.mark_active(session, user)
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
#
# Checking a limit and counting against it must not interleave with another request's
# doing the same. On PostgreSQL each check is serialised by a transaction-level
# advisory lock keyed on the client address (or the pair), taken before the check and
# held until the commit: it exists whether or not the throttle's row does (a row lock
# on a row that is not there yet locks nothing, and 40 parallel attempts then got 9 or
# 10 passwords checked instead of 5). The address's lock is always taken before the
# pair's. SQLite runs writers one at a time (BEGIN IMMEDIATE) already. What is counted
# commits with the refusal: the sign-in routes keep refusals (keep_refusals=True).

ADDRESS_WINDOW = timedelta(minutes=1)
# Stale rows removed at each checked password: more than it adds, so the tables stay
# at about what the windows hold.
_STALE_BATCH = 100


def _lock(session: Session, *key: str) -> None:
    """Wait for, then hold until the transaction ends, PostgreSQL's advisory lock on
    ``key`` (64 bits of its hash: a collision only makes two keys wait for each other)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    hashed = hashlib.blake2b("\x00".join(("sign-in", *key)).encode(), digest_size=8).digest()
    session.execute(select(func.pg_advisory_xact_lock(int.from_bytes(hashed, signed=True))))


def _admit(
    session: Session, *, account: str, client_address: str, user: User | None, settings: Settings
) -> None:
    """Let one password be checked, counting it against the client address's
    allowance; or, if the address has had its allowance in the last minute or the pair
    is locked, log the refusal and raise TooManyAttempts (with the later of the two
    times: at the earlier, the other would still refuse)."""
    address = client_address[:64]
    _lock(session, "address", address)
    now = utcnow()
    address_until = _address_free_at(session, address=address, now=now, settings=settings)
    pair_until = _pair_locked_until(session, account=account, client_address=client_address)
    if pair_until and (address_until is None or pair_until >= address_until):
        _refuse(session, account=account, user=user, reason="locked", until=pair_until)
    if address_until:
        _refuse(
            session,
            account=account,
            user=user,
            reason="too many from the address",
            until=address_until,
            from_address=True,
        )
    session.add(SignInAttempt(client_address=address, attempted_at=now))
    session.flush()
    _forget_stale(session, now=now, settings=settings)


def _address_free_at(
    session: Session, *, address: str, now: datetime, settings: Settings
) -> datetime | None:
    """None if the address has had fewer than its allowance of passwords checked in
    the last minute; otherwise when it may have another: when the allowance-th newest
    leaves the window."""
    allowance = settings.sign_in_max_per_address_per_minute
    nth_newest = session.scalar(
        select(SignInAttempt.attempted_at)
        .where(
            SignInAttempt.client_address == address,
            SignInAttempt.attempted_at > now - ADDRESS_WINDOW,
        )
        .order_by(SignInAttempt.attempted_at.desc())
        .offset(allowance - 1)
        .limit(1)
    )
    return None if nth_newest is None else nth_newest + ADDRESS_WINDOW


def _throttle_row(session: Session, *, account: str, client_address: str) -> SignInThrottle | None:
    """The pair's row, if it has one, read under the pair's lock (taken here)."""
    _lock(session, "pair", account[:320], client_address[:64])
    return session.scalar(
        select(SignInThrottle)
        .where(
            SignInThrottle.account == account[:320],
            SignInThrottle.client_address == client_address[:64],
        )
        # Row-locked as well, so that _forget_stale (SKIP LOCKED) leaves it alone.
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _throttle_row_to_count(
    session: Session, *, account: str, client_address: str
) -> SignInThrottle:
    """The pair's row, created at its first failure (under the pair's lock, so no
    other request can be creating it too)."""
    row = _throttle_row(session, account=account, client_address=client_address)
    if row is None:
        row = SignInThrottle(
            account=account[:320],
            client_address=client_address[:64],
            failures=0,
            window_started_at=utcnow(),
        )
        session.add(row)
    return row


def _pair_locked_until(session: Session, *, account: str, client_address: str) -> datetime | None:
    row = _throttle_row(session, account=account, client_address=client_address)
    if row is None or row.locked_until is None or row.locked_until <= utcnow():
        return None
    return row.locked_until


def _refuse_if_locked(
    session: Session, *, account: str, client_address: str, user: User | None
) -> None:
    until = _pair_locked_until(session, account=account, client_address=client_address)
    if until is not None:
        _refuse(session, account=account, user=user, reason="locked", until=until)


def _refuse(
    session: Session,
    *,
    account: str,
    user: User | None,
    reason: str,
    until: datetime,
    from_address: bool = False,
) -> NoReturn:
    auditlog.record(
        session,
        action="auth.sign_in_failed",
        object_type="user",
        object_id=user.id if user else None,
        after={"account": account, "reason": reason, "locked_until": until},
    )
    raise TooManyAttempts(until=until, from_address=from_address)


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


def _forget_stale(session: Session, *, now: datetime, settings: Settings) -> None:
    """Remove rows that limit nothing any more (passwords checked over a minute ago;
    pairs whose window and lock are both over), so client and e-mail addresses are
    kept no longer than they are of use. A row another request holds is left for a
    later sign-in (SKIP LOCKED): nobody waits here."""
    old_attempts = (
        select(SignInAttempt.id)
        .where(SignInAttempt.attempted_at <= now - ADDRESS_WINDOW)
        .limit(_STALE_BATCH)
        .with_for_update(skip_locked=True)
    )
    session.execute(delete(SignInAttempt).where(SignInAttempt.id.in_(old_attempts)))
    window = timedelta(minutes=settings.sign_in_lockout_minutes)
    old_pairs = (
        select(SignInThrottle.id)
        .where(
            SignInThrottle.window_started_at <= now - window,
            or_(SignInThrottle.locked_until.is_(None), SignInThrottle.locked_until <= now),
        )
        .limit(_STALE_BATCH)
        .with_for_update(skip_locked=True)
    )
    session.execute(delete(SignInThrottle).where(SignInThrottle.id.in_(old_pairs)))


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
