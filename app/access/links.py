"""One-time links e-mailed to people: an invitation to a new account, and a password
reset; and invitations in bulk, from a CSV file.

A link is a random token (``secrets.new_token``) of which only the digest is kept. It
works once, until ``account_link_hours`` after it was made: using it is one UPDATE
that matches it only while it is unused and unexpired, so two requests with the same
link cannot both succeed. A link that is unknown, used, voided or expired is refused
with one message that names no account (``LinkRefused``). A newer link of the same
kind voids the older ones, and using any link voids the person's others.

Who may invite: an administrator (any agency, any roles: admin, moderator and
scrutineer still wait for a second administrator, as ``service.create_user`` does),
an agency lead (their own agency only, as auditor, agency lead or practitioner), and
the command line on the server. Inviting someone whose account has never been used
sends a fresh link; anyone else with an account is refused (409).

Asking for a reset answers the same whether or not the address has an account: an
unknown or disabled address, an account with no password (invited, or single sign-on
only), or one that has had ``RESETS_PER_HOUR`` links in the last hour, is sent
nothing; only the audit log, which the asker never sees, says why. A reset ends every
session and revokes every API token of the person; the authenticator code is still
asked for at their next sign-in.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from app.access import service
from app.access.auth import actor_for
from app.access.models import (
    AGENCY_ROLES,
    AGENCY_STAFF_ROLES,
    AccountLink,
    ExternalIdentity,
    LinkPurpose,
    Role,
    SignInAttempt,
    User,
    WebSession,
)
from app.access.policy import Actor, Via
from app.access.secrets import digest, hash_password, new_token, password_problem
from app.access.signin import ADDRESS_WINDOW, TooManyAttempts, counted_as
from app.agencies.models import Agency
from app.auditlog import service as auditlog
from app.clock import utcnow
from app.config import Settings, SsoProvider
from app.context import RequestContext, bound, current
from app.db import rows_matched
from app.errors import AppError, Conflict, FieldError, InvalidInput
from app.formatting import format_date, format_time
from app.notifications import service as notifications

# Where each link leads (the pages' routes are declared with these paths).
INVITATION_PATH = "/invitation/{token}"
RESET_PATH = "/reset-password/{token}"
PATHS = {LinkPurpose.INVITATION: INVITATION_PATH, LinkPurpose.RESET: RESET_PATH}
LEAD_MAY_GIVE = AGENCY_STAFF_ROLES
RESETS_PER_HOUR = 3
LINK_REFUSED = (
    "This link does not work. It may have been used already, have expired, or not have "
    "been copied in full."
)
RESET_ASKED = (
    "If the address has an account, a link to reset its password is on its way to it. "
    "It works once, for a limited time."
)
# A CSV of invitations: at most this many people, this many bytes.
IMPORT_MAX_ROWS = 500
IMPORT_MAX_BYTES = 256 * 1024
# A loose check, as the API's Email: the address is proved by the mail reaching it.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class LinkRefused(AppError):
    status_code = 404
    code = "link_refused"


class InviteRefused(AppError):
    """Not one of those who may invite, or not to this agency or with these roles."""

    status_code = 403
    code = "invite_refused"


# --- the links ---------------------------------------------------------------------------


def link_url(purpose: LinkPurpose, token: str, settings: Settings) -> str:
    return settings.public_url.rstrip("/") + PATHS[purpose].format(token=token)


def _make_link(
    session: Session, *, user: User, purpose: LinkPurpose, settings: Settings, actor: Actor
) -> tuple[AccountLink, str]:
    """A new link for ``user``; the older ones of its kind stop working."""
    void_links(session, user=user, purpose=purpose)
    plain = new_token()
    now = utcnow()
    row = AccountLink(
        user_id=user.id,
        purpose=purpose,
        token_hash=digest(plain),
        created_at=now,
        expires_at=now + timedelta(hours=settings.account_link_hours),
        created_by_id=actor.user_id,
        created_by_label=actor.label[:320],
    )
    session.add(row)
    session.flush()
    return row, plain


def void_links(session: Session, *, user: User, purpose: LinkPurpose | None = None) -> int:
    """Stop the person's unused links (of one kind, or all) working; how many there were."""
    stmt = update(AccountLink).where(AccountLink.user_id == user.id, AccountLink.used_at.is_(None))
    if purpose is not None:
        stmt = stmt.where(AccountLink.purpose == purpose)
    result = session.execute(stmt.values(used_at=utcnow()))
    return rows_matched(result)


def find_link(session: Session, *, token: str, purpose: LinkPurpose) -> tuple[AccountLink, User]:
    """The working link with this token, and its person; LinkRefused otherwise."""
    row = None
    if token and len(token) <= 100:
        row = session.scalar(
            select(AccountLink).where(
                AccountLink.token_hash == digest(token), AccountLink.purpose == purpose
            )
        )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise LinkRefused(LINK_REFUSED)
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise LinkRefused(LINK_REFUSED)
    return row, user


def _set_password(user: User, password: str) -> None:
    # The same rule as everywhere a password is set (app/access/secrets.py).
    problem = password_problem(password)
    if problem:
        raise InvalidInput(
            f"The password {problem}.", fields=[FieldError("password", f"The password {problem}")]
        )
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()


def _use(session: Session, link: AccountLink) -> None:
    """Use the link up: it must still be unused and unexpired as this UPDATE runs."""
    now = utcnow()
    result = session.execute(
        update(AccountLink)
        .where(
            AccountLink.id == link.id,
            AccountLink.used_at.is_(None),
            AccountLink.expires_at > now,
        )
        .values(used_at=now)
    )
    if rows_matched(result) != 1:
        raise LinkRefused(LINK_REFUSED)


@contextmanager
def _as(user: User) -> Iterator[None]:
    """Log what the link's holder does as them, not as "anonymous"."""
    context = current()
    actor = actor_for(user, via=Via.SESSION, credential_id=None)
    with bound(
        RequestContext(
            actor=actor,
            request_id=context.request_id,
            client_address=context.client_address,
            session=context.session,
        )
    ):
        yield


def accept_invitation(session: Session, *, token: str, password: str) -> User:
    """Set the invited person's password with their link (used up by it); they then
    sign in, and set up an authenticator, as anyone without one does."""
    link, user = find_link(session, token=token, purpose=LinkPurpose.INVITATION)
    _set_password(user, password)
    _use(session, link)
    void_links(session, user=user)
    session.flush()
    with _as(user):
        auditlog.record(
            session,
            action="user.accept_invitation",
            object_type="user",
            object_id=user.id,
            after={"link_id": link.id},
        )
    return user


def reset_password(session: Session, *, token: str, password: str) -> User:
    """Set a new password with a reset link (used up by it): every session of the
    person ends and every API token of theirs is revoked; their authenticator stays."""
    link, user = find_link(session, token=token, purpose=LinkPurpose.RESET)
    _set_password(user, password)
    _use(session, link)
    void_links(session, user=user)
    ended = service.end_sessions(session, user=user, reason="password reset")
    revoked = service.revoke_tokens(session, user=user)
    session.flush()
    with _as(user):
        auditlog.record(
            session,
            action="user.reset_password",
            object_type="user",
            object_id=user.id,
            after={"link_id": link.id, "sessions_ended": ended, "tokens_revoked": revoked},
        )
    return user


# --- asking for a reset ----------------------------------------------------------------------


def request_reset(session: Session, *, email: str, client_address: str, settings: Settings) -> None:
    """E-mail a reset link to the account with this address, if it may have one; the
    caller answers ``RESET_ASKED`` whatever happened. Each request counts against the
    client address's allowance of sign-in attempts a minute, whatever the account:
    TooManyAttempts (429) past it, which says nothing of the account."""
    _admit(session, client_address=client_address, settings=settings)
    account = email.strip().lower()[:320]
    # Locked: two requests at once must not both find room under the hourly limit.
    user = session.scalar(select(User).where(User.email == account).with_for_update())
    reason = ""
    if user is None:
        reason = "unknown account"
    elif not user.active:
        reason = "account disabled"
    elif user.password_hash is None:
        reason = "no password set"
    elif _resets_in_last_hour(session, user) >= RESETS_PER_HOUR:
        reason = "too many resets"
    if reason or user is None:
        auditlog.record(
            session,
            action="user.reset_not_sent",
            object_type="user",
            object_id=user.id if user else None,
            after={"account": account, "reason": reason},
        )
        return
    link, plain = _make_link(
        session, user=user, purpose=LinkPurpose.RESET, settings=settings, actor=current().actor
    )
    notifications.queue(
        session,
        kind="password_reset",
        users=[user],
        context={
            "partnership": settings.partnership_name,
            "expires": _when(link),
            "link": link_url(LinkPurpose.RESET, plain, settings),
        },
        object_type="user",
        object_id=user.id,
    )
    auditlog.record(
        session,
        action="user.reset_requested",
        object_type="user",
        object_id=user.id,
        after={"link_id": link.id, "expires_at": link.expires_at},
    )


def _admit(session: Session, *, client_address: str, settings: Settings) -> None:
    """Count the request against the address's allowance a minute (SignInAttempt, as a
    password checked at sign-in), or refuse it once the allowance is used."""
    address = counted_as(client_address)[:64]
    now = utcnow()
    recent = list(
        session.scalars(
            select(SignInAttempt.attempted_at)
            .where(
                SignInAttempt.client_address == address,
                SignInAttempt.attempted_at > now - ADDRESS_WINDOW,
            )
            .order_by(SignInAttempt.attempted_at.desc())
            .limit(settings.sign_in_max_per_address_per_minute)
        )
    )
    if len(recent) >= settings.sign_in_max_per_address_per_minute:
        raise TooManyAttempts(until=recent[-1] + ADDRESS_WINDOW, from_address=True)
    session.add(SignInAttempt(client_address=address, attempted_at=now))
    session.flush()


def _resets_in_last_hour(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count(AccountLink.id)).where(
                AccountLink.user_id == user.id,
                AccountLink.purpose == LinkPurpose.RESET,
                AccountLink.created_at > utcnow() - timedelta(hours=1),
            )
        )
        or 0
    )


def _when(link: AccountLink) -> str:
    return f"{format_time(link.expires_at)} on {format_date(link.expires_at)}"


# --- inviting ------------------------------------------------------------------------------


def may_invite(actor: Actor) -> bool:
    return actor.via in (Via.CLI, Via.SYSTEM) or bool(actor.roles & {Role.ADMIN, Role.AGENCY_LEAD})


def lead_only(actor: Actor) -> bool:
    """Whether the actor invites as an agency lead (not as an administrator, nor as the
    server, which has every role)."""
    return Role.AGENCY_LEAD in actor.roles and Role.ADMIN not in actor.roles


def invite_problems(actor: Actor, *, agency_id: int | None, roles: set[Role]) -> dict[str, str]:
    """What this actor may not do in this invitation, by field (none: they may)."""
    if not may_invite(actor):
        return {"roles": "Only administrators and agency leads invite people"}
    if not lead_only(actor):
        return {}
    problems = {}
    if agency_id != actor.agency_id or actor.agency_id is None:
        problems["agency_id"] = "You can invite people to your own agency only"
    if roles - LEAD_MAY_GIVE:
        problems["roles"] = "You can give the auditor, agency lead and practitioner roles only"
    return problems


def _check_invite(actor: Actor, *, agency_id: int | None, roles: set[Role]) -> None:
    problems = invite_problems(actor, agency_id=agency_id, roles=roles)
    if problems:
        raise InviteRefused(
            next(iter(problems.values())) + ".",
            fields=[FieldError(k, v) for k, v in problems.items()],
        )


def never_used(session: Session, user: User) -> bool:
    """Whether the account has never been signed in to, by password or single sign-on."""
    if user.totp_confirmed_at is not None or user.last_active_at is not None:
        return False
    for table in (WebSession, ExternalIdentity):
        if session.scalar(select(exists().where(table.user_id == user.id))):
            return False
    return True


@dataclass(frozen=True)
class Invitation:
    user: User
    link: AccountLink
    again: bool  # a fresh link for an account made earlier and never used


def invite(
    session: Session,
    *,
    email: str,
    display_name: str,
    roles: set[Role],
    agency_id: int | None,
    settings: Settings,
    actor: Actor | None = None,
) -> Invitation:
    """Make the account (without a password) and e-mail its holder a link to set one;
    or, for an account never used, e-mail a fresh link (the older ones stop working).
    An agency lead's invitation is to their own agency (the default for them)."""
    actor = actor or current().actor
    if agency_id is None and lead_only(actor):
        agency_id = actor.agency_id
    _check_invite(actor, agency_id=agency_id, roles=roles)
    email = email.strip().lower()
    user = session.scalar(select(User).where(func.lower(User.email) == email))
    again = user is not None
    if user is None:
        user = service.create_user(
            session,
            email=email,
            display_name=display_name,
            roles=roles,
            agency_id=agency_id,
            actor=actor,
        )
    elif (
        not user.active
        or not never_used(session, user)
        or (lead_only(actor) and user.agency_id != actor.agency_id)
    ):
        raise Conflict(
            "Someone with this e-mail address already has an account.",
            fields=[FieldError("email", "Already has an account")],
        )
    link, plain = _make_link(
        session, user=user, purpose=LinkPurpose.INVITATION, settings=settings, actor=actor
    )
    agency = session.get(Agency, user.agency_id) if user.agency_id else None
    provider = sso_provider_for(user.email, settings)
    notifications.queue(
        session,
        kind="invitation",
        users=[user],
        context={
            "partnership": settings.partnership_name,
            "invited_by": actor.name or f"The {settings.partnership_name} business unit",
            "agency": agency.name if agency else "",
            "sso": provider.name if provider else "",
            "expires": _when(link),
            "link": link_url(LinkPurpose.INVITATION, plain, settings),
        },
        object_type="user",
        object_id=user.id,
    )
    auditlog.record(
        session,
        action="user.invite",
        object_type="user",
        object_id=user.id,
        after={"link_id": link.id, "expires_at": link.expires_at, "again": again},
    )
    return Invitation(user=user, link=link, again=again)


def sso_provider_for(email: str, settings: Settings) -> SsoProvider | None:
    """The identity provider that signs in this address's domain, if any."""
    domain = email.rpartition("@")[2].lower()
    for provider in settings.sso_providers:
        if domain in {d.lower() for d in provider.domains}:
            return provider
    return None


# --- invitations in bulk ------------------------------------------------------------------


@dataclass
class ImportRow:
    """One person of the file, as written, and what stops them being invited."""

    line: int
    name: str
    email: str
    agency: str
    roles_text: str
    agency_id: int | None = None
    roles: set[Role] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


COLUMNS = {
    "name": "name",
    "email": "email",
    "emailaddress": "email",
    "agency": "agency",
    "roles": "roles",
    "role": "roles",
}
ROLE_WORDS = {r.value: r for r in Role} | {r.value.replace("_", " "): r for r in Role}


def read_csv(raw: bytes) -> str:
    """The file's text: UTF-8 (with or without the byte-order mark Excel writes)."""
    if len(raw) > IMPORT_MAX_BYTES:
        raise InvalidInput(
            f"The file is too large: at most {IMPORT_MAX_BYTES // 1024} KB.",
            fields=[FieldError("file", "The file must be smaller")],
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            "The file is not UTF-8 text: save it as 'CSV UTF-8 (Comma delimited)'.",
            fields=[FieldError("file", "Save the file as CSV UTF-8")],
        ) from None


def check_import(session: Session, *, text: str, actor: Actor | None = None) -> list[ImportRow]:
    """Every row of the file with its problems (unknown agency, bad e-mail address,
    duplicate in the file, existing account, role not allowed); a file that cannot be
    read at all is InvalidInput. Nothing is written."""
    actor = actor or current().actor
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InvalidInput(
            f"The file cannot be read as CSV: {exc}.",
            fields=[FieldError("file", "Save the file as CSV UTF-8")],
        ) from None
    header = [re.sub(r"[\s_-]", "", h.lower()) for h in (lines[0] if lines else [])]
    columns = {COLUMNS[h]: i for i, h in reversed(list(enumerate(header))) if h in COLUMNS}
    missing = [c for c in ("name", "email", "agency", "roles") if c not in columns]
    if missing:
        raise InvalidInput(
            "The file's first row must name its columns: name, email, agency, roles "
            f"(missing: {', '.join(missing)}).",
            fields=[FieldError("file", "The first row must be: name, email, agency, roles")],
        )
    body = [
        (n, cells) for n, cells in enumerate(lines[1:], start=2) if any(c.strip() for c in cells)
    ]
    if not body:
        raise InvalidInput(
            "The file has no one in it.", fields=[FieldError("file", "The file is empty")]
        )
    if len(body) > IMPORT_MAX_ROWS:
        raise InvalidInput(
            f"The file has {len(body)} people: at most {IMPORT_MAX_ROWS} at a time.",
            fields=[FieldError("file", f"At most {IMPORT_MAX_ROWS} people in one file")],
        )
    agencies = {a.name.strip().lower(): a for a in session.scalars(select(Agency))}
    seen: dict[str, int] = {}
    rows = []
    for line, cells in body:
        given = {c: cells[i].strip() if i < len(cells) else "" for c, i in columns.items()}
        row = ImportRow(
            line, given["name"], given["email"].lower(), given["agency"], given["roles"]
        )
        _check_row(session, row, actor=actor, agencies=agencies, seen=seen)
        rows.append(row)
    return rows


def _check_row(
    session: Session, row: ImportRow, *, actor: Actor, agencies: dict, seen: dict[str, int]
) -> None:
    problems = row.problems
    if not row.name:
        problems.append("Enter the person's name")
    elif len(row.name) > 200 or re.search(r"[\x00-\x1f\x7f]", row.name):
        problems.append("The name must be one line of 200 characters or fewer")
    if not row.email:
        problems.append("Enter the email address")
    elif len(row.email) > 320 or not _EMAIL.fullmatch(row.email):
        problems.append("Enter an email address in the correct format, like name@example.org")
    elif row.email in seen:
        problems.append(f"The same email address as row {seen[row.email]}")
    else:
        seen[row.email] = row.line
        if session.scalar(select(User.id).where(func.lower(User.email) == row.email)):
            problems.append("Already has an account")
    if row.agency:
        agency = agencies.get(row.agency.lower())
        if agency is None:
            problems.append(f"There is no agency called {row.agency!r}")
        elif not agency.active:
            problems.append(f"{agency.name} has been deactivated")
        else:
            row.agency_id = agency.id
    elif lead_only(actor):
        row.agency_id = actor.agency_id
    words = [w.strip().lower() for w in re.split(r"[;,|]", row.roles_text) if w.strip()]
    unknown = [w for w in words if w not in ROLE_WORDS]
    row.roles = {ROLE_WORDS[w] for w in words if w in ROLE_WORDS}
    if unknown:
        problems.append(f"Not a role: {', '.join(unknown)}")
    elif not row.roles:
        problems.append("Give at least one role")
    elif row.roles & AGENCY_ROLES and row.agency_id is None and not row.agency:
        problems.append("Auditors and agency leads belong to an agency: name it")
    if row.roles:
        refused = invite_problems(actor, agency_id=row.agency_id, roles=row.roles)
        if row.agency and row.agency_id is None:
            refused.pop("agency_id", None)  # no such agency: said already
        problems += refused.values()


def import_invitations(
    session: Session, *, text: str, settings: Settings, actor: Actor | None = None
) -> tuple[list[ImportRow], list[Invitation]]:
    """Invite everyone in the file, or, if any row has a problem, no one (InvalidInput
    naming each row's problems); in the caller's one transaction. The rows, and the
    invitations sent."""
    actor = actor or current().actor
    rows = check_import(session, text=text, actor=actor)
    bad = [r for r in rows if r.problems]
    if bad:
        raise InvalidInput(
            f"{len(bad)} of the {len(rows)} rows have problems: nobody was invited.",
            fields=[FieldError(f"row {r.line}", "; ".join(r.problems)) for r in bad],
        )
    made = [
        invite(
            session,
            email=r.email,
            display_name=r.name,
            roles=r.roles,
            agency_id=r.agency_id,
            settings=settings,
            actor=actor,
        )
        for r in rows
    ]
    auditlog.record(
        session,
        action="user.invite_import",
        object_type="user",
        object_id=None,
        after={"invited": [i.user.id for i in made]},
    )
    return rows, made
