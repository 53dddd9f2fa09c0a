"""Learning over time: findings by theme, and whether learning actions are done.

Findings count in the bucket of the day (UTC, as the analytics) their audit's
moderation started; a finding tagged with two themes counts under both, and once in
"All findings". With the agency filter: findings about that agency, or about no agency
in particular, of audits it took part in. With the key area filter: findings about
that key area ("overall": about none); actions answering such a finding.

Actions count in the bucket of their due date (not accepted ones not at all): completed
on time when they reached "completed" (the status history's first step to it, in
England) on or before their due date, late after it; overdue when still open after
their due date as at today (the tracker's red); impact evidenced once they reached
"impact evidenced" (or were closed after it).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.access.policy import MODERATED_STATUSES, Actor, audit_scope
from app.actions.lifecycle import DONE, OPEN
from app.actions.models import ActionStatus, ActionStatusChange, LearningAction, action_finding
from app.audits.models import Audit
from app.clock import LONDON
from app.findings.models import Finding, Theme, finding_theme
from app.formatting import format_date
from app.trends.figures import Chart, Column, Count, Figure, Filters, Value, Viewer, counted
from app.trends.figures import figure as make_figure
from app.trends.periods import Bucket, bucket_of
from app.trends.scope import audit_filters, key_area_is, took_part, utc_span

NO_THEME = "No theme"
ALL_FINDINGS = "All findings"
CHARTED_THEMES = 3


def _findings(session: Session, actor: Actor, filters: Filters):
    assert filters.date_from is not None and filters.date_to is not None
    stmt = (
        select(Finding.id, Finding.agency_id, Audit.moderation_started_at, Theme.name)
        .join(Audit, Audit.id == Finding.audit_id)
        .outerjoin(finding_theme, finding_theme.c.finding_id == Finding.id)
        .outerjoin(Theme, Theme.id == finding_theme.c.theme_id)
        .where(
            Audit.status.in_(MODERATED_STATUSES),
            audit_scope(actor),
            *utc_span(Audit.moderation_started_at, filters.date_from, filters.date_to),
            *audit_filters(filters),
        )
    )
    if filters.agency_id:
        stmt = stmt.where(
            took_part(filters.agency_id),
            or_(Finding.agency_id == filters.agency_id, Finding.agency_id.is_(None)),
        )
    if filters.key_area:
        stmt = stmt.where(key_area_is(filters.key_area, Finding.key_area_id))
    return session.execute(stmt).all()


def findings_figure(
    session: Session, viewer: Viewer, *, actor: Actor, filters: Filters, buckets: list[Bucket]
) -> Figure:
    """Findings by theme (rows) and period (columns), with all findings last."""
    by_theme: dict[tuple[str, str], Count] = defaultdict(Count)
    whole: dict[str, dict[int, int | None]] = defaultdict(dict)  # each finding once
    for finding_id, agency_id, started, theme in _findings(session, actor, filters):
        bucket = bucket_of(started.date(), buckets)
        if bucket is None:
            continue
        by_theme[(theme or NO_THEME, bucket.label)] += counted(agency_id)
        whole[bucket.label][finding_id] = agency_id
    themes = sorted({t for t, _b in by_theme} - {NO_THEME}) + (
        [NO_THEME] if any(t == NO_THEME for t, _b in by_theme) else []
    )
    shown = [b for b in buckets if whole.get(b.label)]
    columns: dict[str, dict[str, Value]] = {}
    for bucket in shown:
        total = sum((counted(a) for a in whole[bucket.label].values()), Count())
        line = viewer.line({t: by_theme[(t, bucket.label)] for t in themes}, total)
        columns[bucket.label] = {**line.parts, ALL_FINDINGS: line.total}
    rows = [(theme, *(columns[b.label][theme] for b in shown)) for theme in [*themes, ALL_FINDINGS]]
    heads = [Column("Theme", "text", 36), *(Column(b.label) for b in shown)]
    return make_figure(
        "findings",
        "Findings by theme",
        _findings_sentence(themes, shown, columns),
        heads,
        rows if shown else (),
        chart=_findings_chart(themes, shown, columns),
        notes=("A finding tagged with more than one theme is counted under each.",)
        if shown
        else (),
    )


def _findings_sentence(themes, shown: list[Bucket], columns) -> str:
    for bucket in reversed(shown):
        counts = {t: v for t, v in columns[bucket.label].items() if t in themes and t != NO_THEME}
        if any(isinstance(v, str) for v in counts.values()):
            continue
        top = max((v for v in counts.values() if isinstance(v, int)), default=0)
        if not top:
            continue
        most = [t for t, v in counts.items() if v == top]
        names = " and ".join(f"\u2018{t}\u2019" for t in most)
        each = " each" if len(most) > 1 else ""
        verb = "themes found most often were" if len(most) > 1 else "theme found most often was"
        return (
            f"In {bucket.label} the {verb} {names} ({top} finding{'s' if top != 1 else ''}{each})."
        )
    if shown:
        return "Findings were recorded in this period; some counts are too small to show."
    return "No findings were recorded for audits moderated in this period."


def _findings_chart(themes, shown: list[Bucket], columns) -> Chart | None:
    whole = {
        t: [columns[b.label][t] for b in shown]
        for t in themes
        if t != NO_THEME and all(isinstance(columns[b.label][t], int) for b in shown)
    }
    top = sorted(whole, key=lambda t: (-sum(whole[t]), t))[:CHARTED_THEMES]
    if not top:
        return None
    return Chart(
        "grouped_bars",
        f"Findings of the {len(top)} theme{'s' if len(top) != 1 else ''} found most often",
        categories=tuple(b.label for b in shown),
        series=tuple({"name": t, "values": whole[t]} for t in top),
    )


# --- learning actions ------------------------------------------------------------------

ACTION_PARTS = ("Completed on time", "Completed late", "Overdue", "Not yet due")
ACTION_COLUMNS = (
    Column("Period (by due date)", "text", 14),
    Column("Due"),
    *(Column(part) for part in ACTION_PARTS),
    Column("Impact evidenced"),
    Column("On time: share of due", "share"),
)


def _actions(session: Session, actor: Actor, filters: Filters):
    assert filters.date_from is not None and filters.date_to is not None
    done = (
        select(ActionStatusChange.action_id, func.min(ActionStatusChange.changed_at).label("at"))
        .where(ActionStatusChange.to_status == ActionStatus.COMPLETED)
        .group_by(ActionStatusChange.action_id)
        .subquery()
    )
    stmt = (
        select(
            LearningAction.owning_agency_id,
            LearningAction.due_on,
            LearningAction.status,
            done.c.at,
            LearningAction.updated_at,
        )
        .join(Audit, Audit.id == LearningAction.audit_id)
        .outerjoin(done, done.c.action_id == LearningAction.id)
        .where(
            audit_scope(actor),
            LearningAction.status != ActionStatus.NOT_ACCEPTED,
            # Those due after the period too: the work still in hand at its end.
            LearningAction.due_on >= filters.date_from,
            *audit_filters(filters),
        )
    )
    if filters.agency_id:
        stmt = stmt.where(LearningAction.owning_agency_id == filters.agency_id)
    if filters.key_area:
        answered = (
            select(action_finding.c.action_id)
            .join(Finding, Finding.id == action_finding.c.finding_id)
            .where(
                action_finding.c.action_id == LearningAction.id,
                key_area_is(filters.key_area, Finding.key_area_id),
            )
        )
        stmt = stmt.where(answered.exists())
    return session.execute(stmt).all()


def _part(status: ActionStatus, due_on: date, done_at: datetime | None, today: date) -> str:
    if status in DONE:
        day = done_at.astimezone(LONDON).date() if done_at else None
        return "Completed on time" if day is not None and day <= due_on else "Completed late"
    assert status in OPEN
    return "Overdue" if due_on < today else "Not yet due"


def actions_figure(
    session: Session,
    viewer: Viewer,
    *,
    actor: Actor,
    filters: Filters,
    buckets: list[Bucket],
    today: date,
) -> Figure:
    """Each period's actions by due date: completed on time or late, overdue, not yet
    due, and with impact evidenced; then those due after the period, the work still in
    hand at its end (a row of their own, not a period's)."""
    assert filters.date_to is not None
    after = f"Due after {format_date(filters.date_to)}"
    parts: dict[tuple[str, str], Count] = defaultdict(Count)
    impact: dict[str, Count] = defaultdict(Count)
    for agency_id, due_on, status, completed_at, updated_at in _actions(session, actor, filters):
        bucket = bucket_of(due_on, buckets)
        label = bucket.label if bucket is not None else after if due_on > filters.date_to else None
        if label is None:
            continue
        # Done with no step to "completed" in its history (loaded so): its last change.
        done_at = completed_at or (updated_at if status in DONE else None)
        parts[(label, _part(status, due_on, done_at, today))] += counted(agency_id)
        if status in (ActionStatus.IMPACT_EVIDENCED, ActionStatus.CLOSED):
            impact[label] += counted(agency_id)
    rows: list[tuple[Value, ...]] = []
    charted: list[tuple[str, list[int]]] = []
    sentence = "No learning actions were due in this period."
    for label in [b.label for b in buckets] + [after]:
        line = viewer.line({p: parts[(label, p)] for p in ACTION_PARTS})
        if line.total == 0:
            continue
        values = [line.parts[p] for p in ACTION_PARTS]
        on_time = viewer.share(line.parts[ACTION_PARTS[0]], line.total)
        rows.append((label, line.total, *values, viewer.one(impact[label]), on_time))
        if label == after:
            sentence += f" {_after_sentence(after, line.total)}"
            continue
        sentence = _actions_sentence(label, line.total, values)
        if not line.hidden:
            charted.append((label, [v for v in values[:3] if isinstance(v, int)]))
    chart = Chart(
        "grouped_bars",
        "Learning actions by when they were due",
        categories=tuple(label for label, _v in charted),
        series=tuple(
            {"name": name, "values": [values[i] for _l, values in charted]}
            for i, name in enumerate(ACTION_PARTS[:3])
        ),
    )
    return make_figure(
        "actions",
        "Learning actions: done on time, late and overdue",
        sentence,
        ACTION_COLUMNS,
        rows,
        chart=chart if charted else None,
        notes=(f"Overdue as at {today:%-d %B %Y}.",) if rows else (),
    )


def _after_sentence(after: str, due: Value) -> str:
    if not isinstance(due, int):
        return "Some more are due after the period."
    return f"{due} more {'is' if due == 1 else 'are'} due after the period."


def _actions_sentence(label: str, due: Value, values: list[Value]) -> str:
    if not isinstance(due, int) or any(not isinstance(v, int) for v in values[:3]):
        return f"Learning actions were due in {label}; some counts are too small to show."
    on_time, late, overdue = values[:3]
    return (
        f"Of {due} learning action{'s' if due != 1 else ''} due in {label}, {on_time} "
        f"{'was' if on_time == 1 else 'were'} completed on time, {late} late and "
        f"{overdue} {'is' if overdue == 1 else 'are'} overdue."
    )
