"""The settled past counted once: the pooled analytics' counts of decisions in audits
that have left moderation, kept in tables of counts rather than grouped afresh from
every decision on every request.

Why it is safe: an audit leaves moderation once (``lifecycle.finish``: moderation to
learning) and never comes back; learning and closed, back and forth, are both settled;
a decision is made, superseded or left out only while its audit is in moderation
(``service.decide``, ``late``); a return's agency, an audit's template version and the
day its moderation started do not change; retention replaces rationales, never grades.
So the decisions of a settled audit are final, and counting them once is enough.

What is kept (app/moderation/models.py): which audits are counted, under the month
(UTC) their moderation started (``TalliedAudit``); running totals of their decisions by
month, template version, agency, cell and the two grades (``ModerationTally``), so any
span of whole months costs two months' rows; and how many of them have decisions, by
month, template version, agency and cell (``AuditTally``).

How it stays right: finishing moderation counts the audit in the same transaction
(``count_settled``, called by the lifecycle), recounting its month and every month
after (the running totals include it). Data that arrives around the lifecycle (a bulk
load, a test setting a status) is counted live until ``rebuild`` counts everything
afresh; the migration that made the tables counted the data there was. Both take one
lock on PostgreSQL, so two audits settling at once recount one after the other and
neither loses the other's counts (SQLite's writers run one at a time anyway).

How it is read (app/moderation/analytics.py): the tally answers for the whole months of
a partnership-wide actor's view, and the decisions of every other audit the view
covers (in moderation, not counted yet, or in a month only partly inside the dates
asked for) are grouped live, as before. An agency-bound actor sees only audits their
agency took part in, which no count by month can say, and one audit's figures are
few: both are counted live.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    Subquery,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import QueryableAttribute, Session

from app.audit_templates.models import GradingScale
from app.audits.models import Audit, AuditStatus
from app.moderation.models import AuditTally, ModeratedGrade, ModerationTally, TalliedAudit
from app.returns.models import Return

# Audits whose decisions are final: moderation is over and cannot reopen.
SETTLED = (AuditStatus.LEARNING, AuditStatus.CLOSED)
# pg_advisory_xact_lock key for changing the tally (any constant of our own).
TALLY_LOCK = 0x74616C6C79  # "tally"
# What the running totals are kept by, besides the month.
KEY = ("template_version_id", "agency_id", "cell", "self_level_id", "level_id")


def month_of(at: datetime) -> date:
    """The first day of the UTC month of ``at`` (a UTC datetime, as the database holds)."""
    return date(at.year, at.month, 1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class Span:
    """The whole months inside a range of days: from ``start`` (the first of a month, or
    None: from the beginning) to before ``end`` (likewise, or None: to the end). Only
    these months are read from the tally; the days of a month cut by the range are
    counted live."""

    start: date | None
    end: date | None

    @classmethod
    def of(cls, first: date | None, last: date | None) -> Span:
        """The whole months from day ``first`` to day ``last``, both included."""
        start = None if first is None else first if first.day == 1 else _next_month(first)
        end = None if last is None else (last + timedelta(days=1)).replace(day=1)
        return cls(start, end)

    @property
    def empty(self) -> bool:
        return self.start is not None and self.end is not None and self.start >= self.end

    def holds(self, month: QueryableAttribute[date]) -> list[ColumnElement[bool]]:
        found = []
        if self.start is not None:
            found.append(month >= self.start)
        if self.end is not None:
            found.append(month < self.end)
        return found


# --- reading ---------------------------------------------------------------------------


def live(session: Session, span: Span) -> list[list[ColumnElement[bool]]]:
    """The audits of the view (``Audit`` in the query) the tally does not count for
    ``span``, as the conditions of one part of the live query each: those not tallied
    among the whole months, then those in the months the dates cut. Parts rather than
    one condition with an OR, so that the planner can count the audits each finds: it
    then reads their decisions by audit rather than every decision there is. An audit
    is tallied under the month its moderation started, so the tallied audits of the
    whole months are exactly those the tally counts for them."""
    started = Audit.moderation_started_at
    if span.empty:
        return [[]]
    # Tallied audits are settled ones, and stay settled: when there are as many as
    # settled audits, every one is tallied and only those in moderation are not (an
    # index look-up), rather than every audit looked for in the tally. An audit that
    # settles after this count is read either in moderation or tallied: once, as the
    # live part and the tally are read in one statement.
    settled = select(func.count()).select_from(Audit).where(Audit.status.in_(SETTLED))
    tallied = select(func.count()).select_from(TalliedAudit)
    every = session.scalar(select(settled.scalar_subquery() == tallied.scalar_subquery()))
    whole: list[ColumnElement[bool]] = [
        Audit.status == AuditStatus.MODERATION
        if every
        else ~exists().where(TalliedAudit.audit_id == Audit.id)
    ]
    cut: list[ColumnElement[bool]] = []
    if span.start is not None:
        whole.append(started >= _midnight(span.start))
        cut.append(started < _midnight(span.start))
    if span.end is not None:
        whole.append(started < _midnight(span.end))
        cut.append(started >= _midnight(span.end))
    return [whole, [or_(*cut)]] if cut else [whole]


def decisions(span: Span, where: Sequence[ColumnElement[bool]]) -> Select | None:
    """The tallied decisions of ``span`` that ``where`` picks (conditions on
    ``ModerationTally``), as the live query groups them: agency, key area (None: the
    overall grade), own and moderated level, and how many (None: the span has no whole
    month). The running totals of its last month less those of the month before it,
    both months found inside the query, so that the tally and the live part beside it
    in one statement (``analytics._with_tally``) are read at one moment."""
    if span.empty:
        return None
    t = ModerationTally

    def last_before(day: date | None) -> ScalarSelect[date]:
        before = [t.month < day] if day is not None else []
        # Not correlated: the latest month of the whole tally, not of the outer row.
        return select(func.max(t.month)).where(*before).correlate(None).scalar_subquery()

    months = [last_before(span.end)]
    if span.start is not None:
        months.append(last_before(span.start))
    # The month before's totals subtracted: a span with no tallied month comes to nought.
    signed: ColumnElement[int] = func.sum(case((t.month == months[0], t.decisions), else_=0))
    if span.start is not None:
        signed = signed - func.sum(case((t.month == months[1], t.decisions), else_=0))
    return (
        select(
            t.agency_id,
            func.nullif(t.cell, 0).label("key_area_id"),
            t.self_level_id,
            t.level_id,
            signed.label("n"),
        )
        .where(t.month.in_(months), *where)
        .group_by(t.agency_id, t.cell, t.self_level_id, t.level_id)
        .having(signed != 0)
    )


def audits(span: Span, where: Sequence[ColumnElement[bool]]) -> Select | None:
    """How many tallied audits of ``span`` have the decisions ``where`` picks (conditions
    on ``AuditTally``), by grading scale id, as the live query counts them (None: the
    span has no whole month)."""
    if span.empty:
        return None
    a = AuditTally
    return (
        select(GradingScale.id, func.sum(a.audits).label("n"))
        .select_from(a)
        .join(GradingScale, GradingScale.template_version_id == a.template_version_id)
        .where(*span.holds(a.month), *where)
        .group_by(GradingScale.id)
    )


# --- keeping it right ------------------------------------------------------------------


def _lock(session: Session) -> None:
    """Hold the tally's lock to the end of the transaction: recounts queue here, and
    each reads what the one before committed (the statements after the lock do)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(TALLY_LOCK)))


def count_settled(session: Session, *, audit: Audit) -> None:
    """Count an audit that has just left moderation: it joins the tally under the month
    its moderation started, and that month and every later one are recounted (their
    running totals include it). Flush only, like every service: it is committed, or
    rolled back, with the change of status that settled the audit."""
    if audit.moderation_started_at is None:  # never in moderation: nothing to count
        return
    _lock(session)
    month = month_of(audit.moderation_started_at)
    session.execute(insert(TalliedAudit).values(audit_id=audit.id, month=month))
    _recount(session, since=month)


def rebuild(session: Session) -> None:
    """Count every settled audit afresh, for data that did not come through the
    lifecycle (a bulk load, a restore from elsewhere). Reads every decision once, as
    the database holds it: flush changes made through the session first."""
    _lock(session)
    session.execute(delete(TalliedAudit))
    settled = session.execute(
        select(Audit.id, Audit.moderation_started_at).where(
            Audit.status.in_(SETTLED), Audit.moderation_started_at.is_not(None)
        )
    ).all()
    if settled:
        session.execute(
            insert(TalliedAudit),
            [
                {"audit_id": audit_id, "month": month_of(at)}
                for audit_id, at in settled
                if at is not None  # as the query asks: for the type checker
            ],
        )
    _recount(session, since=None)


def _recount(session: Session, *, since: date | None) -> None:
    """Count the tallied audits of ``since`` and every later month (None: of every
    month) afresh, from the running totals of the month before."""
    t, a, m = ModerationTally, AuditTally, TalliedAudit
    later = [m.month >= since] if since is not None else []
    session.execute(delete(t).where(*([t.month >= since] if since is not None else [])))
    session.execute(delete(a).where(*([a.month >= since] if since is not None else [])))
    decided = (
        select(
            m.month,
            Audit.template_version_id,
            Return.agency_id,
            ModeratedGrade.cell,
            ModeratedGrade.self_level_id,
            ModeratedGrade.level_id,
            ModeratedGrade.audit_id,
        )
        .select_from(m)
        .join(Audit, Audit.id == m.audit_id)
        .join(ModeratedGrade, ModeratedGrade.audit_id == m.audit_id)
        .join(Return, Return.id == ModeratedGrade.return_id)
        .where(
            *later,
            ModeratedGrade.superseded_at.is_(None),
            ModeratedGrade.self_level_id.is_not(None),
        )
    )
    _recount_decisions(session, decided.subquery("decided"))
    _recount_audits(session, decided.subquery("decided"))


def _recount_decisions(session: Session, decided: Subquery) -> None:
    """Running totals at each month recounted: the totals of the latest month left (all
    before the recount's first month) plus each month's decisions, summed in order.
    Every key gets a row at every month recounted, unless its total is still nought."""
    t = ModerationTally
    base = session.scalar(select(func.max(t.month)))  # after the delete: before ``since``
    month_added = select(decided.c.month, *(decided.c[k] for k in KEY), func.count().label("n"))
    month_added = month_added.group_by(decided.c.month, *(decided.c[k] for k in KEY))
    parts = [month_added]
    if base is not None:
        parts.append(
            select(t.month, *(t.__table__.c[k] for k in KEY), t.decisions).where(t.month == base)
        )
    changes = union_all(*parts).cte("changes")
    months = select(changes.c.month).distinct().cte("months")
    keys = select(*(changes.c[k] for k in KEY)).distinct().cte("keys")
    running = (
        select(
            months.c.month,
            *(keys.c[k] for k in KEY),
            func.sum(func.coalesce(changes.c.n, 0))
            .over(partition_by=[keys.c[k] for k in KEY], order_by=months.c.month)
            .label("decisions"),
        )
        .select_from(
            months.join(keys, true()).outerjoin(
                changes,
                and_(changes.c.month == months.c.month, *(changes.c[k] == keys.c[k] for k in KEY)),
            )
        )
        .subquery("running")
    )
    kept = [running.c.decisions > 0]
    if base is not None:
        kept.append(running.c.month > base)
    session.execute(
        insert(t).from_select(
            ["month", *KEY, "decisions"],
            select(running.c.month, *(running.c[k] for k in KEY), running.c.decisions).where(*kept),
        )
    )


def _recount_audits(session: Session, decided: Subquery) -> None:
    """Each month's audits with decisions: by agency and cell, by cell, by agency (key
    areas only) and in all (key areas only), as the analytics' four kinds of filter ask."""
    d = (
        select(
            decided.c.month,
            decided.c.template_version_id,
            decided.c.agency_id,
            decided.c.cell,
            decided.c.audit_id,
        )
        .distinct()
        .cte("audit_cells")
    )
    key_areas = d.c.cell != 0
    audits_ = func.count(d.c.audit_id.distinct())
    parts = [
        select(d.c.month, d.c.template_version_id, d.c.agency_id, d.c.cell, func.count()).group_by(
            d.c.month, d.c.template_version_id, d.c.agency_id, d.c.cell
        ),
        select(d.c.month, d.c.template_version_id, null(), d.c.cell, audits_).group_by(
            d.c.month, d.c.template_version_id, d.c.cell
        ),
        select(d.c.month, d.c.template_version_id, d.c.agency_id, null(), audits_)
        .where(key_areas)
        .group_by(d.c.month, d.c.template_version_id, d.c.agency_id),
        select(d.c.month, d.c.template_version_id, null(), null(), audits_)
        .where(key_areas)
        .group_by(d.c.month, d.c.template_version_id),
    ]
    session.execute(
        insert(AuditTally).from_select(
            ["month", "template_version_id", "agency_id", "cell", "audits"], union_all(*parts)
        )
    )
