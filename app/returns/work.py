"""My work: what an auditor's own agency is to complete, and has done.

Never wider than the auditor's own agency: once moderation opens, an agency may read
every return of the audit (the reveal), but those are not its work. Returns are grouped
by audit, to do before done, overdue audits first; each return says how many of its
key areas are done. Audits about agencies (a learning assurance questionnaire, a
Section 11 self-assessment) are listed apart, each the agency's one return about itself.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session, selectinload

from app.access.models import User
from app.access.policy import Actor, return_scope
from app.agencies.models import Agency
from app.audit_templates.models import (
    BOX_NAMES,
    AuditSubject,
    KeyArea,
    SectionKind,
    TemplateVersion,
)
from app.audits.models import Audit, AuditStatus, Child
from app.returns.models import Answer, Grade, KeyAreaEvidence, Return, ReturnStatus
from app.returns.validation import asked_now, condition_targets

DONE = frozenset({ReturnStatus.SUBMITTED, ReturnStatus.MODERATED})
# Audits whose returns are someone's work: open, or in moderation (a return sent back
# for amendment is worked on again; submitted ones are done).
CURRENT = (AuditStatus.OPEN, AuditStatus.MODERATION)


def area_state(
    key_area: KeyArea,
    answered: set[int],
    graded: set[int],
    asked: dict[int, bool] | None = None,
    *,
    required_boxes: tuple[str, ...] = (),
    written: set[str] = frozenset(),  # type: ignore[assignment]
) -> str:
    """A key area of a return: Completed (every required question it asks answered,
    every required box of evidence written in and, if the key area is graded, a grade
    given), In progress, or Not yet started. ``asked``: whether each question is asked
    (validation.asked_now), default all; ``written``: the boxes of this key area with
    words in them."""
    required = [q.id for q in key_area.questions if q.required and (asked is None or asked[q.id])]
    touched = bool(answered & {q.id for q in key_area.questions} or written) or (
        key_area.id in graded
    )
    if (
        all(q in answered for q in required)
        and all(box in written for box in required_boxes)
        and (not key_area.graded or key_area.id in graded)
    ):
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
    """One page of My work: ``to_do`` then ``done`` groups, at most AUDITS_PER_PAGE of
    them in all; the counts are of every page."""

    agency: str | None
    to_do: list[WorkAudit]
    done: list[WorkAudit]
    to_do_count: int = 0
    overdue_count: int = 0
    done_count: int = 0
    page: int = 1
    pages: int = 1


# Audit groups on one page (to do first, then done). Current audits are few, so nearly
# always everything is on the first page; the paging is what keeps a partnership with
# many audits open at once from building one page of every return it has in hand.
AUDITS_PER_PAGE = 20


@dataclass(frozen=True)
class _Audit:
    id: int
    title: str
    due_on: date | None
    to_do: int
    done: int
    questionnaire: bool


def my_work(session: Session, *, actor: Actor, today: date, page: int = 1) -> MyWork:
    """The actor's own agency's returns in current audits, to do and done: the
    ``page``-th AUDITS_PER_PAGE audit groups (a page past the last shows the last)."""
    if actor.agency_id is None:
        return MyWork(agency=None, to_do=[], done=[])
    agency = session.scalar(select(Agency.name).where(Agency.id == actor.agency_id))
    audits = _audits(session, actor)

    def order(audit: _Audit, *, done: bool):
        overdue = not done and audit.due_on is not None and audit.due_on < today
        return (not overdue, audit.due_on or date.max, audit.title)

    sections = [
        (False, a) for a in sorted(audits, key=lambda a: order(a, done=False)) if a.to_do
    ] + [(True, a) for a in sorted(audits, key=lambda a: order(a, done=True)) if a.done]
    pages = max(1, -(-len(sections) // AUDITS_PER_PAGE))
    page = min(max(page, 1), pages)
    shown = sections[(page - 1) * AUDITS_PER_PAGE : page * AUDITS_PER_PAGE]
    groups = {
        (done, a.id): WorkAudit(
            id=a.id,
            title=a.title,
            due_on=a.due_on,
            overdue=not done and a.due_on is not None and a.due_on < today,
            questionnaire=a.questionnaire,
        )
        for done, a in shown
    }
    rows = session.execute(
        select(
            Return.id,
            Return.status,
            Return.updated_at,
            Return.assigned_to_id,
            User.display_name.label("assigned_to"),
            Child.pseudonym,
            Return.audit_id,
            Audit.template_version_id,
        )
        .join(Child, Child.id == Return.child_id)
        .join(Audit, Audit.id == Return.audit_id)
        .outerjoin(User, User.id == Return.assigned_to_id)
        .where(_mine(actor), Return.audit_id.in_({a.id for _, a in shown}))
    ).all()
    rows = [row for row in rows if (row.status in DONE, row.audit_id) in groups]
    progress = _progress(session, rows)
    for row in rows:
        finished, total = progress[row.id]
        groups[(row.status in DONE, row.audit_id)].returns.append(
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
    return MyWork(
        agency=agency,
        to_do=[groups[(False, a.id)] for done, a in shown if not done],
        done=[groups[(True, a.id)] for done, a in shown if done],
        to_do_count=sum(a.to_do for a in audits),
        overdue_count=sum(a.to_do for a in audits if a.due_on is not None and a.due_on < today),
        done_count=sum(a.done for a in audits),
        page=page,
        pages=pages,
    )


def _mine(actor: Actor) -> ColumnElement[bool]:
    """The actor's own agency's returns in current audits that they may read."""
    return and_(
        Return.agency_id == actor.agency_id,
        return_scope(actor),
        Audit.status.in_(CURRENT),
        Return.excluded_at.is_(None),  # left out of moderation: no one's work now
    )


def _audits(session: Session, actor: Actor) -> list[_Audit]:
    """Each current audit with the actor's agency's returns: how many to do and done."""
    done = case((Return.status.in_(DONE), 1), else_=0)
    found = session.execute(
        select(
            Audit.id,
            Audit.title,
            Audit.returns_due_on,
            func.count() - func.sum(done),
            func.sum(done),
            Audit.subject,
        )
        .select_from(Return)
        .join(Audit, Audit.id == Return.audit_id)
        .where(_mine(actor))
        .group_by(Audit.id, Audit.title, Audit.returns_due_on, Audit.subject)
    ).all()
    # An audit about agencies (an assurance questionnaire, a Section 11 self-assessment):
    # the agency's one return about itself, listed by the audit's title.
    return [
        _Audit(audit_id, title, due_on, to_do, done, subject == AuditSubject.AGENCY)
        for audit_id, title, due_on, to_do, done, subject in found
    ]


def _key_areas(session: Session, version_ids: set[int]) -> dict[int, list[KeyArea]]:
    """Each template version's key areas with their questions, in two queries for all
    of them (each version read whole, scale and all, took five queries a version)."""
    found: dict[int, list[KeyArea]] = {version_id: [] for version_id in version_ids}
    if version_ids:
        for key_area in session.scalars(
            select(KeyArea)
            .where(KeyArea.template_version_id.in_(version_ids))
            .order_by(KeyArea.kind != SectionKind.KEY_AREA, KeyArea.position)
            .options(selectinload(KeyArea.questions))
        ):
            found[key_area.template_version_id].append(key_area)
    return found


def _required_boxes(session: Session, version_ids: set[int]) -> dict[int, tuple[str, ...]]:
    """Each version's boxes of evidence that must be written in (most have none)."""
    found: dict[int, tuple[str, ...]] = {version_id: () for version_id in version_ids}
    if version_ids:
        for version_id, has, spec in session.execute(
            select(
                TemplateVersion.id,
                TemplateVersion.has_evidence_boxes,
                TemplateVersion.evidence_box_spec,
            ).where(
                TemplateVersion.id.in_(version_ids), TemplateVersion.evidence_box_spec.is_not(None)
            )
        ):
            found[version_id] = tuple(b["box"] for b in spec if b["required"]) if has else ()
    return found


def _progress(session: Session, rows) -> dict[int, tuple[int, int]]:
    """Each return's (key areas done, key areas in all), in four queries (five when a
    template has conditions: the answers that decide them). The section of questions
    about the whole case is not a key area: it is read for its questions' conditions."""
    ids = [row.id for row in rows]
    answered: dict[int, set[int]] = defaultdict(set)
    graded: dict[int, set[int]] = defaultdict(set)
    versions = _key_areas(session, {row.template_version_id for row in rows})
    asked_in = {v: [q for k in areas for q in k.questions] for v, areas in versions.items()}
    targets = set().union(*(condition_targets(qs) for qs in asked_in.values()))
    deciding: dict[int, dict[int, str]] = defaultdict(dict)
    if ids and targets:
        for return_id, question_id, value in session.execute(
            select(Answer.return_id, Answer.question_id, Answer.value).where(
                Answer.return_id.in_(ids), Answer.question_id.in_(targets)
            )
        ):
            deciding[return_id][question_id] = value
    if ids:
        for return_id, question_id in session.execute(
            select(Answer.return_id, Answer.question_id).where(Answer.return_id.in_(ids))
        ):
            answered[return_id].add(question_id)
        for return_id, key_area_id in session.execute(
            select(Grade.return_id, Grade.key_area_id).where(Grade.return_id.in_(ids))
        ):
            graded[return_id].add(key_area_id)

    required_boxes = _required_boxes(session, set(versions))
    written: dict[tuple[int, int], set[str]] = defaultdict(set)
    if ids and any(required_boxes.values()):
        for return_id, key_area_id, *texts in session.execute(
            select(
                KeyAreaEvidence.return_id,
                KeyAreaEvidence.key_area_id,
                *(getattr(KeyAreaEvidence, box) for box in BOX_NAMES),
            ).where(KeyAreaEvidence.return_id.in_(ids))
        ):
            written[(return_id, key_area_id)] = {
                box for box, words in zip(BOX_NAMES, texts, strict=True) if words.strip()
            }

    def asked(row) -> dict[int, bool] | None:
        questions = asked_in[row.template_version_id]
        if not any(q.condition for q in questions):
            return None
        return asked_now(questions, deciding[row.id])

    areas_in = {
        v: [k for k in areas if k.kind == SectionKind.KEY_AREA] for v, areas in versions.items()
    }
    return {
        row.id: (
            sum(
                area_state(
                    k,
                    answered[row.id],
                    graded[row.id],
                    asked(row),
                    required_boxes=required_boxes[row.template_version_id],
                    written=written[(row.id, k.id)],
                )
                == "Completed"
                for k in areas_in[row.template_version_id]
            ),
            len(areas_in[row.template_version_id]),
        )
        for row in rows
    }
