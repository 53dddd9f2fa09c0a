"""Returns not in when moderation opens: a late return never blocks the meeting.

For each return not submitted, the chair either waits for it (the agency can still
complete and submit it during moderation, and it is moderated when it arrives) or
leaves it out of moderation with a reason. Leaving out is recorded and reversible
(including it again, also with a reason); every report shows a return left out as
"not received", with the reason. Moderation finishes when every return is moderated
or left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.access.policy import Actor
from app.agencies.models import Agency
from app.auditlog import service as auditlog
from app.audits.cohort import lock_audit
from app.audits.models import Audit, AuditStatus, Child
from app.clock import utcnow
from app.errors import FieldError, InvalidInput, NotFound, StateError
from app.returns.models import EDITABLE_STATUSES, Return, ReturnStatus
from app.schemas_base import check_text

REASON_MAX = 20_000  # as every other reason and rationale


@dataclass(frozen=True)
class NotIn:
    """A return of the audit that has not been submitted (or was left out)."""

    return_id: int
    child: str
    agency: str
    status: ReturnStatus
    excluded_reason: str | None  # None: not left out
    excluded_by: str


def not_in(session: Session, *, audit: Audit) -> list[NotIn]:
    """Every return of the audit not submitted, or left out, by child then agency."""
    rows = session.execute(
        select(Return, Child.pseudonym, Agency.name)
        .join(Child, Child.id == Return.child_id)
        .join(Agency, Agency.id == Return.agency_id)
        .where(
            Return.audit_id == audit.id,
            (Return.status.in_(EDITABLE_STATUSES)) | Return.excluded_at.is_not(None),
        )
        .order_by(Child.pseudonym, Agency.name)
    )
    return [
        NotIn(
            r.id,
            child,
            agency,
            r.status,
            r.excluded_reason if r.excluded_at is not None else None,
            r.excluded_by_label,
        )
        for r, child, agency in rows
    ]


def checked_reason(reason: str, what: str) -> str:
    """The reason, trimmed; InvalidInput (field ``reason``) if blank, too long or not text."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            f"Give the reason for {what}.",
            fields=[FieldError("reason", f"Give the reason for {what}")],
        )
    if len(reason) > REASON_MAX:
        raise InvalidInput(
            "The reason is too long.",
            fields=[FieldError("reason", f"The reason must be {REASON_MAX:,} characters or fewer")],
        )
    try:
        check_text(reason)
    except ValueError:
        raise InvalidInput(
            "The reason has a control character in it.",
            fields=[FieldError("reason", "The reason must not contain control characters")],
        ) from None
    return reason


def _locked(session: Session, audit: Audit, return_id: int) -> Return:
    status = lock_audit(session, audit)
    if status != AuditStatus.MODERATION:
        raise StateError(
            f"The audit is {status.value}; a return can be left out of moderation or "
            "included again only while it is in moderation."
        )
    return_ = session.scalar(
        select(Return).where(Return.id == return_id, Return.audit_id == audit.id).with_for_update()
    )
    if return_ is None:
        raise NotFound(f"There is no return {return_id} in this audit.")
    return return_


def _set(session: Session, return_: Return, **values) -> None:
    # The version moves, so an auditor's open tab cannot save over the decision.
    session.execute(
        update(Return)
        .where(Return.id == return_.id)
        .values(version=Return.version + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    session.expire(return_)


def wait_for(session: Session, *, audit: Audit, return_ids: list[int]) -> None:
    """Record that the chair chose to wait for these returns when moderation opened."""
    if return_ids:
        auditlog.record(
            session,
            action="moderation.wait_for",
            object_type="audit",
            object_id=audit.id,
            after={"return_ids": sorted(return_ids)},
        )


def exclude(session: Session, *, audit: Audit, return_id: int, reason: str, actor: Actor) -> Return:
    """Leave a return that is not in out of moderation, with the reason."""
    reason = checked_reason(reason, "leaving the return out")
    return_ = _locked(session, audit, return_id)
    if return_.excluded_at is not None:
        raise StateError("This return is already left out of moderation.")
    if return_.status not in EDITABLE_STATUSES:
        raise StateError(
            f"This return is {return_.status.value.replace('_', ' ')}: it is in, so it is "
            "moderated rather than left out."
        )
    _set(
        session,
        return_,
        excluded_at=utcnow(),
        excluded_reason=reason,
        excluded_by_label=actor.label,
    )
    auditlog.record(
        session,
        action="return.exclude",
        object_type="return",
        object_id=return_.id,
        after={"excluded": True, "reason": reason, "status": return_.status.value},
    )
    return return_


def include(session: Session, *, audit: Audit, return_id: int, reason: str) -> Return:
    """Take a return left out back into moderation: the agency can complete and submit
    it again, and moderation cannot finish until it is moderated (or left out again)."""
    reason = checked_reason(reason, "including the return again")
    return_ = _locked(session, audit, return_id)
    if return_.excluded_at is None:
        raise StateError("This return is not left out of moderation.")
    before = {"excluded": True, "reason": return_.excluded_reason}
    _set(session, return_, excluded_at=None, excluded_reason="", excluded_by_label="")
    auditlog.record(
        session,
        action="return.include",
        object_type="return",
        object_id=return_.id,
        before=before,
        after={"excluded": False, "reason": reason},
    )
    return return_
