"""One-time links for people without an account: which returns may be answered by
one, and making and voiding them (the administrator's side; opening and answering with
one is ``answering``).

A link is made for one return of an audit whose returns may be answered by someone
with no account: every return of an audit about agencies (an agency with no one signed
up answers its questionnaire or self-assessment) and every return of a family survey
(``Audit.survey_of_audit_id``). An administrator makes it and passes it on by their
own channel; the service keeps the token's SHA-256 only, and nothing about whom it was
given to. A new link for a return voids its earlier unused one. It works for
``respondent_link_days``, until the answers are sent, or until it is voided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.access.policy import Actor
from app.access.secrets import digest, new_token
from app.agencies.models import Agency
from app.auditlog import service as auditlog
from app.audits.models import Audit, AuditStatus, Child
from app.clock import utcnow
from app.config import Settings
from app.errors import NotFound, StateError
from app.formatting import format_date
from app.respond.models import RespondentLink
from app.returns.models import EDITABLE_STATUSES, Return, ReturnStatus

# Where a link leads (the page's route is declared with this path).
FORM_PATH = "/respond/{token}"
# A return is answered while its audit is open, or, late, while it is in moderation.
ANSWERING = (AuditStatus.OPEN, AuditStatus.MODERATION)
ANSWERED = (ReturnStatus.SUBMITTED, ReturnStatus.MODERATED)


def by_link(audit: Audit) -> bool:
    """Whether the audit's returns may be answered by one-time link: an audit about
    agencies, or a family survey."""
    return audit.about_agencies or audit.survey_of_audit_id is not None


def link_url(token: str, settings: Settings) -> str:
    return settings.public_url.rstrip("/") + FORM_PATH.format(token=token)


def answerable(audit: Audit, status: ReturnStatus, excluded: bool) -> bool:
    """Whether a return (its status, whether it was left out) may still be answered."""
    return audit.status in ANSWERING and status in EDITABLE_STATUSES and not excluded


def works(link: RespondentLink, now: datetime) -> bool:
    """Whether the link still opens its return: unused, not voided, not expired."""
    return link.used_at is None and link.voided_at is None and link.expires_at > now


# --- the administrator's side: which returns, and their links -----------------------------


@dataclass(frozen=True)
class LinkRow:
    """One return that may be answered by link, with where its latest link stands."""

    return_id: int
    case: str  # the child's pseudonym, or the agency's name
    agency: str
    status: ReturnStatus
    link: RespondentLink | None
    state: str  # in words: "No link", "Sent on ...", "Answered", "Expired on ..."
    may_issue: bool  # a link can be made for it now
    live: bool  # its latest link still works


def link_rows(session: Session, *, audit: Audit) -> list[LinkRow]:
    """Every return of the audit that may be answered by link (none unless ``by_link``),
    each with the state of its latest link, by case then agency."""
    if not by_link(audit):
        return []
    found = session.execute(
        select(Return.id, Return.status, Return.excluded_at, Child.pseudonym, Agency.name)
        .join(Child, Child.id == Return.child_id)
        .join(Agency, Agency.id == Return.agency_id)
        .where(Return.audit_id == audit.id)
        .order_by(Child.pseudonym, Agency.name)
    ).all()
    latest: dict[int, RespondentLink] = {}
    for made in session.scalars(
        select(RespondentLink)
        .where(RespondentLink.return_id.in_([r.id for r in found]))
        .order_by(RespondentLink.created_at, RespondentLink.id)
    ):
        latest[made.return_id] = made
    now = utcnow()
    rows = []
    for r in found:
        link = latest.get(r.id)
        live = link is not None and works(link, now)
        may_issue = answerable(audit, r.status, r.excluded_at is not None)
        rows.append(
            LinkRow(
                return_id=r.id,
                case=r.pseudonym,
                agency=r.name,
                status=r.status,
                link=link,
                state=_state(link, r.status, r.excluded_at is not None, now),
                may_issue=may_issue,
                live=live and may_issue,
            )
        )
    return rows


def _state(link: RespondentLink | None, status: ReturnStatus, excluded: bool, now) -> str:
    if status in ANSWERED:
        if link is not None and link.used_at is not None:
            return f"Answered by link on {format_date(link.used_at)}"
        return "Answered"
    if excluded:
        return "Left out of moderation"
    if link is None or link.voided_at is not None:
        return "No link"
    if link.used_at is not None:  # sent, then sent back for amendment
        return f"Answered by link on {format_date(link.used_at)}, sent back since"
    if link.expires_at <= now:
        return f"Expired on {format_date(link.expires_at)}"
    return f"Sent on {format_date(link.created_at)}, expires on {format_date(link.expires_at)}"


def _return_of(session: Session, *, audit: Audit, return_id: int) -> Return:
    """The audit's return, locked (two links made at once: one voids the other)."""
    found = session.scalar(
        select(Return).where(Return.id == return_id, Return.audit_id == audit.id).with_for_update()
    )
    if found is None:
        raise NotFound(f"This audit has no return with id {return_id}.")
    return found


def _void_unused(session: Session, *, return_id: int, reason: str) -> list[int]:
    """Stop the return's unused links working (each logged); their ids."""
    ids = list(
        session.scalars(
            select(RespondentLink.id).where(
                RespondentLink.return_id == return_id,
                RespondentLink.used_at.is_(None),
                RespondentLink.voided_at.is_(None),
            )
        )
    )
    if not ids:
        return []
    session.execute(
        update(RespondentLink).where(RespondentLink.id.in_(ids)).values(voided_at=utcnow())
    )
    for link_id in ids:
        auditlog.record(
            session,
            action="respondent_link.void",
            object_type="respondent_link",
            object_id=link_id,
            after={"return_id": return_id, "reason": reason},
        )
    return ids


def issue(
    session: Session, *, audit: Audit, return_id: int, actor: Actor, settings: Settings
) -> tuple[RespondentLink, str]:
    """Make a link for one of the audit's returns (its earlier unused link stops
    working); the link and its token, which is shown once and never stored."""
    if not by_link(audit):
        raise StateError(
            "Returns of this audit are answered by the agencies' auditors: one-time links "
            "are for audits about agencies and family surveys."
        )
    return_ = _return_of(session, audit=audit, return_id=return_id)
    if not answerable(audit, return_.status, return_.excluded_at is not None):
        raise StateError(
            "This return can no longer be answered"
            + (
                ": it has been sent."
                if return_.status in ANSWERED
                else f" (the audit is {audit.status.value})."
            )
        )
    replaced = _void_unused(session, return_id=return_.id, reason="a new link was made")
    plain = new_token()
    now = utcnow()
    link = RespondentLink(
        return_id=return_.id,
        token_hash=digest(plain),
        created_at=now,
        expires_at=now + timedelta(days=settings.respondent_link_days),
        created_by_id=actor.user_id,
        created_by_label=actor.label[:320],
    )
    session.add(link)
    session.flush()
    auditlog.record(
        session,
        action="respondent_link.issue",
        object_type="respondent_link",
        object_id=link.id,
        after={
            "audit_id": audit.id,
            "return_id": return_.id,
            "expires_at": link.expires_at,
            **({"replaces": replaced} if replaced else {}),
        },
    )
    return link, plain


def void(session: Session, *, audit: Audit, return_id: int) -> list[int]:
    """Stop the return's unused link working (it was given to the wrong person, say);
    the ids of the links voided (none: there was no link working)."""
    return_ = _return_of(session, audit=audit, return_id=return_id)
    return _void_unused(session, return_id=return_.id, reason="voided")
