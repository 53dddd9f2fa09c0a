"""Moderation's stages: opening it (the reveal), and finishing it once every return is
moderated or left out (the audit moves to learning). What each child still waits for
is said return by return.

Finishing is the one way out of moderation, and nothing leads back into it, so it is
where the audit's decisions, final from then on, join the pooled analytics' tally
(app/moderation/tally.py); closing and reopening move between settled stages only."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.policy import Actor
from app.auditlog import service as auditlog
from app.audits.models import Audit, AuditStatus
from app.clock import utcnow
from app.errors import FieldError, InvalidInput
from app.moderation import tally
from app.moderation.service import MODERATABLE, Grid, grid, require_status
from app.notifications import notices
from app.returns.models import Return


def open_moderation(session: Session, *, audit: Audit) -> Audit:
    """Move an open audit into moderation. From now on every participating agency may
    see the whole child-by-agency picture, read-only: the reveal is in the audit log."""
    require_status(session, audit, AuditStatus.OPEN)
    waiting = session.scalar(
        select(Return.id)
        .where(Return.audit_id == audit.id, Return.status.in_(MODERATABLE))
        .limit(1)
    )
    if waiting is None:
        raise InvalidInput(
            "No return has been submitted yet, so there is nothing to moderate.",
            fields=[FieldError("returns", "Wait until agencies have submitted their returns")],
        )
    audit.status = AuditStatus.MODERATION
    audit.moderation_started_at = utcnow()
    session.flush()
    auditlog.record(
        session,
        action="audit.open_moderation",
        object_type="audit",
        object_id=audit.id,
        before={"status": AuditStatus.OPEN.value},
        after={
            "status": audit.status.value,
            "revealed_to_agencies": sorted(a.id for a in audit.agencies),
        },
    )
    notices.moderation_opened(session, audit=audit)
    return audit


def still_to_do(found: Grid, child_id: int) -> list[str]:
    """What stands between the child and being moderated, a line per agency: a return
    not in (wait for it, or leave it out with a reason) or grades still to decide."""
    names = {a.id: a.name for a in found.agencies}
    lines = []
    for agency_id in names:
        return_ = found.return_for(child_id, agency_id)
        if return_ is None or return_.excluded_at is not None:
            continue
        if return_.status not in MODERATABLE:
            lines.append(
                f"{names[agency_id]}'s return is not in yet: wait for it, or leave it out "
                "of moderation with a reason"
            )
            continue
        cells = [found.cell(child_id, agency_id, cell) for cell, _title in found.areas]
        mine = [c for c in cells if c is not None and not c.done]
        if mine:
            lines.append(f"{names[agency_id]} has {len(mine)} grade(s) still to moderate")
    return lines


def finish(session: Session, *, actor: Actor, audit: Audit) -> Audit:
    """Close moderation once every child is moderated; the audit moves to learning and
    its moderated grades are final: they are counted into the analytics' tally now,
    in this transaction."""
    require_status(session, audit, AuditStatus.MODERATION)
    found = grid(session, actor=actor, audit=audit)
    # Every return moderated or left out (a template that grades nothing has no cells,
    # so its returns are counted here rather than by their cells).
    waiting = [c for c in found.children if still_to_do(found, c.id)]
    if waiting:
        raise InvalidInput(
            f"{len(waiting)} of {len(found.children)} {audit.words.many} are not moderated yet.",
            fields=[
                FieldError(f"child-{c.id}", f"{c.pseudonym}: {what}")
                for c in waiting
                for what in still_to_do(found, c.id)
            ],
        )
    audit.status = AuditStatus.LEARNING
    audit.learning_started_at = utcnow()
    session.flush()
    # Before the audit log's row: the tally's lock is always taken before the log's.
    tally.count_settled(session, audit=audit)
    auditlog.record(
        session,
        action="audit.finish_moderation",
        object_type="audit",
        object_id=audit.id,
        before={"status": AuditStatus.MODERATION.value},
        after={"status": audit.status.value},
    )
    return audit
