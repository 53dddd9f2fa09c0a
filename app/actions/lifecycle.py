"""A learning action's lifecycle, and where it stands today: pure rules, no database.

``LIFECYCLE`` is the one table of allowed status changes: who may make each and what
it needs. ``assess`` computes RAG, days overdue and escalation from the due date and
a ``today`` it is given (never the clock), so it can be tested on fixed dates.

RAG (with a blue and a grey, as partnerships' BRAG ratings do):

- red, "Overdue": open (proposed, agreed or in progress) and past its due date;
- amber, "Due soon": open and due within ``DUE_SOON_DAYS`` (today included);
- green, "On track": open and due later than that;
- blue, "Complete": completed, impact evidenced or closed (never overdue);
- grey, "Not accepted": refused at the moderation meeting (never overdue).

Escalation: an overdue action goes to the audit's lead subgroup at once, and also to
the Executive once it is more than ``escalate_to_executive_after_days`` overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from app.access.policy import Permission
from app.actions.models import ActionStatus

S = ActionStatus
DUE_SOON_DAYS = 14
EXECUTIVE = "Executive"

STATUS_LABELS = {
    S.PROPOSED: "Proposed",
    S.AGREED: "Agreed",
    S.IN_PROGRESS: "In progress",
    S.COMPLETED: "Completed",
    S.IMPACT_EVIDENCED: "Impact evidenced",
    S.CLOSED: "Closed",
    S.NOT_ACCEPTED: "Not accepted",
}
OPEN = frozenset({S.PROPOSED, S.AGREED, S.IN_PROGRESS})
DONE = frozenset({S.COMPLETED, S.IMPACT_EVIDENCED, S.CLOSED})
FINISHED = frozenset({S.CLOSED, S.NOT_ACCEPTED})  # nothing more can happen


@dataclass(frozen=True)
class Step:
    """One allowed change: to which status, the permission it takes (ACTION_UPDATE
    means agency leads too, for their own agency's actions), and what it requires."""

    to: ActionStatus
    permission: Permission
    requires: str | None  # "evidence" or "reason": must not be blank
    label: str  # the button that makes it


M, U = Permission.ACTION_MANAGE, Permission.ACTION_UPDATE
LIFECYCLE: dict[ActionStatus, tuple[Step, ...]] = {
    S.PROPOSED: (
        Step(S.AGREED, M, None, "Agree the action"),
        Step(S.NOT_ACCEPTED, M, "reason", "Do not accept the action"),
    ),
    S.AGREED: (Step(S.IN_PROGRESS, U, None, "Start work on the action"),),
    S.IN_PROGRESS: (Step(S.COMPLETED, U, "evidence", "Mark as completed"),),
    S.COMPLETED: (Step(S.IMPACT_EVIDENCED, U, "evidence", "Record the evidence of impact"),),
    S.IMPACT_EVIDENCED: (Step(S.CLOSED, M, None, "Close the action"),),
    S.CLOSED: (),
    S.NOT_ACCEPTED: (),
}


def step(current: ActionStatus, to: ActionStatus) -> Step | None:
    return next((s for s in LIFECYCLE[current] if s.to == to), None)


def allowed_next(current: ActionStatus) -> list[ActionStatus]:
    return [s.to for s in LIFECYCLE[current]]


class Rag(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"
    BLUE = "blue"
    GREY = "grey"


RAG_LABELS = {
    Rag.RED: "Overdue",
    Rag.AMBER: "Due soon",
    Rag.GREEN: "On track",
    Rag.BLUE: "Complete",
    Rag.GREY: "Not accepted",
}


class Escalation(StrEnum):
    NONE = "none"
    SUBGROUP = "subgroup"  # the audit's lead subgroup
    EXECUTIVE = "executive"  # the lead subgroup and the Executive


@dataclass(frozen=True)
class Standing:
    rag: Rag
    overdue_days: int  # 0 unless overdue
    escalation: Escalation

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0


@dataclass(frozen=True)
class Clock:
    """The day the tracker is read on, and the settings' escalation threshold."""

    today: date
    executive_after_days: int


class HasDue(Protocol):
    status: ActionStatus
    due_on: date


def assess(action: HasDue, today: date, executive_after_days: int) -> Standing:
    """Where the action stands on ``today``: its RAG, how many days overdue (due
    yesterday is 1; due today is not overdue) and to whom it is escalated."""
    if action.status in DONE:
        return Standing(Rag.BLUE, 0, Escalation.NONE)
    if action.status not in OPEN:
        return Standing(Rag.GREY, 0, Escalation.NONE)
    late = (today - action.due_on).days
    if late > 0:
        level = Escalation.EXECUTIVE if late > executive_after_days else Escalation.SUBGROUP
        return Standing(Rag.RED, late, level)
    if -late <= DUE_SOON_DAYS:
        return Standing(Rag.AMBER, 0, Escalation.NONE)
    return Standing(Rag.GREEN, 0, Escalation.NONE)


def escalated_to(escalation: Escalation, lead_subgroup: str | None) -> list[str]:
    """Who the action is escalated to, by name."""
    if escalation == Escalation.NONE:
        return []
    names = [lead_subgroup or "Lead subgroup (none set)"]
    if escalation == Escalation.EXECUTIVE and EXECUTIVE not in names:
        names.append(EXECUTIVE)
    return names
