"""Opening a one-time link and answering its return, with no account.

The link opens that one return and nothing else: its holder is no one signed in, and
what they save and send goes through the returns service as a system actor labelled
"by one-time link" (``answering_as``), so the return's versions, the audit log and the
moderation see it as any return. Sending uses the link up: one UPDATE that must match
the link while it is unused, unvoided and unexpired. A link that does not work counts
against the client address: past ``respondent_link_failures_per_hour`` in an hour the
address is refused (429) whatever it sends, so tokens cannot be guessed.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.access.models import Role
from app.access.policy import Actor, Via
from app.access.secrets import digest
from app.access.signin import counted_as
from app.agencies.models import Agency
from app.auditlog import service as auditlog
from app.audits.models import Audit
from app.clock import utcnow
from app.config import Settings
from app.context import RequestContext, bound, current
from app.db import rows_matched
from app.errors import AppError
from app.formatting import format_time
from app.respond.models import RespondentLink, RespondentLinkFailure
from app.respond.service import answerable, by_link, works
from app.returns import service as returns
from app.returns.models import Return
from app.returns.schemas import AnswerIn, EvidenceIn, GradeIn

RESPONDENT_LABEL = "by one-time link"
FAMILY_MEMBER = "Family member (by link)"
FAILURE_WINDOW = timedelta(hours=1)
# What new_token() makes; anything else is not looked up at all (but still counted).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")


class LinkUnknown(AppError):
    """No link has this token."""

    status_code = 404
    code = "link_unknown"


class LinkGone(AppError):
    """The link was used, voided or has expired, or its return can no longer be answered."""

    status_code = 410
    code = "link_gone"


class TooManyTries(AppError):
    """The client address has tried too many links that do not work this hour."""

    status_code = 429
    code = "too_many_tries"

    def __init__(self, *, until: datetime) -> None:
        self.retry_after = max(1, math.ceil((until - utcnow()).total_seconds()))
        if until.second or until.microsecond:
            until = until.replace(second=0, microsecond=0) + timedelta(minutes=1)
        self.until = until
        super().__init__(
            "There have been too many attempts to open links from your network. "
            f"Try again after {format_time(until)}."
        )
        self.headers = {"Retry-After": str(self.retry_after)}


def _lock(session: Session, address: str) -> None:
    """On PostgreSQL, hold the address's advisory lock to the commit, so two requests at
    once cannot both find room under the limit (SQLite runs writers one at a time)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = hashlib.blake2b(f"respondent-link\x00{address}".encode(), digest_size=8).digest()
    session.execute(select(func.pg_advisory_xact_lock(int.from_bytes(key, signed=True))))


def admit(session: Session, *, client_address: str, settings: Settings) -> None:
    """Let the address open a link, unless it has tried too many that do not work in the
    last hour (TooManyTries, 429, until the oldest of them is an hour old)."""
    address = counted_as(client_address)[:64]
    _lock(session, address)
    since = utcnow() - FAILURE_WINDOW
    # The address's failures over an hour old count no more (only its own rows, held
    # under its lock: two addresses' requests never wait for each other here).
    session.execute(
        delete(RespondentLinkFailure).where(
            RespondentLinkFailure.client_address == address,
            RespondentLinkFailure.attempted_at <= since,
        )
    )
    limit = settings.respondent_link_failures_per_hour
    recent = list(
        session.scalars(
            select(RespondentLinkFailure.attempted_at)
            .where(
                RespondentLinkFailure.client_address == address,
                RespondentLinkFailure.attempted_at > since,
            )
            .order_by(RespondentLinkFailure.attempted_at.desc())
            .limit(limit)
        )
    )
    if len(recent) >= limit:
        raise TooManyTries(until=recent[-1] + FAILURE_WINDOW)


def count_failure(session: Session, *, client_address: str) -> None:
    """A link that did not work, tried from the address (the caller keeps it although
    it refuses the request: ``transactional(keep_refusals=True)``)."""
    session.add(
        RespondentLinkFailure(client_address=counted_as(client_address)[:64], attempted_at=utcnow())
    )
    session.flush()


@dataclass(frozen=True)
class Opened:
    """A link that works, with the one return it opens and that return's audit."""

    link: RespondentLink
    return_: Return
    audit: Audit
    agency: str  # the return's agency, by name

    @property
    def family(self) -> bool:
        return self.audit.survey_of_audit_id is not None

    @property
    def respondent_name(self) -> str:
        """Who the return says answered it."""
        return FAMILY_MEMBER if self.family else f"{self.agency} (by link)"[:200]


def open_link(session: Session, *, token: str) -> Opened:
    """The working link with this token and its return: LinkUnknown (404) if there is
    none, LinkGone (410) if it was used, voided or has expired, or its return can no
    longer be answered (sent by other means, left out, the audit moved on)."""
    link = None
    if _TOKEN.fullmatch(token):
        link = session.scalar(
            select(RespondentLink).where(RespondentLink.token_hash == digest(token))
        )
    if link is None:
        raise LinkUnknown("There is no such link.")
    if not works(link, utcnow()):
        raise LinkGone("This link has been used, has expired or has been replaced.")
    return_ = session.get(Return, link.return_id)
    audit = session.get(Audit, return_.audit_id) if return_ is not None else None
    if (
        return_ is None
        or audit is None
        or not by_link(audit)
        or not answerable(audit, return_.status, return_.excluded_at is not None)
    ):
        raise LinkGone("The answers can no longer be changed.")
    agency = session.scalar(select(Agency.name).where(Agency.id == return_.agency_id)) or ""
    return Opened(link=link, return_=return_, audit=audit, agency=agency)


def form_token(link: RespondentLink, secret_key: str) -> str:
    """The form's CSRF token: an HMAC of the link (its token's digest) under the secret
    key. Nothing to store and no cookie: a page that does not hold the link's token
    cannot have shown the form, and the token works for this link only."""
    return hmac.new(
        secret_key.encode(), b"respond:" + link.token_hash.encode(), hashlib.sha256
    ).hexdigest()


def form_token_valid(link: RespondentLink, secret_key: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(form_token(link, secret_key), given or "")


@contextmanager
def answering_as(opened: Opened) -> Iterator[Actor]:
    """Act, and be logged, as the link's holder: a system actor labelled "by one-time
    link" and named as the return names who answered it. It reaches nothing but what
    the caller does with the one return the link opened."""
    context = current()
    actor = Actor(
        user_id=None,
        label=RESPONDENT_LABEL,
        roles=frozenset(Role),
        via=Via.SYSTEM,
        name=opened.respondent_name,
    )
    with bound(
        RequestContext(
            actor=actor,
            request_id=context.request_id,
            client_address=context.client_address,
            session=context.session,
        )
    ):
        yield actor


def save(
    session: Session,
    *,
    opened: Opened,
    read_version: int,
    answers: list[AnswerIn],
    grades: list[GradeIn],
    evidence: list[EvidenceIn],
    overall_grade: tuple[bool, str | None],
) -> int:
    """Save what the form holds as a draft of the link's return (``returns.save_draft``:
    409 if it changed since the form was shown, 422 naming what is not valid); the
    return's version now."""
    with answering_as(opened):
        returns.save_draft(
            session,
            return_=opened.return_,
            read_version=read_version,
            answers=answers,
            grades=grades,
            evidence=evidence,
            overall_grade=overall_grade,
            auditor_name=opened.respondent_name,
        )
    session.flush()
    return session.scalars(select(Return.version).where(Return.id == opened.return_.id)).one()


def send(session: Session, *, opened: Opened, read_version: int, confirmed: bool) -> None:
    """Submit the link's return (``returns.submit``: 422 for what is missing, or for
    words that look identifying and are not ``confirmed``), then use the link up. No
    lead signs off a return answered by someone without an account: it is submitted."""
    with answering_as(opened):
        returns.submit(
            session,
            return_=opened.return_,
            read_version=read_version,
            signed_off=True,
            confirmed=confirmed,
        )
        now = utcnow()
        used = session.execute(
            update(RespondentLink)
            .where(
                RespondentLink.id == opened.link.id,
                RespondentLink.used_at.is_(None),
                RespondentLink.voided_at.is_(None),
                RespondentLink.expires_at > now,
            )
            .values(used_at=now)
        )
        if rows_matched(used) != 1:
            raise LinkGone("This link has been used, has expired or has been replaced.")
        auditlog.record(
            session,
            action="respondent_link.use",
            object_type="respondent_link",
            object_id=opened.link.id,
            after={"return_id": opened.return_.id},
        )
