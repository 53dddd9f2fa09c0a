"""Telling people when a learning action becomes overdue, and when it is escalated to
the Executive: each once for each due date, from the courier's rounds.

The tracker's rules decide (app/actions/lifecycle.py ``assess``): an action open past
its due date is escalated to its audit's lead subgroup at once, and to the Executive
once it is more than ``escalate_to_executive_after_days`` overdue. Each action records
how far its lateness has been told (``escalation_told``); a round claims each step with
an UPDATE that names the step it saw, so two rounds at once (two web processes, or cron
beside them) never tell anyone twice. Moving the due date makes its lateness news again
(app/actions/service.py)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, joinedload

from app.actions.lifecycle import OPEN, Escalation, assess
from app.actions.models import LearningAction
from app.audits.models import Audit
from app.db import rows_matched
from app.notifications import notices

NONE, SUBGROUP, EXECUTIVE = "none", Escalation.SUBGROUP.value, Escalation.EXECUTIVE.value


def tell(session: Session, *, today: date, executive_after_days: int) -> list[int]:
    """Queue what is due to be told on ``today``, in the caller's transaction; the ids
    of the actions told."""
    executive_from = today - timedelta(days=executive_after_days)
    due = session.scalars(
        select(LearningAction)
        .where(
            LearningAction.status.in_(OPEN),
            LearningAction.due_on < today,
            or_(
                LearningAction.escalation_told == NONE,
                and_(
                    LearningAction.escalation_told == SUBGROUP,
                    LearningAction.due_on < executive_from,
                ),
            ),
        )
        .options(
            joinedload(LearningAction.audit).joinedload(Audit.lead_subgroup),
            joinedload(LearningAction.owning_agency),
        )
        .order_by(LearningAction.id)
        .execution_options(populate_existing=True)  # as stored now, not as last loaded
    ).all()
    told = []
    for action in due:
        standing = assess(action, today, executive_after_days)
        seen, reached = action.escalation_told, standing.escalation.value
        if not claim(session, action_id=action.id, seen=seen, reached=reached):
            continue  # another round told it
        if seen == NONE:
            notices.action_overdue(session, action=action, standing=standing)
        if reached == EXECUTIVE:
            notices.action_escalated(session, action=action, standing=standing)
        told.append(action.id)
    return told


def claim(session: Session, *, action_id: int, seen: str, reached: str) -> bool:
    """Record that the action's lateness is told as far as ``reached``, if it is still
    told only as far as ``seen``: False when another round claimed it first."""
    claimed = session.execute(
        update(LearningAction)
        .where(LearningAction.id == action_id, LearningAction.escalation_told == seen)
        .values(escalation_told=reached)
        .execution_options(synchronize_session="fetch")
    )
    return rows_matched(claimed) == 1


def tell_due(
    factory: Callable[[], AbstractContextManager[Session]],
    *,
    today: date,
    executive_after_days: int,
) -> list[int]:
    """``tell`` in a transaction of its own, committed before the notices are sent."""
    with factory() as session:
        told = tell(session, today=today, executive_after_days=executive_after_days)
        session.commit()
    return told
