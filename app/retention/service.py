"""Finding and removing what the retention schedule (app/retention/schedule.py) says is
due.

``plan`` reads only: which kinds of record are due, how many values or rows, and for
which closed audits. ``apply`` removes exactly what a plan lists, in the caller's
transaction (so all of it, or none), writes a ``RetentionRemoval`` and one audit-log
row per audit per kind (what kind of field and how many, never the text), and returns
the removals. Case text is replaced by ``MARKER`` rather than deleted, so grades,
figures, decisions and their history stay whole; a value already removed is not
counted again, so a second run finds nothing.

When an audit closed is ``audit.closed_at``. An audit closed before that column was
kept (none in practice: closing came with it) falls back on the audit log's newest
``audit.close`` row; one closed with neither is never due, and is listed as such.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.access.models import KeptPost, SignInAttempt, SignInThrottle, WebSession
from app.audit_templates.models import AnswerType, KeyArea, Question
from app.auditlog import chain, checkpoints
from app.auditlog import service as auditlog
from app.auditlog.maintenance import append_only_lifted
from app.auditlog.models import AuditEvent
from app.audits.models import Audit, AuditStatus, Child
from app.briefings.models import Briefing, BriefingKind, BriefingVersion
from app.clock import utcnow
from app.config import Settings
from app.context import current
from app.db import Base, rows_matched
from app.findings.models import Finding
from app.moderation.models import ChildMeetingNote, ModeratedGrade
from app.respond.models import RespondentLinkFailure
from app.retention.models import RetentionRemoval
from app.retention.schedule import AUDIT_LOG, CASE_TEXT, MARKER, SIGN_IN, Rule
from app.returns.models import Answer, KeyAreaEvidence, Return, ReturnSubmission
from app.returns.versions import BOXES


@dataclass(frozen=True)
class ClosedAudit:
    id: int
    title: str
    template_version_id: int
    closed_at: datetime | None  # None: closed, but nothing says when
    from_log: bool = False  # closed_at read from the audit log's "audit.close" row
    # The (UTC) day its moderation started and its theme: which inspection packs cover it.
    moderated_on: date | None = None
    theme: str = ""


@dataclass(frozen=True)
class Due:
    """One kind of record due: ``count`` values (case text, for ``audit``) or rows."""

    rule: Rule
    count: int
    due_from: datetime  # the audit's close, or the moment before which rows are old enough
    audit: ClosedAudit | None = None


@dataclass
class Plan:
    now: datetime
    settings: Settings
    due: list[Due] = field(default_factory=list)
    # Closed audits whose case text is still inside its period, with when it is due.
    waiting: list[tuple[ClosedAudit, datetime]] = field(default_factory=list)
    # Closed audits with no record of when: never due until one is known.
    undated: list[ClosedAudit] = field(default_factory=list)
    audit_log_due: int = 0  # the log's oldest rows past retention_log_years (also in due)
    audit_log_before: datetime | None = None

    def of(self, rule: Rule) -> list[Due]:
        return [d for d in self.due if d.rule is rule]

    @property
    def nothing_due(self) -> bool:
        return not self.due and not self.audit_log_due


# --- each kind of record: how many are due, and removing them -------------------------


def _has_text(column: InstrumentedAttribute) -> ColumnElement[bool]:
    # NOT IN is never true for NULL, so a NULL note is not counted either.
    return column.notin_(("", MARKER))


def _returns_of(audit: ClosedAudit) -> Select:
    return select(Return.id).where(Return.audit_id == audit.id)


def _free_text_questions(audit: ClosedAudit) -> Select:
    return (
        select(Question.id)
        .join(KeyArea, KeyArea.id == Question.key_area_id)
        .where(
            KeyArea.template_version_id == audit.template_version_id,
            Question.answer_type == AnswerType.FREE_TEXT,
        )
    )


@dataclass(frozen=True)
class TextColumns:
    """Text columns of rows picked by ``where``: each value that holds text counts one,
    and is replaced by the marker."""

    model: type
    columns: tuple[InstrumentedAttribute, ...]
    where: Callable[[ClosedAudit], Iterable[ColumnElement[bool]]]

    def count(self, session: Session, audit: ClosedAudit) -> int:
        total = 0
        for column in self.columns:
            total += (
                session.scalar(
                    select(func.count())
                    .select_from(self.model)
                    .where(*self.where(audit), _has_text(column))
                )
                or 0
            )
        return total

    def remove(self, session: Session, audit: ClosedAudit) -> int:
        removed = 0
        for column in self.columns:
            result = session.execute(
                update(self.model)
                .where(*self.where(audit), _has_text(column))
                .values({column: MARKER})
                .execution_options(synchronize_session=False)
            )
            removed += rows_matched(result)
        return removed


def _text(value: object) -> bool:
    return isinstance(value, str) and value not in ("", MARKER)


@dataclass(frozen=True)
class JsonValues:
    """Text inside a JSON column, rewritten row by row in Python (JSON cannot be compared
    in SQL on both databases): ``scrub(audit_context, value)`` returns the value with its
    text removed and how many values it removed."""

    column: InstrumentedAttribute
    rows: Callable[[ClosedAudit], Select]
    scrub: Callable[[dict, object], tuple[object, int]]
    context: Callable[[Session, ClosedAudit], dict] = lambda _session, _audit: {}

    def _each(self, session: Session, audit: ClosedAudit):
        context = self.context(session, audit)
        for row in session.scalars(self.rows(audit)):
            scrubbed, n = self.scrub(context, getattr(row, self.column.key))
            if n:
                yield row, scrubbed, n

    def count(self, session: Session, audit: ClosedAudit) -> int:
        return sum(n for _row, _scrubbed, n in self._each(session, audit))

    def remove(self, session: Session, audit: ClosedAudit) -> int:
        removed = 0
        for row, scrubbed, n in list(self._each(session, audit)):
            setattr(row, self.column.key, scrubbed)  # a new value: JSON is not tracked in place
            removed += n
        session.flush()
        return removed


def _free_text_ids(session: Session, audit: ClosedAudit) -> dict:
    return {"questions": {str(q) for q in session.scalars(_free_text_questions(audit))}}


def _scrub_submission(context: dict, content: object) -> tuple[object, int]:
    """A submitted version's free-text answers and evidence boxes; its grades, other
    answers and the auditor's name stay."""
    if not isinstance(content, dict):
        return content, 0
    out, n = copy.deepcopy(content), 0
    answers = out.get("answers") or {}
    for question_id, value in answers.items():
        if question_id in context["questions"] and _text(value):
            answers[question_id], n = MARKER, n + 1
    for boxes in (out.get("evidence") or {}).values():
        for box in BOXES:
            if _text(boxes.get(box)):
                boxes[box], n = MARKER, n + 1
    return out, n


def _scrub_tags(_context: dict, tags: object) -> tuple[object, int]:
    """A child's context tags, all of them: one value (the child's list of tags)."""
    return ([], 1) if tags else (tags, 0)


def _scrub_sections(_context: dict, sections: object) -> tuple[object, int]:
    if not isinstance(sections, dict):
        return sections, 0
    n = sum(1 for value in sections.values() if _text(value))
    return {k: MARKER if _text(v) else v for k, v in sections.items()}, n


def _scrub_report(_context: dict, report: object) -> tuple[object, int]:
    """The identification check's report on a draft quotes what it found: all of it goes
    (checking the version again writes a new one)."""
    return ([], len(report)) if isinstance(report, list) and report else (report, 0)


def _unpublished_versions(audit: ClosedAudit) -> Select:
    """The versions never published of the audit's briefings and reports, and of every
    inspection pack that covers it (its period holds the day the audit's moderation
    started, and it has the audit's theme or none): a pack's drafts go with the first
    audit it covers whose case text goes."""
    theirs: ColumnElement[bool] = Briefing.audit_id == audit.id
    if audit.moderated_on is not None:
        covers = and_(
            Briefing.kind == BriefingKind.INSPECTION_PACK,
            Briefing.period_from <= audit.moderated_on,
            Briefing.period_to >= audit.moderated_on,
            or_(Briefing.theme.is_(None), Briefing.theme == audit.theme),
        )
        theirs = or_(theirs, covers)
    return (
        select(BriefingVersion)
        .join(Briefing, Briefing.id == BriefingVersion.briefing_id)
        .where(theirs, BriefingVersion.published_at.is_(None))
        .order_by(BriefingVersion.id)
    )


# The audit log's rows that carry an audit's case text: by the kind of object they are
# about, which of those objects are the audit's, and the names of the values that hold
# the text (a name ending in ":" picks every value it starts: "answer:12").
_LOGGED_TEXT: dict[
    str, tuple[InstrumentedAttribute, Callable[[ClosedAudit], Select], tuple[str, ...]]
] = {
    "return": (
        Return.id,
        lambda a: select(Return.id).where(Return.audit_id == a.id),
        ("answer:", "evidence:", "amendment_note", "excluded_reason", "reason"),
    ),
    "moderated_grade": (
        ModeratedGrade.id,
        lambda a: select(ModeratedGrade.id).where(ModeratedGrade.audit_id == a.id),
        ("rationale",),
    ),
    "child": (
        Child.id,
        lambda a: select(Child.id).where(Child.audit_id == a.id),
        ("context_tags", "discussion", "learning_points"),
    ),
    "finding": (
        Finding.id,
        lambda a: select(Finding.id).where(Finding.audit_id == a.id, Finding.child_id.is_not(None)),
        ("statement",),
    ),
}


def _named(names: tuple[str, ...]) -> Callable[[str], bool]:
    return lambda key: any(key.startswith(n) if n.endswith(":") else key == n for n in names)


def _names_audit(row: AuditEvent, audit_id: int) -> bool:
    """A row about an object since deleted is the audit's when its values say so."""
    return any(
        isinstance(v, dict) and v.get("audit_id") == audit_id for v in (row.before, row.after)
    )


@dataclass(frozen=True)
class LogValues:
    """The audit's case text where the audit log holds it (a return's answers and
    evidence, a rationale, a child's tags and meeting notes, a finding about a child):
    each value is replaced by its keyed digest (``chain.without``), which the row's hash
    covers, so the chain still verifies. A deleted child's or finding's rows are found
    by the audit their values name. The log is append-only: its guard is lifted for the
    update only, inside this transaction (on PostgreSQL that needs the log's owner: run
    the command as the role that runs the migrations)."""

    def _each(self, session: Session, audit: ClosedAudit):
        key = chain.chain_key()
        for object_type, (model_id, ids, names) in _LOGGED_TEXT.items():
            picks, mine = _named(names), set(session.scalars(ids(audit)))
            rows = session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.object_type == object_type,
                    or_(
                        AuditEvent.object_id.in_(ids(audit)),
                        AuditEvent.object_id.not_in(select(model_id)),
                    ),
                )
                .order_by(AuditEvent.id)
            )
            for row in rows:
                if row.object_id not in mine and not _names_audit(row, audit.id):
                    continue
                before, n_before = chain.without(row.before, picks, key=key)
                after, n_after = chain.without(row.after, picks, key=key)
                if n_before + n_after:
                    yield row.id, before, after, n_before + n_after

    def count(self, session: Session, audit: ClosedAudit) -> int:
        return sum(n for *_values, n in self._each(session, audit))

    def remove(self, session: Session, audit: ClosedAudit) -> int:
        changes = list(self._each(session, audit))
        if not changes:
            return 0
        with append_only_lifted(session):
            for row_id, before, after, _n in changes:
                session.execute(
                    update(AuditEvent)
                    .where(AuditEvent.id == row_id)
                    .values(before=before, after=after)
                    .execution_options(synchronize_session=False)
                )
        return sum(n for *_values, n in changes)


class Several:
    """A kind of record held in more than one shape (a briefing draft's sections and its
    report): the counts and removals of each, added."""

    def __init__(self, *parts: TextColumns | JsonValues) -> None:
        self.parts = parts

    def count(self, session: Session, audit: ClosedAudit) -> int:
        return sum(part.count(session, audit) for part in self.parts)

    def remove(self, session: Session, audit: ClosedAudit) -> int:
        return sum(part.remove(session, audit) for part in self.parts)


CASE_TEXT_HANDLERS: dict[str, TextColumns | JsonValues | Several | LogValues] = {
    "return_evidence": TextColumns(
        KeyAreaEvidence,
        (
            KeyAreaEvidence.went_well,
            KeyAreaEvidence.could_be_better,
            KeyAreaEvidence.impact_on_child,
        ),
        lambda a: [KeyAreaEvidence.return_id.in_(_returns_of(a))],
    ),
    "return_answers": TextColumns(
        Answer,
        (Answer.value,),
        lambda a: [
            Answer.return_id.in_(_returns_of(a)),
            Answer.question_id.in_(_free_text_questions(a)),
        ],
    ),
    "return_notes": TextColumns(
        Return,
        (Return.amendment_note, Return.excluded_reason),
        lambda a: [Return.audit_id == a.id],
    ),
    "return_versions": JsonValues(
        ReturnSubmission.content,
        lambda a: (
            select(ReturnSubmission)
            .where(ReturnSubmission.return_id.in_(_returns_of(a)))
            .order_by(ReturnSubmission.id)
        ),
        _scrub_submission,
        _free_text_ids,
    ),
    "moderation_rationales": TextColumns(
        ModeratedGrade, (ModeratedGrade.rationale,), lambda a: [ModeratedGrade.audit_id == a.id]
    ),
    "meeting_notes": TextColumns(
        ChildMeetingNote,
        (ChildMeetingNote.discussion, ChildMeetingNote.learning_points),
        lambda a: [ChildMeetingNote.audit_id == a.id],
    ),
    "context_tags": JsonValues(
        Child.context_tags,
        lambda a: select(Child).where(Child.audit_id == a.id).order_by(Child.id),
        _scrub_tags,
    ),
    "child_findings": TextColumns(
        Finding,
        (Finding.statement,),
        lambda a: [Finding.audit_id == a.id, Finding.child_id.is_not(None)],
    ),
    "log_values": LogValues(),
    "briefing_drafts": Several(
        JsonValues(BriefingVersion.sections, _unpublished_versions, _scrub_sections),
        JsonValues(BriefingVersion.check_report, _unpublished_versions, _scrub_report),
    ),
}


def _old_rows(rule: Rule, before: datetime) -> tuple[type[Base], ColumnElement[bool]]:
    """The table a sign-in rule deletes from, and which of its rows are old enough."""
    if rule.kind == "web_sessions":
        # A session never signed out (it sat idle, or ran to its lifetime) has no
        # ended_at: it ended at its expiry at the latest.
        return WebSession, func.coalesce(WebSession.ended_at, WebSession.expires_at) < before
    if rule.kind == "sign_in_throttle":
        return SignInThrottle, (SignInThrottle.window_started_at < before) & or_(
            SignInThrottle.locked_until.is_(None), SignInThrottle.locked_until < before
        )
    if rule.kind == "sign_in_attempts":
        return SignInAttempt, SignInAttempt.attempted_at < before
    if rule.kind == "kept_posts":
        return KeptPost, KeptPost.created_at < before
    if rule.kind == "respondent_link_failures":
        return RespondentLinkFailure, RespondentLinkFailure.attempted_at < before
    raise ValueError(f"no sign-in rule {rule.kind!r}")


# --- planning -------------------------------------------------------------------------


def closed_audits(session: Session) -> list[ClosedAudit]:
    """Every closed audit with when it closed (see the module's docstring), oldest first."""
    rows = session.execute(
        select(
            Audit.id,
            Audit.title,
            Audit.template_version_id,
            Audit.closed_at,
            Audit.moderation_started_at,
            Audit.theme,
        )
        .where(Audit.status == AuditStatus.CLOSED)
        .order_by(Audit.id)
    ).all()
    undated = [row.id for row in rows if row.closed_at is None]
    logged: dict[int, datetime] = {}
    if undated:
        logged = {
            object_id: at
            for object_id, at in session.execute(
                select(AuditEvent.object_id, func.max(AuditEvent.at))
                .where(
                    AuditEvent.action == "audit.close",
                    AuditEvent.object_type == "audit",
                    AuditEvent.object_id.in_(undated),
                )
                .group_by(AuditEvent.object_id)
            ).all()
            if object_id is not None
        }
    found = [
        ClosedAudit(
            id=row.id,
            title=row.title,
            template_version_id=row.template_version_id,
            closed_at=row.closed_at or logged.get(row.id),
            from_log=row.closed_at is None and row.id in logged,
            moderated_on=row.moderation_started_at.astimezone(UTC).date()
            if row.moderation_started_at
            else None,
            theme=row.theme or "",
        )
        for row in rows
    ]
    far = datetime.max.replace(tzinfo=utcnow().tzinfo)
    return sorted(found, key=lambda a: (a.closed_at or far, a.id))


def plan(session: Session, *, settings: Settings, now: datetime | None = None) -> Plan:
    """What is due at ``now`` (default: the clock's now). Reads only."""
    now = now or utcnow()
    found = Plan(now=now, settings=settings)
    # Every case-text rule has the one period (retention_case_text_years).
    case_text_period = CASE_TEXT[0].period(settings)
    for audit in closed_audits(session):
        if audit.closed_at is None:
            found.undated.append(audit)
            continue
        due_at = case_text_period.after(audit.closed_at)
        if due_at > now:
            found.waiting.append((audit, due_at))
            continue
        for rule in CASE_TEXT:
            n = CASE_TEXT_HANDLERS[rule.kind].count(session, audit)
            if n:
                found.due.append(Due(rule=rule, count=n, due_from=audit.closed_at, audit=audit))
    for rule in SIGN_IN:
        before = rule.period(settings).before(now)
        model, old = _old_rows(rule, before)
        n = session.scalar(select(func.count()).select_from(model).where(old)) or 0
        if n:
            found.due.append(Due(rule=rule, count=n, due_from=before))
    found.audit_log_before = AUDIT_LOG.period(settings).before(now)
    last = _last_old_seq(session, found.audit_log_before)
    found.audit_log_due = (
        session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.seq <= last)) or 0
    )
    if found.audit_log_due:
        found.due.append(
            Due(rule=AUDIT_LOG, count=found.audit_log_due, due_from=found.audit_log_before)
        )
    return found


def _last_old_seq(session: Session, before: datetime) -> int:
    """The log's rows are removed from the start of the chain up to this seq: every
    row before it is older than ``before`` too, and the newest row always stays (the
    next row chains to it)."""
    first_kept = session.scalar(select(func.min(AuditEvent.seq)).where(AuditEvent.at >= before))
    newest = session.scalar(select(func.max(AuditEvent.seq))) or 0
    return min(first_kept - 1 if first_kept is not None else newest, newest - 1)


def _remove_old_log_rows(session: Session, item: Due) -> int:
    """Delete the chain's oldest rows (``_last_old_seq``), the append-only guard lifted
    for this delete only (on PostgreSQL: as the log's owner, holding the chain's lock
    first, as appenders do, so neither waits on the other's), and sign where the kept
    chain now starts. That line is written, and on disk, before the commit: if it
    cannot be, nothing is removed; if the commit then fails, verify names the rows
    left before the start, and a second run removes them."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(auditlog.CHAIN_LOCK)))
    last = _last_old_seq(session, item.due_from)
    end = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq == last)
    ).first()
    if end is None:
        return 0
    with append_only_lifted(session):
        removed = rows_matched(
            session.execute(
                delete(AuditEvent)
                .where(AuditEvent.seq <= last)
                .execution_options(synchronize_session=False)
            )
        )
    checkpoints.write_start(chain.ChainStart(seq=end.seq, hash=end.hash))
    return removed


# --- removing -------------------------------------------------------------------------


def _remove(session: Session, item: Due) -> int:
    if item.audit is not None:
        return CASE_TEXT_HANDLERS[item.rule.kind].remove(session, item.audit)
    if item.rule is AUDIT_LOG:
        return _remove_old_log_rows(session, item)
    model, old = _old_rows(item.rule, item.due_from)
    return rows_matched(
        session.execute(delete(model).where(old).execution_options(synchronize_session=False))
    )


def apply(
    session: Session, *, plan: Plan, progress: Callable[[int], None] | None = None
) -> list[RetentionRemoval]:
    """Remove what ``plan`` lists (the audit log's oldest rows too: on PostgreSQL, run as
    the log's owner),
    each kind recorded in ``retention_removal`` and the audit log. Never commits; the
    caller's one transaction makes it all or nothing. ``progress`` is told of each kind
    done. Objects already loaded in the session are expired: their text may be gone."""
    removals: list[RetentionRemoval] = []
    for item in plan.due:
        removed = _remove(session, item)
        if removed:
            removals.append(_record(session, item, removed, plan.settings))
        if progress is not None:
            progress(1)
    session.flush()
    session.expire_all()
    return removals


def _record(session: Session, item: Due, removed: int, settings: Settings) -> RetentionRemoval:
    rule = item.rule
    row = RetentionRemoval(
        removed_at=utcnow(),
        kind=rule.kind,
        audit_id=item.audit.id if item.audit else None,
        fields=", ".join(rule.fields)[:500],
        removed_count=removed,
        how=rule.how.value,
        rule=rule.describe(settings)[:200],
        due_from=item.due_from,
        removed_by=current().actor.label[:320],
    )
    session.add(row)
    session.flush()
    # Case text is logged against its audit; sign-in records against their table.
    object_type = (
        "audit"
        if item.audit
        else AuditEvent.__tablename__
        if rule is AUDIT_LOG
        else _old_rows(rule, item.due_from)[0].__tablename__
    )
    event = auditlog.record(
        session,
        action="retention.remove",
        object_type=object_type,
        object_id=item.audit.id if item.audit else None,
        # What kind of field and how many: never the text that was removed.
        after={
            "kind": rule.kind,
            "fields": list(rule.fields),
            "how": rule.how.value,
            "count": removed,
            "rule": row.rule,
            "due_from": item.due_from,
            "removal_id": row.id,
        },
    )
    assert event is not None  # a retention run writes: its row is chained at once
    row.audit_event_id = event.id
    return row
