"""My work: what an auditor's own agency is to complete, and has done.

Never wider than the auditor's own agency: once moderation opens, an agency may read
every return of the audit (the reveal), but those are not its work. Returns are grouped
by audit, to do before done, overdue audits first; each return says how many of its
key areas are done. Learning assurance questionnaires (an audit launched by a published
briefing) are listed apart, as questionnaires, not as children.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.models import User
from app.access.policy import Actor, return_scope
from app.agencies.models import Agency
from app.audit_templates import service as templates
from app.audit_templates.models import KeyArea
from app.audits.models import Audit, AuditStatus, Child
from app.briefings.models import Briefing
from app.returns.models import Answer, Grade, Return, ReturnStatus

DONE = frozenset({ReturnStatus.SUBMITTED, ReturnStatus.MODERATED})
# Audits whose returns are someone's work: open, or in moderation (a return sent back
# for amendment is worked on again; submitted ones are done).
CURRENT = (AuditStatus.OPEN, AuditStatus.MODERATION)


def area_state(key_area: KeyArea, answered: set[int], graded: set[int]) -> str:
    """A key area of a return: Completed (every required question answered and, if the
    key area is graded, a grade given), In progress, or Not yet started."""
    required = [q.id for q in key_area.questions if q.required]
    touched = bool(answered & {q.id for q in key_area.questions}) or key_area.id in graded
    if all(q in answered for q in required) and (not key_area.graded or key_area.id in graded):
        return "Completed"
    return "In progress" if touched else "Not yet started"


@dataclass
class WorkReturn:
    id: int
    child: str
    status: ReturnStatus
    key_areas_done: int
    key_areas_total: int
    updated_at: datetime | None
    # Whom the agency's lead gave it to (None: no one in particular); mine: to me.
    assigned_to: str | None = None
    mine: bool = False


@dataclass
class WorkAudit:
    id: int
    title: str
    due_on: date | None
    overdue: bool
    questionnaire: bool
    returns: list[WorkReturn] = field(default_factory=list)


@dataclass
class MyWork:
    agency: str | None
    to_do: list[WorkAudit]
    done: list[WorkAudit]

    @property
    def to_do_count(self) -> int:
        return sum(len(a.returns) for a in self.to_do)

    @property
    def overdue_count(self) -> int:
        return sum(len(a.returns) for a in self.to_do if a.overdue)

    @property
    def done_count(self) -> int:
        return sum(len(a.returns) for a in self.done)


def my_work(session: Session, *, actor: Actor, today: date) -> MyWork:
    """The actor's own agency's returns in current audits, to do and done."""
    if actor.agency_id is None:
        return MyWork(agency=None, to_do=[], done=[])
    agency = session.scalar(select(Agency.name).where(Agency.id == actor.agency_id))
    questionnaire = select(Briefing.id).where(Briefing.assurance_audit_id == Audit.id).exists()
    rows = session.execute(
        select(
            Return.id,
            Return.status,
            Return.updated_at,
            Return.assigned_to_id,
            User.display_name.label("assigned_to"),
            Child.pseudonym,
            Audit.id.label("audit_id"),
            Audit.title,
            Audit.returns_due_on,
            Audit.template_version_id,
            questionnaire.label("questionnaire"),
        )
        .join(Child, Child.id == Return.child_id)
        .join(Audit, Audit.id == Return.audit_id)
        .outerjoin(User, User.id == Return.assigned_to_id)
        .where(
            Return.agency_id == actor.agency_id,
            return_scope(actor),
            Audit.status.in_(CURRENT),
            Return.excluded_at.is_(None),  # left out of moderation: no one's work now
        )
    ).all()
    progress = _progress(session, rows)
    groups: dict[tuple[bool, int], WorkAudit] = {}
    for row in rows:
        done = row.status in DONE
        group = groups.get((done, row.audit_id))
        if group is None:
            group = groups[(done, row.audit_id)] = WorkAudit(
                id=row.audit_id,
                title=row.title,
                due_on=row.returns_due_on,
                overdue=not done and row.returns_due_on is not None and row.returns_due_on < today,
                questionnaire=bool(row.questionnaire),
            )
        finished, total = progress[row.id]
        group.returns.append(
            WorkReturn(
                id=row.id,
                child=row.pseudonym,
                status=row.status,
                key_areas_done=finished,
                key_areas_total=total,
                updated_at=row.updated_at,
                assigned_to=row.assigned_to,
                mine=row.assigned_to_id is not None and row.assigned_to_id == actor.user_id,
            )
        )
    for group in groups.values():  # those assigned to me first
        group.returns.sort(key=lambda r: (not r.mine, r.child))

    def order(group: WorkAudit):
        return (not group.overdue, group.due_on or date.max, group.title)

    return MyWork(
        agency=agency,
        to_do=sorted((g for (done, _), g in groups.items() if not done), key=order),
        done=sorted((g for (done, _), g in groups.items() if done), key=order),
    )


def _progress(session: Session, rows) -> dict[int, tuple[int, int]]:
    """Each return's (key areas done, key areas in all), in two queries."""
    ids = [row.id for row in rows]
    answered: dict[int, set[int]] = defaultdict(set)
    graded: dict[int, set[int]] = defaultdict(set)
    if ids:
        for return_id, question_id in session.execute(
            select(Answer.return_id, Answer.question_id).where(Answer.return_id.in_(ids))
        ):
            answered[return_id].add(question_id)
        for return_id, key_area_id in session.execute(
            select(Grade.return_id, Grade.key_area_id).where(Grade.return_id.in_(ids))
        ):
            graded[return_id].add(key_area_id)
    versions = {
        version_id: templates.get_version(session, version_id=version_id).key_areas
        for version_id in {row.template_version_id for row in rows}
    }
    return {
        row.id: (
            sum(
                area_state(k, answered[row.id], graded[row.id]) == "Completed"
                for k in versions[row.template_version_id]
            ),
            len(versions[row.template_version_id]),
        )
        for row in rows
    }
